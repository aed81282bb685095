/**
 * The HTML of the browser-facing OAuth steps: the consent page and error pages.
 * Plain HTML forms, no JavaScript; every interpolated value is escaped. The
 * handler serves them with a strict Content-Security-Policy.
 */

import { escapeHtml } from '../html.js';

const layout = (title: string, body: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f7f6f3;color:#37352f;margin:0}
main{max-width:30rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin-top:0}ul{padding-left:1.2rem}li{margin:.3rem 0}
.actions{display:flex;gap:.8rem;margin-top:1.5rem}
button{font:inherit;padding:.55rem 1.1rem;border-radius:6px;border:1px solid #d3d1cb;background:#fff;cursor:pointer}
button[value=allow]{background:#2383e2;border-color:#2383e2;color:#fff}
.muted{color:#787774;font-size:.9rem}
</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;

export interface ConsentView {
  readonly productName: string;
  readonly displayName: string;
  readonly scope: string;
  readonly pendingId: string;
  readonly csrfToken: string;
}

export const consentPage = (view: ConsentView): string => {
  const product = escapeHtml(view.productName);
  return layout(
    `Connect Notion to ${view.productName}`,
    `<h1>Allow Notion to show previews of ${product} links?</h1>
<p>You are signed in to ${product} as <strong>${escapeHtml(view.displayName)}</strong>.</p>
<p>If you allow it, Notion will be able to:</p>
<ul>
<li>show previews (title, status and other details) of ${product} links pasted in your Notion workspace, with what <em>you</em> are allowed to see;</li>
<li>keep those previews up to date while they are on a page.</li>
</ul>
<p class="muted">Notion will not be able to change anything in ${product}. You can disconnect at any time from Notion's "My connections". Requested scope: <code>${escapeHtml(view.scope)}</code>.</p>
<form method="post" action="/oauth/consent">
<input type="hidden" name="pending" value="${escapeHtml(view.pendingId)}">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrfToken)}">
<div class="actions">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
  );
};

export const errorPage = (title: string, message: string): string =>
  layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p class="muted">Close this window and start again from Notion (paste the link again, or use "Connect" under Settings → My connections).</p>`,
  );

/**
 * The demo task tracker served under /demo: HTML task pages with an edit form,
 * a JSON API with per-user access rules, and a few media files to embed.
 *
 *   GET  /demo/                      task list (as the selected demo user)
 *   GET  /demo/as/<login>            switch the demo user (cookie)
 *   GET  /demo/tasks/<id>            task page with an edit form
 *   POST /demo/tasks/<id>            apply an edit (form) → 303 back to the page
 *   GET  /demo/tasks/<id>/card       embeddable HTML card (public tasks only)
 *   GET  /demo/assets/...            SVG image, PDF and WAV files used as embeds
 *
 * The task API names the card and the picture drawn from a task with a content
 * version (`/demo/assets/tasks/1.svg?v=<hash>`, see `taskMediaVersion`): an edit
 * that changes what they show changes their URL, so a pushed update makes
 * Notion load the new picture instead of showing the one it already has. The
 * files themselves are always served as they are now, whatever `v` says.
 *
 *   GET  /demo/api/tasks/<id>        JSON; requires a service assertion (Bearer JWT, sub = user),
 *                                    verified with the service's GET /.well-known/jwks.json
 *   GET  /demo/api/changes           the recent change log (ids, fields, times)
 *   GET  /demo/api/stats             counters (API requests served) and the outage mode
 *   POST /demo/outage                set the outage mode (form: mode=up|down|slow), to watch
 *                                    previews fall back to their last snapshot
 *
 * After every edit the product calls its task-change listeners (see
 * `DemoProduct.onTaskChange`), the extension point through which edits become
 * change events for the update pipeline.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { demoApiAudience } from '#adapters/sources/demo-product.js';
import { escapeHtml } from '#core/html.js';
import { DEMO_USERS, findDemoUserByLogin, findDemoUserBySubject } from '#local/demo-users.js';
import { BodyTooLargeError, readBody } from '#local/http-body.js';
import { parseCookies, serializeCookie } from '#shared/cookies.js';
import { type Priority, STATUSES, type Task, type TaskEdit, type TaskStatus, TaskStore, taskJson } from './tasks.js';

/** One edit of a task, as published to task-change listeners. */
export interface TaskChange {
  /** The resource key the unfurl rules give this task (`task:<id>`). */
  readonly resource: string;
  readonly taskId: string;
  /** The task page's URL, which is what users paste into Notion. */
  readonly url: string;
  readonly changedAt: string;
  readonly fields: readonly string[];
  /** Subject of the demo user who made the edit. */
  readonly editor: string;
}

/** up: normal; down: the task API answers 503; slow: it answers after SLOW_ANSWER_MS (past any sensible deadline). */
export type OutageMode = 'up' | 'down' | 'slow';
export const SLOW_ANSWER_MS = 5000;

/** Called after an edit has been applied; errors are logged by the caller and never undo the edit. */
export type TaskChangeListener = (change: TaskChange) => void | Promise<void>;

export interface DemoProductOptions {
  /** Public base URL of the product, e.g. http://127.0.0.1:3000/demo */
  readonly baseUrl: string;
  /**
   * The service whose assertions it accepts: their issuer (the service's PUBLIC_BASE_URL), whose public
   * keys are at `${serviceIssuer}/.well-known/jwks.json` (docs/adr/0128).
   */
  readonly serviceIssuer: string;
  /** The keys to verify with, instead of fetching that JWKS (tests, the benchmark's product process). */
  readonly serviceKeys?: JWTVerifyGetKey;
  readonly now?: () => number;
}

/**
 * The edit form's largest body: a 4,000-unit description (the textarea's maxlength) of characters that
 * percent-encode to 9 bytes per UTF-16 unit is 36 KB, plus the other fields.
 */
const MAX_FORM_BYTES = 48 * 1024;
const CHANGE_LOG_SIZE = 100;
const USER_COOKIE = 'demo_user';

const send = (
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
};

const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);

const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; object-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'";

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Demo Tasks</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;color:#202124}
a{color:#1a73e8}.pill{display:inline-block;padding:0 .5rem;border-radius:1rem;color:#fff;font-size:13px}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}input,select,textarea{font:inherit;width:100%;box-sizing:border-box;padding:.3rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #eee}
.who{float:right;font-size:13px}
</style></head><body>${body}</body></html>`;

/** The body as text, or undefined when it is larger than `max` bytes. */
const readText = (req: IncomingMessage, max: number): Promise<string | undefined> =>
  readBody(req, max).then(
    (body) => body.toString('utf8'),
    (error: unknown) => {
      if (error instanceof BodyTooLargeError) return undefined;
      throw error;
    },
  );

/** A minimal valid one-page PDF with a line of text. */
const pdfFile = (text: string): Buffer => {
  const stream = `BT /F1 18 Tf 72 720 Td (${text.replace(/[()\\]/g, '')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
};

/** A short 16-bit mono WAV chime (two sine tones). */
const wavFile = (): Buffer => {
  const rate = 8000;
  const samples = rate / 2;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const f = i < samples / 2 ? 880 : 660;
    const fade = 1 - i / samples;
    data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * f * i) / rate) * 12000 * fade), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
};

const taskSvg = (task: Task): string => {
  const status = STATUSES[task.status];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="200" viewBox="0 0 640 200">
<rect width="640" height="200" rx="16" fill="#f8f9fa"/><rect x="0" y="0" width="12" height="200" fill="${status.color}"/>
<text x="36" y="80" font-family="sans-serif" font-size="28" fill="#202124">${escapeHtml(task.title.slice(0, 40))}</text>
<text x="36" y="130" font-family="sans-serif" font-size="20" fill="${status.color}">${escapeHtml(status.name)}</text></svg>`;
};

export class DemoProduct {
  readonly store: TaskStore;
  private readonly listeners = new Set<TaskChangeListener>();
  private readonly changeLog: TaskChange[] = [];
  private apiRequests = 0;
  private outage: OutageMode = 'up';
  private readonly keys: JWTVerifyGetKey;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly now: () => number;
  private readonly base: string;
  private readonly basePath: string;

  constructor(options: DemoProductOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.basePath = new URL(this.base).pathname.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    this.store = new TaskStore(this.now);
    this.issuer = options.serviceIssuer.replace(/\/+$/, '');
    // jose fetches the service's JWKS on first use, caches it, and fetches again for an unknown kid (rotation).
    this.keys = options.serviceKeys ?? createRemoteJWKSet(new URL(`${this.issuer}/.well-known/jwks.json`));
    this.audience = demoApiAudience(this.base);
  }

  /** Number of JSON API requests served for tasks (the proof that a uri was or was not fetched). */
  get apiRequestCount(): number {
    return this.apiRequests;
  }

  get outageMode(): OutageMode {
    return this.outage;
  }

  /** Simulates an outage of the task API (see OutageMode). */
  setOutage(mode: OutageMode): void {
    this.outage = mode;
  }

  /**
   * Registers a listener called after every applied edit; returns a function
   * that removes it. This is how edits reach the update pipeline.
   */
  onTaskChange(listener: TaskChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies an edit as `subject` and notifies listeners (the same path the edit form takes). */
  async editTask(id: string, subject: string, edit: TaskEdit): Promise<{ outcome: string; changed: string[] }> {
    const { result, changed } = this.store.edit(id, subject, edit);
    if (result.outcome === 'found' && changed.length > 0) {
      const change: TaskChange = {
        resource: `task:${id}`,
        taskId: id,
        url: `${this.base}/tasks/${id}`,
        changedAt: new Date(result.task.updatedAt).toISOString(),
        fields: changed,
        editor: subject,
      };
      this.changeLog.push(change);
      if (this.changeLog.length > CHANGE_LOG_SIZE) this.changeLog.shift();
      for (const listener of this.listeners) {
        try {
          await listener(change);
        } catch (error) {
          process.stderr.write(`demo product: a task-change listener failed: ${(error as Error).message}\n`);
        }
      }
    }
    return { outcome: result.outcome, changed };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.slice(this.basePath.length) || '/';
    const method = req.method ?? 'GET';

    if (path.startsWith('/api/')) return this.api(req, res, path, method);
    if (path === '/outage' && method === 'POST') {
      if (this.crossOrigin(req))
        return send(res, 403, 'text/plain; charset=utf-8', 'Cross-origin posts are not allowed');
      const raw = await readText(req, 1024);
      const mode = new URLSearchParams(raw ?? '').get('mode');
      if (mode !== 'up' && mode !== 'down' && mode !== 'slow')
        return send(res, 400, 'text/plain; charset=utf-8', 'mode must be up, down or slow');
      this.setOutage(mode);
      return send(res, 303, 'text/plain; charset=utf-8', '', { location: `${this.basePath}/` });
    }

    if (method === 'GET' && (path === '/' || path === '')) return this.index(req, res);
    const asUser = /^\/as\/([a-z]{1,20})$/.exec(path);
    if (method === 'GET' && asUser) {
      const user = findDemoUserByLogin(asUser[1] ?? '');
      if (!user) return send(res, 404, 'text/plain; charset=utf-8', 'No such demo user');
      return send(res, 303, 'text/plain; charset=utf-8', '', {
        location: `${this.basePath}/`,
        'set-cookie': serializeCookie(USER_COOKIE, user.subject, {
          path: this.basePath || '/',
          httpOnly: true,
          sameSite: 'Lax',
        }),
      });
    }
    const taskPath = /^\/tasks\/(\d{1,12})$/.exec(path);
    if (taskPath) {
      const id = taskPath[1] ?? '';
      if (method === 'GET') return this.taskPage(req, res, id);
      if (method === 'POST') return this.taskEdit(req, res, id);
      return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed', { allow: 'GET, POST' });
    }
    const cardPath = /^\/tasks\/(\d{1,12})\/card$/.exec(path);
    if (method === 'GET' && cardPath) return this.card(res, cardPath[1] ?? '');
    const svgPath = /^\/assets\/tasks\/(\d{1,12})\.svg$/.exec(path);
    if (method === 'GET' && svgPath) {
      const task = this.publicTask(svgPath[1] ?? '');
      if (!task) return send(res, 404, 'text/plain; charset=utf-8', 'Not found');
      return send(res, 200, 'image/svg+xml', taskSvg(task), {
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      });
    }
    if (method === 'GET' && path === '/assets/plan.pdf')
      return send(res, 200, 'application/pdf', pdfFile('Quarterly plan (demo)'));
    if (method === 'GET' && path === '/assets/chime.wav') return send(res, 200, 'audio/wav', wavFile());
    return send(res, 404, 'text/plain; charset=utf-8', 'Not found');
  }

  /**
   * A browser's post from another origin (CSRF): an Origin header that is not ours. `null` is another
   * origin too: a sandboxed frame or a `data:` page of any site sends it. A client that sends no Origin
   * (curl, tests) is no browser of another site.
   */
  private crossOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    return origin !== undefined && origin !== new URL(this.base).origin;
  }

  private viewer(req: IncomingMessage): string {
    const subject = parseCookies(req.headers.cookie)[USER_COOKIE];
    return subject && findDemoUserBySubject(subject) ? subject : (DEMO_USERS[0]?.subject ?? 'u-alice');
  }

  private publicTask(id: string): Task | undefined {
    const task = this.store.list().find((t) => t.id === id);
    return task && task.visibleTo === 'everyone' && !task.archived ? task : undefined;
  }

  private async api(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<void> {
    if (method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
    if (path === '/api/stats') return sendJson(res, 200, { apiRequests: this.apiRequests, outage: this.outage });
    if (path === '/api/changes') return sendJson(res, 200, { changes: this.changeLog });
    const m = /^\/api\/tasks\/([^/]{1,64})$/.exec(path);
    if (!m) return sendJson(res, 404, { error: 'not_found' });
    this.apiRequests += 1;
    if (this.outage === 'down') return sendJson(res, 503, { error: 'unavailable' }, { 'retry-after': '30' });
    if (this.outage === 'slow') await new Promise((r) => setTimeout(r, SLOW_ANSWER_MS).unref());
    const subject = await this.callerSubject(req);
    if (subject === undefined) {
      return sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    const result = this.store.read(m[1] ?? '', subject);
    switch (result.outcome) {
      case 'found':
        return sendJson(res, 200, taskJson(result.task, this.base));
      case 'forbidden':
        return sendJson(res, 403, { error: 'forbidden' });
      case 'gone':
        return sendJson(res, 410, { error: 'gone' });
      default:
        return sendJson(res, 404, { error: 'not_found' });
    }
  }

  /** The user a service assertion speaks for, or undefined when the assertion is missing or invalid. */
  private async callerSubject(req: IncomingMessage): Promise<string | undefined> {
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        algorithms: ['ES256', 'EdDSA'],
        issuer: this.issuer,
        audience: this.audience,
        maxTokenAge: '5m',
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      return payload.sub && findDemoUserBySubject(payload.sub) ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  }

  private userSwitcher(subject: string): string {
    return `<div class="who">Viewing as ${DEMO_USERS.map((u) =>
      u.subject === subject
        ? `<b>${escapeHtml(u.login)}</b>`
        : `<a href="${this.basePath}/as/${u.login}">${escapeHtml(u.login)}</a>`,
    ).join(' · ')}</div>`;
  }

  private index(req: IncomingMessage, res: ServerResponse) {
    const subject = this.viewer(req);
    const rows = this.store
      .list()
      .map((t) => {
        const r = this.store.read(t.id, subject);
        const label =
          r.outcome === 'found' ? escapeHtml(t.title) : r.outcome === 'gone' ? '<i>archived</i>' : '<i>private</i>';
        const status = r.outcome === 'found' ? escapeHtml(STATUSES[t.status].name) : '';
        return `<tr><td><a href="${this.basePath}/tasks/${t.id}">#${t.id}</a></td><td>${label}</td><td>${status}</td><td><code>${escapeHtml(`${this.base}/tasks/${t.id}`)}</code></td></tr>`;
      })
      .join('');
    send(
      res,
      200,
      'text/html; charset=utf-8',
      page(
        'Tasks',
        `${this.userSwitcher(subject)}<h1>Demo Tasks</h1>
<p>Paste a task link into the Notion playground to see its preview. Edit a task to see the preview update.</p>
<table><tr><th>Id</th><th>Title</th><th>Status</th><th>Link to paste</th></tr>${rows}</table>
<h2>Outage</h2><p>The task API is <b>${this.outage}</b>. While it is down or slow, previews show their last snapshot and its age.</p>
<form method="post" action="${this.basePath}/outage">${(['up', 'down', 'slow'] as const).map((m) => `<button name="mode" value="${m}">${m}</button> `).join('')}</form>`,
      ),
      { 'content-security-policy': PAGE_CSP },
    );
  }

  private taskPage(req: IncomingMessage, res: ServerResponse, id: string, notice = '') {
    const subject = this.viewer(req);
    const r = this.store.read(id, subject);
    const headers = { 'content-security-policy': PAGE_CSP };
    if (r.outcome !== 'found') {
      const [status, text] =
        r.outcome === 'gone'
          ? [410, 'This task was archived.']
          : r.outcome === 'forbidden'
            ? [403, 'You do not have access to this task.']
            : [404, 'No such task.'];
      return send(
        res,
        status,
        'text/html; charset=utf-8',
        page('Task', `${this.userSwitcher(subject)}<p>${text}</p><p><a href="${this.basePath}/">All tasks</a></p>`),
        headers,
      );
    }
    const t = r.task;
    const json = taskJson(t, this.base);
    const option = (value: string, label: string, current: string | null) =>
      `<option value="${escapeHtml(value)}"${value === (current ?? '') ? ' selected' : ''}>${escapeHtml(label)}</option>`;
    const embed = json.embed
      ? json.embed.kind === 'image'
        ? `<p><img src="${escapeHtml(json.embed.url)}" alt="" width="320"></p>`
        : `<p>Attachment (${json.embed.kind}): <a href="${escapeHtml(json.embed.url)}">${escapeHtml(json.embed.url)}</a></p>`
      : '';
    send(
      res,
      200,
      'text/html; charset=utf-8',
      page(
        t.title,
        `${this.userSwitcher(subject)}
<p><a href="${this.basePath}/">All tasks</a></p>${notice ? `<p role="status">${escapeHtml(notice)}</p>` : ''}
<h1>#${t.id} ${escapeHtml(t.title)}</h1>
<p><span class="pill" style="background:${json.status.color}">${escapeHtml(json.status.name)}</span>
 · ${escapeHtml(json.assignee?.name ?? 'Unassigned')} · due ${escapeHtml(t.due ?? '—')} · priority ${t.priority} · updated ${escapeHtml(json.updatedAt)}</p>
<p>${escapeHtml(t.description).replace(/\n/g, '<br>')}</p>${embed}
<h2>Edit</h2>
<form method="post" action="${this.basePath}/tasks/${t.id}">
<label for="title">Title</label><input id="title" name="title" value="${escapeHtml(t.title)}" maxlength="300" required>
<label for="status">Status</label><select id="status" name="status">${Object.entries(STATUSES)
          .map(([k, v]) => option(k, v.name, t.status))
          .join('')}</select>
<label for="assignee">Assignee</label><select id="assignee" name="assignee">${option('', 'Unassigned', t.assignee)}${DEMO_USERS.map((u) => option(u.subject, u.name, t.assignee)).join('')}</select>
<label for="due">Due</label><input id="due" name="due" type="date" value="${escapeHtml(t.due ?? '')}">
<label for="priority">Priority</label><select id="priority" name="priority">${['low', 'medium', 'high'].map((p) => option(p, p, t.priority)).join('')}</select>
<label for="description">Description</label><textarea id="description" name="description" rows="4" maxlength="4000">${escapeHtml(t.description)}</textarea>
<p><button type="submit">Save</button></p></form>`,
      ),
      headers,
    );
  }

  private async taskEdit(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (this.crossOrigin(req)) return send(res, 403, 'text/plain; charset=utf-8', 'Cross-origin edits are not allowed');
    const raw = await readText(req, MAX_FORM_BYTES);
    if (raw === undefined) return send(res, 413, 'text/plain; charset=utf-8', 'Form too large');
    const form = new URLSearchParams(raw);
    const edit: { -readonly [K in keyof TaskEdit]: TaskEdit[K] } = {};
    const title = form.get('title');
    if (title !== null) edit.title = title.slice(0, 300);
    const status = form.get('status');
    if (status !== null && Object.hasOwn(STATUSES, status)) edit.status = status as TaskStatus;
    const assignee = form.get('assignee');
    if (assignee === '') edit.assignee = null;
    else if (assignee !== null && findDemoUserBySubject(assignee)) edit.assignee = assignee;
    const due = form.get('due');
    if (due === '') edit.due = null;
    else if (due !== null && /^\d{4}-\d{2}-\d{2}$/.test(due)) edit.due = due;
    const priority = form.get('priority');
    if (priority === 'low' || priority === 'medium' || priority === 'high') edit.priority = priority as Priority;
    const description = form.get('description');
    if (description !== null) edit.description = description.slice(0, 4000);
    const { outcome } = await this.editTask(id, this.viewer(req), edit);
    if (outcome !== 'found') return this.taskPage(req, res, id);
    send(res, 303, 'text/plain; charset=utf-8', '', { location: `${this.basePath}/tasks/${id}` });
  }

  private card(res: ServerResponse, id: string) {
    const task = this.publicTask(id);
    if (!task) return send(res, 404, 'text/plain; charset=utf-8', 'Not found');
    const s = STATUSES[task.status];
    send(
      res,
      200,
      'text/html; charset=utf-8',
      page(
        task.title,
        `<h2>#${task.id} ${escapeHtml(task.title)}</h2>
<p><span class="pill" style="background:${s.color}">${escapeHtml(s.name)}</span> · due ${escapeHtml(task.due ?? '—')}</p>
<p>${escapeHtml(task.description)}</p>`,
      ),
      { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *" },
    );
  }
}

// Playground of the local Notion simulator. Renders only through DOM APIs
// (textContent, setAttribute on vetted URLs): nothing the service returns is
// ever parsed as HTML.

const $ = (id) => document.getElementById(id);
const formByPreview = new Map(); // preview id -> 'full' | 'mention'
let state = null;

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
};

const safeUrl = (u) => (typeof u === 'string' && /^https?:\/\//i.test(u) ? u : undefined);
const rgb = (c) => (c ? `rgb(${Number(c.r) | 0}, ${Number(c.g) | 0}, ${Number(c.b) | 0})` : '');

async function post(path, body = {}) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    /* empty */
  }
  if (data.state) render(data.state);
  return { status: res.status, data };
}

function notice(text) {
  const n = $('notice');
  n.textContent = text || '';
  n.hidden = !text;
}

// ---------------------------------------------------------------------------
// Card rendering: Notion's sections (title, primary, secondary, identifier,
// entity, avatar, body, background, embed) in full and mention form.
// ---------------------------------------------------------------------------

// `ctx.previewId`: the preview an embed belongs to (PDFs are served through the simulator).
function renderItem(item, ctx = {}) {
  switch (item.kind) {
    case 'title':
    case 'plain_text':
    case 'date':
      return el('span', { class: `item ${item.kind}`, 'data-attr': item.id, text: item.text });
    case 'datetime': {
      const d = new Date(item.text);
      return el('time', {
        class: 'item datetime',
        'data-attr': item.id,
        datetime: item.text,
        text: Number.isNaN(d.getTime()) ? item.text : d.toLocaleString(),
      });
    }
    case 'enum': {
      const chip = el('span', { class: 'item enum', 'data-attr': item.id, text: item.text });
      if (item.color) chip.style.backgroundColor = rgb(item.color);
      return chip;
    }
    case 'color': {
      const sw = el('span', { class: 'swatch', 'data-attr': item.id, title: item.name });
      sw.style.backgroundColor = rgb(item.color);
      return sw;
    }
    case 'relation':
      return el('span', { class: 'item relation', 'data-attr': item.id, text: item.text });
    case 'image': {
      const src = safeUrl(item.src);
      return src
        ? el('img', { src, alt: item.name, referrerpolicy: 'no-referrer', loading: 'lazy', 'data-attr': item.id })
        : null;
    }
    case 'video': {
      const src = safeUrl(item.src);
      return src ? el('video', { src, controls: true, preload: 'metadata', 'data-attr': item.id }) : null;
    }
    case 'audio': {
      const src = safeUrl(item.src);
      return src ? el('audio', { src, controls: true, preload: 'metadata', 'data-attr': item.id }) : null;
    }
    case 'html': {
      const src = safeUrl(item.src);
      // Sandboxed without allow-same-origin: the embed may run script but cannot reach this page.
      return src
        ? el('iframe', {
            src,
            title: item.name,
            sandbox: 'allow-scripts allow-forms allow-popups',
            referrerpolicy: 'no-referrer',
            loading: 'lazy',
            'data-attr': item.id,
          })
        : null;
    }
    case 'pdf': {
      // Chromium's PDF viewer refuses to run in any sandboxed iframe. The simulator fetches the
      // PDF, checks that it is one and serves it from here as application/pdf (nosniff), so the
      // frame needs no sandbox: nothing but the viewer can render what it shows.
      const src = safeUrl(item.src);
      if (!src || !ctx.previewId) return null;
      const local = `/playground/previews/${encodeURIComponent(ctx.previewId)}/pdf?src=${encodeURIComponent(src)}`;
      return el('iframe', {
        src: local,
        title: item.name,
        class: 'pdf',
        loading: 'lazy',
        'data-attr': item.id,
        'data-src': src,
      });
    }
    default:
      return null;
  }
}

const section = (card, name) => card?.sections?.[name] || [];

function renderFull(card, { placeholder = false, previewId } = {}) {
  const main = el('div', { class: 'card-main' });
  const head = el('div', { class: 'card-head' });
  const entity = section(card, 'entity').map(renderItem).filter(Boolean);
  if (entity.length) head.append(el('span', { class: 'entity' }, ...entity));
  head.append(el('span', { class: 'card-title', 'data-section': 'title', text: card.title || 'Untitled' }));
  main.append(head);
  for (const name of ['primary', 'secondary']) {
    const items = section(card, name).map(renderItem).filter(Boolean);
    if (items.length) main.append(el('div', { class: `row ${name}`, 'data-section': name }, ...items));
  }
  const body = section(card, 'body');
  if (body.length)
    main.append(el('div', { class: 'card-body', 'data-section': 'body', text: body.map((i) => i.text).join('\n') }));
  const avatar = section(card, 'avatar').map(renderItem).filter(Boolean);
  const identifier = section(card, 'identifier').map(renderItem).filter(Boolean);
  if (avatar.length || identifier.length) {
    main.append(
      el(
        'div',
        { class: 'card-foot' },
        avatar.length ? el('span', { class: 'avatar', 'data-section': 'avatar' }, ...avatar) : null,
        identifier.length ? el('span', { class: 'identifier', 'data-section': 'identifier' }, ...identifier) : null,
      ),
    );
  }
  const node = el(
    'div',
    { class: `card${placeholder ? ' placeholder' : ''}`, 'data-testid': placeholder ? 'placeholder-card' : 'card' },
    main,
  );
  const background = section(card, 'background')[0];
  if (background?.color) node.style.backgroundColor = rgb(background.color);
  const embed = section(card, 'embed')
    .map((item) => renderItem(item, { previewId }))
    .filter(Boolean);
  if (embed.length) node.append(el('div', { class: 'card-embed', 'data-section': 'embed' }, embed[0]));
  return node;
}

function renderMention(card, { placeholder = false } = {}) {
  const icon = section(card, 'entity').map(renderItem).filter(Boolean)[0];
  const ident = section(card, 'identifier')[0];
  return el(
    'span',
    {
      class: `mention${placeholder ? ' placeholder' : ''}`,
      'data-testid': placeholder ? 'placeholder-mention' : 'mention',
    },
    icon ? el('span', { class: 'entity' }, icon) : null,
    ident ? el('span', { class: 'mention-id' }, renderItem(ident)) : null,
    el('span', { class: 'mention-title', text: card.title || 'Untitled' }),
  );
}

function renderPreview(p) {
  const form = formByPreview.get(p.id) || 'full';
  const toggle = el(
    'button',
    {
      type: 'button',
      'data-action': 'toggle-form',
      onclick: () => {
        formByPreview.set(p.id, form === 'full' ? 'mention' : 'full');
        render(state);
      },
    },
    form === 'full' ? 'Show as mention' : 'Show as preview',
  );
  const bar = el(
    'div',
    { class: 'preview-bar' },
    el('span', { class: 'state', 'data-testid': 'preview-state', text: p.stale ? `${p.state} · stale` : p.state }),
    el('span', { class: 'uri', title: p.uri, text: p.uri }),
    toggle,
    el(
      'button',
      {
        type: 'button',
        'data-action': 'refresh',
        onclick: () => post(`/playground/previews/${encodeURIComponent(p.id)}/refresh`),
      },
      'Refresh',
    ),
    el(
      'button',
      {
        type: 'button',
        'data-action': 'remove',
        onclick: () => post(`/playground/previews/${encodeURIComponent(p.id)}/remove`),
      },
      'Remove',
    ),
  );
  const box = el('div', { class: 'preview', 'data-preview-id': p.id, 'data-state': p.state }, bar);
  const draw = (card, opts = {}) =>
    form === 'full' ? renderFull(card, { ...opts, previewId: p.id }) : renderMention(card, opts);

  if (p.card && (p.state === 'card' || p.state === 'error' || p.state === 'failed' || p.stale)) {
    if (p.state !== 'error') box.append(draw(p.card));
  } else if (p.placeholder) {
    box.append(draw(p.placeholder, { placeholder: true }));
  } else {
    box.append(el('a', { href: safeUrl(p.uri) || '#', rel: 'noopener noreferrer', text: p.uri }));
  }
  if (p.placeholderError) box.append(el('p', { class: 'error-box', text: p.placeholderError }));
  if (p.state === 'error' && p.error) {
    box.append(
      el('p', {
        class: 'error-box',
        'data-testid': 'error-operation',
        text: `The service reports ${p.error.status}: ${p.error.message}`,
      }),
    );
  }
  if (p.validationError)
    box.append(
      el('p', { class: 'error-box validation-error', 'data-testid': 'validation-error', text: p.validationError }),
    );
  if (p.failure) box.append(el('p', { class: 'error-box', 'data-testid': 'failure', text: p.failure }));
  if (p.state === 'needs-auth') {
    box.append(
      el(
        'div',
        { class: 'connect-box' },
        el('span', {
          'data-testid': 'connect-prompt',
          text: state.declined
            ? `You declined to connect ${state.integration.domain}; Notion will not ask again by itself. Press Connect if you changed your mind.`
            : `Connect your account at ${state.integration.domain} to preview this link.`,
        }),
        el('button', { type: 'button', class: 'primary', 'data-action': 'connect', onclick: connect }, 'Connect'),
      ),
    );
  }
  if (p.stale) box.append(el('p', { class: 'stale-note', text: 'Disconnected: this preview no longer updates.' }));
  return box;
}

function render(next) {
  state = next;
  $('who').textContent = `${next.user.name} · ${next.workspace.name}`;
  $('domain').textContent = next.integration.domain;
  const samples = next.integration.sampleUrls || [];
  $('link').placeholder = samples[0] || `https://${next.integration.domain}/…`;
  $('samples').replaceChildren(
    ...(samples.length ? ['Sample links: '] : []),
    ...samples.flatMap((url, i) => [
      i ? ' · ' : '',
      el(
        'button',
        {
          type: 'button',
          class: 'sample',
          'data-sample': url,
          onclick: () => {
            $('link').value = url;
            $('link').focus();
          },
        },
        url,
      ),
    ]),
  );
  const status = $('connection-status');
  status.textContent = next.connected ? 'Connected' : next.signInPending ? 'Sign-in pending' : 'Not connected';
  status.className = `badge${next.connected ? ' on' : ''}`;
  $('disconnect').hidden = !next.connected;
  const authError = $('auth-error');
  authError.textContent = next.lastAuthError || '';
  authError.hidden = !next.lastAuthError;
  for (const [name, value] of Object.entries(next.protocol || {})) {
    const select = $('settings-form').elements.namedItem(name);
    if (select && select.value !== value) select.value = value;
  }
  renderPreviews(next.previews);
}

// Preview id -> { sig, node }: a preview is drawn again only when what it shows changed, so an
// embedded frame (a PDF, an html embed) is not reloaded by every state event of the session.
const drawn = new Map();

function renderPreviews(previews) {
  const list = $('previews');
  const keep = new Set();
  previews.forEach((p, i) => {
    const sig = JSON.stringify([p, formByPreview.get(p.id) || 'full', state.declined, state.integration.domain]);
    let entry = drawn.get(p.id);
    if (!entry || entry.sig !== sig) {
      const node = renderPreview(p);
      if (entry) entry.node.replaceWith(node);
      entry = { sig, node };
      drawn.set(p.id, entry);
    }
    keep.add(p.id);
    const at = list.children[i];
    if (at !== entry.node) list.insertBefore(entry.node, at ?? null);
  });
  for (const [id, entry] of drawn) {
    if (keep.has(id)) continue;
    entry.node.remove();
    drawn.delete(id);
  }
}

// ---------------------------------------------------------------------------
// Protocol log
// ---------------------------------------------------------------------------

const ARROWS = { 'to-service': 'Notion → service', 'to-notion': 'service → Notion', note: 'note' };

function logItem(e) {
  const details = el(
    'details',
    {},
    el(
      'summary',
      {},
      el('span', { class: 'time', text: e.at.slice(11, 23) }),
      el('span', { class: 'dir', text: ARROWS[e.direction] || e.direction }),
      el('span', { text: e.summary }),
    ),
  );
  if (e.url) details.append(el('pre', { text: `${e.method || ''} ${e.url}` }));
  if (e.request) details.append(el('pre', { text: `request ${JSON.stringify(e.request, null, 2)}` }));
  if (e.response) details.append(el('pre', { text: `response ${JSON.stringify(e.response, null, 2)}` }));
  return el('li', { class: e.level, 'data-seq': e.seq }, details);
}

function addLog(entries, reset) {
  const list = $('log');
  if (reset) list.replaceChildren();
  for (const e of entries) list.prepend(logItem(e));
  while (list.children.length > 500) list.lastElementChild.remove();
}

// ---------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------

async function connect() {
  const { status, data } = await post('/playground/connect');
  if (status === 200 && typeof data.location === 'string') window.location.assign(data.location);
  else notice('Could not start the sign-in.');
}

async function paste(event) {
  event.preventDefault();
  const input = $('link');
  const url = input.value.trim();
  if (!url) return;
  notice('');
  const { status, data } = await post('/playground/previews', { url });
  if (status === 422) notice(data.error || 'No rule matches this link.');
  else if (status !== 200) notice(data.error || `Paste failed (${status}).`);
  // Clear the field only if it still holds this link: the next one may have been typed meanwhile.
  else if (input.value.trim() === url) input.value = '';
}

function start() {
  $('paste-form').addEventListener('submit', paste);
  $('disconnect').addEventListener('click', () => post('/playground/disconnect'));
  $('log-clear').addEventListener('click', () => $('log').replaceChildren());
  $('settings-form').addEventListener('change', (event) => {
    const t = event.target;
    if (t?.name) post('/playground/settings', { client: { [t.name]: t.value } });
  });
  const events = new EventSource('/playground/events');
  events.addEventListener('state', (m) => render(JSON.parse(m.data)));
  events.addEventListener('log-reset', (m) => addLog(JSON.parse(m.data), true));
  events.addEventListener('log', (m) => addLog([JSON.parse(m.data)], false));
  // Revisiting the page: Notion unfurls the previews on it again. Coming back from the sign-in is not a
  // revisit: the simulator has just unfurled them with the new connection (SIGNED_IN_FRAGMENT in client.ts).
  if (window.location.hash === '#signed-in') {
    history.replaceState(null, '', window.location.pathname + window.location.search);
  } else post('/playground/revisit');
}

start();

/**
 * Headless driver: uses the playground the way a person does in a browser,
 * without one. It keeps a cookie jar, follows redirects, and fills the HTML
 * forms it meets on the way (the service's sign-in and consent pages, the
 * identity provider's login) generically: each form's own fields plus the
 * values it was given (e.g. login, password, decision).
 *
 *   const driver = new NotionDriver({ baseUrl, formValues: { login: 'alice', password: 'alice-password', decision: 'allow' } });
 *   const preview = await driver.paste(`${baseUrl}/demo/tasks/1`);   // placeholder → sign-in → card
 *   preview.card?.title
 */
import type { CardModel } from './attributes.js';
import type { SessionView } from './client.js';
import type { Preview } from './world.js';

export interface DriverOptions {
  /** Where the playground is served (the simulator's base URL). */
  readonly baseUrl: string;
  /** Values for form fields met during sign-in, by field name (buttons are chosen by name and value). */
  readonly formValues?: Readonly<Record<string, string>>;
  /** Most pages to pass through in one sign-in (default 25). */
  readonly maxSteps?: number;
  readonly fetch?: typeof fetch;
}

export class DriverError extends Error {
  constructor(
    message: string,
    readonly url?: string,
    readonly status?: number,
    readonly excerpt?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Cookie jar
// ---------------------------------------------------------------------------

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly expiresAt?: number;
}

export class CookieJar {
  private cookies: StoredCookie[] = [];

  store(url: URL, setCookie: readonly string[]): void {
    for (const line of setCookie) {
      const [pair, ...attrs] = line.split(';');
      const i = pair?.indexOf('=') ?? -1;
      if (!pair || i <= 0) continue;
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      let domain = url.hostname;
      let hostOnly = true;
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expiresAt: number | undefined;
      for (const attr of attrs) {
        const [k = '', ...rest] = attr.split('=');
        const v = rest.join('=').trim();
        const key = k.trim().toLowerCase();
        if (key === 'domain' && v) {
          domain = v.replace(/^\./, '').toLowerCase();
          hostOnly = false;
        } else if (key === 'path' && v.startsWith('/')) path = v;
        else if (key === 'max-age') expiresAt = Date.now() + Number(v) * 1000;
        else if (key === 'expires' && expiresAt === undefined) {
          const t = Date.parse(v);
          if (!Number.isNaN(t)) expiresAt = t;
        }
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.domain === domain && c.path === path));
      if (expiresAt !== undefined && expiresAt <= Date.now()) continue;
      this.cookies.push({ name, value, domain, hostOnly, path, ...(expiresAt !== undefined ? { expiresAt } : {}) });
    }
  }

  header(url: URL): string | undefined {
    const now = Date.now();
    const host = url.hostname.toLowerCase();
    const matching = this.cookies.filter(
      (c) =>
        (c.expiresAt === undefined || c.expiresAt > now) &&
        (c.hostOnly ? host === c.domain : host === c.domain || host.endsWith(`.${c.domain}`)) &&
        (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
    );
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length > 0 ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}

// ---------------------------------------------------------------------------
// HTML forms
// ---------------------------------------------------------------------------

export interface ParsedForm {
  readonly action: string;
  readonly method: 'GET' | 'POST';
  readonly fields: ReadonlyArray<readonly [string, string]>;
  readonly buttons: ReadonlyArray<{ readonly name?: string; readonly value: string }>;
  readonly inputNames: readonly string[];
}

const decodeEntities = (s: string): string =>
  s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (whole, e: string) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    if (k.startsWith('#x')) return String.fromCodePoint(Number.parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(Number.parseInt(k.slice(1), 10));
    return whole;
  });

const attributesOf = (tag: string): Record<string, string> => {
  const out: Record<string, string> = Object.create(null);
  const re = /([^\s=<>"'/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  const inner = tag.replace(/^<\s*[\w-]+/, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) {
    const name = (m[1] ?? '').toLowerCase();
    if (name && !Object.hasOwn(out, name)) out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
};

/** The forms of an HTML page, with their successful controls. */
export function parseForms(html: string, pageUrl: URL): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi)) {
    const openTag = /^<form\b[^>]*>/i.exec(m[0])?.[0] ?? '<form>';
    const attrs = attributesOf(openTag);
    const body = m[1] ?? '';
    const fields: Array<[string, string]> = [];
    const buttons: Array<{ name?: string; value: string }> = [];
    const inputNames: string[] = [];
    for (const tag of body.matchAll(/<(input|button)\b[^>]*>/gi)) {
      const kind = (tag[1] ?? '').toLowerCase();
      const a = attributesOf(tag[0]);
      const type = (a.type ?? (kind === 'button' ? 'submit' : 'text')).toLowerCase();
      if ('disabled' in a) continue;
      if (type === 'submit' || type === 'image') {
        buttons.push({ ...(a.name ? { name: a.name } : {}), value: a.value ?? '' });
        continue;
      }
      if (kind === 'button' || type === 'button' || type === 'reset' || type === 'file' || !a.name) continue;
      inputNames.push(a.name);
      if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
      fields.push([a.name, a.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '')]);
    }
    for (const t of body.matchAll(/<textarea\b[^>]*>([\s\S]*?)<\/textarea\s*>/gi)) {
      const a = attributesOf(/^<textarea\b[^>]*>/i.exec(t[0])?.[0] ?? '');
      if (a.name) {
        inputNames.push(a.name);
        fields.push([a.name, decodeEntities(t[1] ?? '')]);
      }
    }
    for (const s of body.matchAll(/<select\b[^>]*>([\s\S]*?)<\/select\s*>/gi)) {
      const a = attributesOf(/^<select\b[^>]*>/i.exec(s[0])?.[0] ?? '');
      if (!a.name) continue;
      const options = [...(s[1] ?? '').matchAll(/<option\b[^>]*>([^<]*)/gi)].map((o) => {
        const oa = attributesOf(/^<option\b[^>]*>/i.exec(o[0])?.[0] ?? '');
        return { value: oa.value ?? decodeEntities((o[1] ?? '').trim()), selected: 'selected' in oa };
      });
      const chosen = options.find((o) => o.selected) ?? options[0];
      inputNames.push(a.name);
      if (chosen) fields.push([a.name, chosen.value]);
    }
    const action = new URL(attrs.action ?? '', pageUrl).toString();
    forms.push({
      action,
      method: (attrs.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET',
      fields,
      buttons,
      inputNames,
    });
  }
  return forms;
}

/** The submission a person would make: the form's fields, the given values for fields it has, and the matching button. */
export function fillForm(form: ParsedForm, values: Readonly<Record<string, string>>): URLSearchParams {
  const params = new URLSearchParams();
  const filled = new Set<string>();
  for (const [name, value] of form.fields) {
    if (Object.hasOwn(values, name)) {
      if (!filled.has(name)) params.append(name, values[name] as string);
      filled.add(name);
    } else params.append(name, value);
  }
  for (const name of form.inputNames) {
    if (!filled.has(name) && Object.hasOwn(values, name) && !form.fields.some(([n]) => n === name)) {
      params.append(name, values[name] as string);
      filled.add(name);
    }
  }
  const named = form.buttons.filter((b) => b.name !== undefined);
  const chosen =
    named.find((b) => b.name !== undefined && Object.hasOwn(values, b.name) && values[b.name] === b.value) ??
    (named.some((b) => b.name !== undefined && Object.hasOwn(values, b.name)) ? undefined : form.buttons[0]);
  if (chosen?.name !== undefined) params.append(chosen.name, chosen.value);
  return params;
}

// ---------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------

export interface SignInResult {
  /** Every page the browser passed through (origin and path only). */
  readonly steps: readonly string[];
}

export class NotionDriver {
  readonly jar = new CookieJar();
  private readonly base: URL;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: DriverOptions) {
    this.base = new URL(`${options.baseUrl.replace(/\/+$/, '')}/`);
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Opens the playground (gets the Notion user's session cookie). */
  async open(): Promise<SessionView> {
    await this.request(new URL('/', this.base), { method: 'GET' });
    return this.state();
  }

  async state(): Promise<SessionView> {
    const res = await this.request(new URL('/playground/state', this.base), { method: 'GET' });
    if (res.status !== 200) throw new DriverError(`state: HTTP ${res.status}`);
    return (await res.json()) as SessionView;
  }

  /**
   * Pastes a link. When the user has no connection yet and `signIn` is not
   * false, runs the browser round-trip, then returns the preview as rendered.
   */
  async paste(link: string, opts: { signIn?: boolean } = {}): Promise<Preview> {
    const { status, data } = await this.post('/playground/previews', { url: link });
    if (status !== 200)
      throw new DriverError(`paste: ${String((data as { error?: unknown }).error ?? status)}`, undefined, status);
    const { previewId, needsAuth } = data as { previewId: string; needsAuth: boolean };
    if (needsAuth && opts.signIn !== false) await this.signIn();
    return this.preview(previewId);
  }

  async preview(previewId: string): Promise<Preview> {
    const state = await this.state();
    const preview = state.previews.find((p) => p.id === previewId);
    if (!preview) throw new DriverError(`preview ${previewId} is not on the page`);
    return preview;
  }

  /** The card model of a preview (undefined while it shows the placeholder or an error). */
  async card(previewId: string): Promise<CardModel | undefined> {
    return (await this.preview(previewId)).card;
  }

  /**
   * Clicks "Connect" and goes through the service's sign-in, following redirects and forms, back to
   * the playground. `formValues` replace the driver's for this sign-in (e.g. `{ decision: 'allow' }`
   * after a deny).
   */
  async signIn(formValues?: Readonly<Record<string, string>>): Promise<SignInResult> {
    const { status, data } = await this.post('/playground/connect', {});
    const location = (data as { location?: unknown }).location;
    if (status !== 200 || typeof location !== 'string') throw new DriverError(`connect: HTTP ${status}`);
    return this.browse(new URL(location), { ...this.options.formValues, ...formValues });
  }

  async revisit(): Promise<SessionView> {
    return (await this.post('/playground/revisit', {})).data.state as SessionView;
  }

  async refresh(previewId: string): Promise<SessionView> {
    return (await this.post(`/playground/previews/${encodeURIComponent(previewId)}/refresh`, {})).data
      .state as SessionView;
  }

  async remove(previewId: string): Promise<SessionView> {
    return (await this.post(`/playground/previews/${encodeURIComponent(previewId)}/remove`, {})).data
      .state as SessionView;
  }

  async disconnect(): Promise<SessionView> {
    return (await this.post('/playground/disconnect', {})).data.state as SessionView;
  }

  /** Polls the state until `predicate` holds (pushed updates arrive asynchronously). */
  async waitFor(predicate: (state: SessionView) => boolean, timeoutMs = 10_000, intervalMs = 50): Promise<SessionView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.state();
      if (predicate(state)) return state;
      if (Date.now() > deadline) throw new DriverError('timed out waiting for the playground state');
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  private isPlaygroundHome(url: URL): boolean {
    return url.origin === this.base.origin && url.pathname === '/';
  }

  private async browse(start: URL, values: Readonly<Record<string, string>>): Promise<SignInResult> {
    const steps: string[] = [];
    const maxSteps = this.options.maxSteps ?? 25;
    let url = start;
    let init: { method: string; body?: string; headers?: Record<string, string> } = { method: 'GET' };
    for (let i = 0; i < maxSteps; i += 1) {
      steps.push(`${init.method} ${url.origin}${url.pathname}`);
      if (this.isPlaygroundHome(url) && init.method === 'GET') return { steps };
      const res = await this.request(url, init);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        url = new URL(location, url);
        init = { method: 'GET' };
        continue;
      }
      const text = await res.text();
      const excerpt = text
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300);
      if (res.status >= 400)
        throw new DriverError(
          `sign-in stopped: HTTP ${res.status} at ${url.pathname}: ${excerpt}`,
          url.toString(),
          res.status,
          excerpt,
        );
      const forms = parseForms(text, url);
      const form =
        forms.find(
          (f) =>
            f.inputNames.some((n) => Object.hasOwn(values, n)) ||
            f.buttons.some((b) => b.name !== undefined && Object.hasOwn(values, b.name)),
        ) ?? forms[0];
      if (!form)
        throw new DriverError(
          `sign-in stopped at a page without a form: ${url.pathname}: ${excerpt}`,
          url.toString(),
          res.status,
          excerpt,
        );
      const params = fillForm(form, values);
      const target = new URL(form.action);
      if (form.method === 'GET') {
        target.search = params.toString();
        url = target;
        init = { method: 'GET' };
      } else {
        url = target;
        init = {
          method: 'POST',
          body: params.toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        };
      }
    }
    throw new DriverError(`sign-in did not return to the playground within ${maxSteps} pages`, url.toString());
  }

  private async post(path: string, body: unknown): Promise<{ status: number; data: Record<string, unknown> }> {
    const res = await this.request(new URL(path, this.base), {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', origin: this.base.origin },
    });
    let data: Record<string, unknown> = {};
    try {
      data = (await res.json()) as Record<string, unknown>;
    } catch {
      /* empty body */
    }
    return { status: res.status, data };
  }

  private async request(
    url: URL,
    init: { method: string; body?: string; headers?: Record<string, string> },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/html,application/json;q=0.9,*/*;q=0.8', ...init.headers };
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    const res = await this.fetchImpl(url, {
      method: init.method,
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      redirect: 'manual',
    });
    this.jar.store(url, res.headers.getSetCookie());
    return res;
  }
}

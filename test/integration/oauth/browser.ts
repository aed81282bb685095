/**
 * A minimal browser for integration tests: a cookie jar (name, path, HttpOnly
 * ignored), manual redirect following, and submission of plain HTML forms the
 * way a person would (the form's own fields plus the values given).
 */

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

export interface Page {
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  /** Every URL visited to get here, the first request included. */
  readonly trail: readonly string[];
}

const decodeEntities = (s: string): string =>
  s
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, n: string) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  const raw = m?.[2] ?? m?.[3] ?? m?.[4];
  return raw === undefined ? undefined : decodeEntities(raw);
};

export class TestBrowser {
  private readonly cookies = new Map<string, StoredCookie>();

  /** Stops following redirects at URLs for which this returns true (e.g. Notion's callback). */
  constructor(private readonly stopAt: (url: URL) => boolean = () => false) {}

  cookie(name: string): string | undefined {
    for (const c of this.cookies.values()) if (c.name === name) return c.value;
    return undefined;
  }

  private store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const i = pair?.indexOf('=') ?? -1;
      if (!pair || i <= 0) continue;
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const path =
        attrs
          .map((a) => a.trim())
          .find((a) => /^path=/i.test(a))
          ?.slice(5) || '/';
      const expired = attrs.some((a) => /^max-age=0$/i.test(a.trim()) || /^expires=thu, 01 jan 1970/i.test(a.trim()));
      const key = `${name};${path}`;
      if (expired || value === '') this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  private header(url: URL): string {
    return [...this.cookies.values()]
      .filter(
        (c) =>
          url.pathname === c.path ||
          url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) ||
          c.path === '/',
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    let current = new URL(url);
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    const trail: string[] = [];
    for (let hop = 0; hop < 20; hop++) {
      trail.push(current.toString());
      const headers: Record<string, string> = { accept: 'text/html' };
      const cookie = this.header(current);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(current, { method, headers, body: body ?? null, redirect: 'manual' });
      this.store(response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, current);
        await response.arrayBuffer();
        if (this.stopAt(next))
          return {
            url: next.toString(),
            status: response.status,
            headers: response.headers,
            body: '',
            trail: [...trail, next.toString()],
          };
        current = next;
        method = 'GET';
        body = undefined;
        continue;
      }
      return {
        url: current.toString(),
        status: response.status,
        headers: response.headers,
        body: await response.text(),
        trail,
      };
    }
    throw new Error('too many redirects');
  }

  /** Submits the first form of the page with its own fields plus `values`; `button` picks a named submit button. */
  async submit(page: Page, values: Record<string, string>, button?: { name: string; value: string }): Promise<Page> {
    const formMatch = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
    if (!formMatch) throw new Error(`no form on ${page.url}`);
    const formTag = /<form\b[^>]*>/i.exec(formMatch[0])![0];
    const action = new URL(attr(formTag, 'action') ?? page.url, page.url).toString();
    const fields: Record<string, string> = {};
    for (const input of formMatch[1]!.match(/<input\b[^>]*>/gi) ?? []) {
      const name = attr(input, 'name');
      if (name) fields[name] = attr(input, 'value') ?? '';
    }
    if (button) fields[button.name] = button.value;
    return this.request(action, {
      method: (attr(formTag, 'method') ?? 'GET').toUpperCase(),
      form: { ...fields, ...values },
    });
  }
}

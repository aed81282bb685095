/**
 * Cookies, read and written in one place: the handlers (functions/shared/http.ts,
 * the authorize flow's pending cookie) and the local parts (the Notion
 * simulator's session, the demo product's viewer) use these two functions.
 */

/**
 * The cookies of a request, by name: from a `Cookie` header or API Gateway's
 * `cookies` array. The first of a repeated name wins; values are
 * percent-decoded, and a value that does not decode is left out. The result
 * has no prototype, so a cookie named `constructor` or `__proto__` is just a
 * cookie and an absent name is always undefined.
 */
export const parseCookies = (input: string | readonly string[] | undefined): Readonly<Record<string, string>> => {
  const out: Record<string, string> = Object.create(null);
  const parts = typeof input === 'string' ? input.split(';') : (input ?? []);
  for (const part of parts) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (name === '' || Object.hasOwn(out, name)) continue;
    let value = part.slice(i + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    out[name] = value;
  }
  return out;
};

export interface CookieAttributes {
  readonly path: string;
  /** Seconds; 0 removes the cookie. Absent: a session cookie. */
  readonly maxAgeSeconds?: number;
  readonly httpOnly?: boolean;
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
  readonly secure?: boolean;
}

/** RFC 6265 cookie-name: an RFC 7230 token. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A `Set-Cookie` value: `name=value; Path=…[; Max-Age=…][; HttpOnly][; SameSite=…][; Secure]`.
 * The value is percent-encoded (parseCookies decodes it); a name that is not a token or a path
 * with `;` or a control character is a programming error and throws.
 */
export const serializeCookie = (name: string, value: string, attributes: CookieAttributes): string => {
  if (!COOKIE_NAME.test(name)) throw new TypeError(`cookie name ${JSON.stringify(name)} is not a token`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[;\x00-\x1f\x7f]/.test(attributes.path)) throw new TypeError('cookie path must not contain ";" or controls');
  const { maxAgeSeconds, httpOnly, sameSite, secure } = attributes;
  if (maxAgeSeconds !== undefined && !(Number.isInteger(maxAgeSeconds) && maxAgeSeconds >= 0))
    throw new TypeError('cookie Max-Age must be a whole number of seconds');
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${attributes.path}`,
    ...(maxAgeSeconds !== undefined ? [`Max-Age=${maxAgeSeconds}`] : []),
    ...(httpOnly ? ['HttpOnly'] : []),
    ...(sameSite ? [`SameSite=${sameSite}`] : []),
    ...(secure ? ['Secure'] : []),
  ].join('; ');
};

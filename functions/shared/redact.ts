/**
 * Redaction of secrets in anything that gets logged or shown in a protocol log.
 * Keys are matched case-insensitively; values that look like bearer tokens,
 * JWTs or the service's own refresh tokens and codes are masked wherever they appear.
 */
const SECRET_KEYS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'code',
  'code_verifier',
  'client_secret',
  'password',
  'secret',
  'notion_token',
  'accesstoken',
  'refreshtoken',
  'notiontoken',
  'clientsecret',
  'csrf',
  'x-csrf-token',
  'webhook-signature',
]);

export const REDACTED = '[redacted]';

/**
 * A JWT starts where a run of base64url characters starts (after a space, quote, `=`, `:`, `/`, `.`…):
 * one try per run keeps the match linear. With `\beyJ` a text of `-eyJ-eyJ…` tried at every `eyJ`, each
 * try scanning to the end of the run: 64 KiB took seconds.
 */
const JWT_LIKE = /(?<![\w-])eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}\b/g;
const BEARER_LIKE = /\b(Bearer|Basic)\s+[\w\-.~+/=]{8,}/gi;
const QUERY_SECRET = /([?&](?:code|access_token|refresh_token|token|client_secret|id_token)=)[^&#\s"]+/gi;
/**
 * The service's own secrets (functions/core/oauth): a refresh token `<connection id>.<32 random bytes>`, and an
 * authorization code, CSRF token or PKCE verifier, 32 random bytes; random bytes are base64url, 43 characters.
 * Matched whole (not inside a longer word), so ids, digests and shorter words stay readable.
 */
const REFRESH_TOKEN_LIKE = /(?<![\w.-])[A-Za-z0-9-]{1,64}\.[\w-]{43}(?![\w-])/g;
const RANDOM_32_BYTES = /(?<![\w-])[\w-]{43}(?![\w-])/g;

export const isSecretKey = (key: string): boolean => SECRET_KEYS.has(key.toLowerCase());

/**
 * An error's `code`: a Node.js system error (`ENOTFOUND`), an `ERR_…` code, an AWS SDK exception name, one of
 * the service's or OAuth's snake_case error codes (`invalid_grant`, `connection_ended`), or a number. It is
 * what an operator needs, and an authorization code (random base64url, or a UUID) does not have this shape.
 */
const ERROR_CODE =
  /^(E[A-Z0-9]{2,40}|ERR_[A-Z0-9_]{1,60}|[A-Z][A-Za-z]{0,60}(Exception|Error|Fault)|[a-z]{1,20}(_[a-z]{1,20}){1,5})$/;
const isErrorCode = (key: string, value: unknown): boolean =>
  key.toLowerCase() === 'code' && (typeof value === 'number' || (typeof value === 'string' && ERROR_CODE.test(value)));

/** True when the value under `key` is masked: a secret key with a value, unless it is an error code. */
const masked = (key: string, value: unknown): boolean =>
  isSecretKey(key) && value !== undefined && value !== null && value !== '' && !isErrorCode(key, value);

/** Masks token-looking substrings inside a free-form string. */
export const redactString = (value: string): string =>
  value
    .replace(JWT_LIKE, REDACTED)
    .replace(BEARER_LIKE, `$1 ${REDACTED}`)
    .replace(QUERY_SECRET, `$1${REDACTED}`)
    .replace(REFRESH_TOKEN_LIKE, REDACTED)
    .replace(RANDOM_32_BYTES, REDACTED);

/**
 * A name from the network (a parameter's, a field's) that may be logged or echoed as it is: a short
 * lower-case word or snake_case name, the shape of every name the protocols use (`grant_type`, `uri`).
 * Never the shape of a token: no digits, no upper case, no `.` or `-`, at most 32 characters.
 */
export const isPlainName = (name: string): boolean => /^[a-z][a-z_]{0,31}$/.test(name);

/** Deep copy of `value` with secret keys and token-looking strings masked. */
export const redact = (value: unknown, depth = 0): unknown => {
  if (depth > 12) return '[depth]';
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    // fromEntries keeps a key named `__proto__` as a key (an assignment would set the prototype).
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        masked(k, v) ? REDACTED : redact(v, depth + 1),
      ]),
    );
  }
  return value;
};

/** A JSON.stringify replacer that applies the same rules (used by the logger). */
export const redactingReplacer = (key: string, value: unknown): unknown => {
  if (key !== '' && masked(key, value)) return REDACTED;
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
};

/**
 * The stored form of a connection's upstream tokens (the plaintext of
 * `Connection.upstreamTokenCiphertext`) and when they are due for a refresh
 * (docs/adr/0127).
 */

/** The plaintext of `Connection.upstreamTokenCiphertext` (times in epoch ms). */
export interface StoredUpstreamTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly expiresAt?: number;
  /** When the access token was obtained: the refresh margin is a part of its lifetime. */
  readonly obtainedAt?: number;
}

/** The longest margin before expiry at which a token is refreshed; shorter lifetimes use a quarter of theirs. */
export const MAX_REFRESH_MARGIN_MS = 30_000;

/** Whether `tokens` should be refreshed before use at `now`. */
export const needsRefresh = (tokens: StoredUpstreamTokens, now: number): boolean => {
  if (tokens.expiresAt === undefined) return false;
  const lifetime = tokens.obtainedAt === undefined ? Number.POSITIVE_INFINITY : tokens.expiresAt - tokens.obtainedAt;
  const margin = Math.min(MAX_REFRESH_MARGIN_MS, Math.max(0, lifetime / 4));
  return now >= tokens.expiresAt - margin;
};

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const time = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The stored value is JSON `{"accessToken", ...}` (or `access_token`), or the bare token. */
export const tokensFromPlaintext = (plaintext: string): StoredUpstreamTokens | undefined => {
  const trimmed = plaintext.trim();
  if (!trimmed.startsWith('{')) return trimmed === '' ? undefined : { accessToken: trimmed };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const accessToken = text(parsed.accessToken) ?? text(parsed.access_token);
  if (accessToken === undefined) return undefined;
  const refreshToken = text(parsed.refreshToken) ?? text(parsed.refresh_token);
  const expiresAt = time(parsed.expiresAt);
  const obtainedAt = time(parsed.obtainedAt);
  return {
    accessToken,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(obtainedAt === undefined ? {} : { obtainedAt }),
  };
};

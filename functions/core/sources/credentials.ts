/**
 * Upstream credentials of a connection, decrypted on first use only (most
 * adapters never ask, and decryption may cost a KMS call).
 */
import type { Connection, TokenCipher } from '#core/ports.js';
import type { UpstreamCredentials } from './source-adapter.js';

/** Encryption context the upstream tokens are bound to (must match where they are encrypted). */
export const upstreamTokenContext = (connection: Pick<Connection, 'id' | 'subject'>): Record<string, string> => ({
  purpose: 'upstream-token',
  subject: connection.subject,
});

/** The stored value is either the access token itself or JSON holding `access_token`. */
export const accessTokenFromPlaintext = (plaintext: string): string | undefined => {
  const text = plaintext.trim();
  if (!text.startsWith('{')) return text === '' ? undefined : text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const token = parsed.access_token ?? parsed.accessToken;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    return undefined;
  }
};

export const upstreamCredentials = (
  connection: Pick<Connection, 'id' | 'subject' | 'upstreamTokenCiphertext'>,
  cipher: TokenCipher | undefined,
  context: (c: Pick<Connection, 'id' | 'subject'>) => Record<string, string> = upstreamTokenContext,
): UpstreamCredentials => {
  let cached: Promise<string | undefined> | undefined;
  return {
    accessToken: () => {
      const ciphertext = connection.upstreamTokenCiphertext;
      if (ciphertext === undefined || cipher === undefined) return Promise.resolve(undefined);
      cached ??= cipher.decrypt(ciphertext, context(connection)).then(accessTokenFromPlaintext, () => undefined);
      return cached;
    },
  };
};

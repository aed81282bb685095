/**
 * Upstream credentials of a connection, decrypted on first use only (most
 * adapters never ask, and decryption may cost a KMS call).
 */
import { upstreamTokenContext } from '#core/oauth/cipher-contexts.js';
import type { Connection, TokenCipher } from '#core/ports.js';
import type { UpstreamCredentials } from './source-adapter.js';

/** The stored value is JSON `{"accessToken", ...}` (or `access_token`), or the bare token. */
export const accessTokenFromPlaintext = (plaintext: string): string | undefined => {
  const text = plaintext.trim();
  if (!text.startsWith('{')) return text === '' ? undefined : text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const token = parsed.accessToken ?? parsed.access_token;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    return undefined;
  }
};

/** Credentials whose access token is decrypted (once) when an adapter first asks for it. */
export const upstreamCredentials = (
  connection: Pick<Connection, 'subject' | 'upstreamTokenCiphertext'>,
  cipher: () => Promise<TokenCipher>,
): UpstreamCredentials => {
  let cached: Promise<string | undefined> | undefined;
  return {
    accessToken: () => {
      const ciphertext = connection.upstreamTokenCiphertext;
      if (ciphertext === undefined) return Promise.resolve(undefined);
      cached ??= cipher()
        .then((c) => c.decrypt(ciphertext, upstreamTokenContext(connection.subject)))
        .then(accessTokenFromPlaintext, () => undefined);
      return cached;
    },
  };
};

/** Credentials of nobody (for adapters that never use them, and tests). */
export const noCredentials: UpstreamCredentials = { accessToken: () => Promise.resolve(undefined) };

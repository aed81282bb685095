/**
 * Encryption contexts (bound as additional authenticated data by the
 * TokenCipher) of the third-party secrets we store. A ciphertext only decrypts
 * under the context it was made for, so a value copied to another record is
 * useless. Whoever decrypts (e.g. the update worker) uses these same builders.
 */

/** The Notion access token of a connection (`Connection.notionTokenCiphertext`). */
export const notionTokenContext = (connectionId: string) => ({ purpose: 'notion-access-token', connectionId }) as const;

/** The Notion refresh token of a connection (`Connection.notionRefreshTokenCiphertext`). */
export const notionRefreshTokenContext = (connectionId: string) =>
  ({ purpose: 'notion-refresh-token', connectionId }) as const;

/**
 * The upstream OIDC tokens of a connection (`Connection.upstreamTokenCiphertext`):
 * JSON `{"accessToken","refreshToken"?,"expiresAt"?}`. Bound to the connection, like
 * Notion's tokens: a ciphertext copied to another connection, even one of the same
 * user, does not decrypt. The connection's id is minted when the upstream login
 * completes, so that the tokens are encrypted for it from the start (ADR 0165).
 */
export const upstreamTokenContext = (connectionId: string) => ({ purpose: 'upstream-tokens', connectionId }) as const;

/**
 * The context upstream tokens were encrypted under before ADR 0165: the user's subject only.
 * Read, never written: a connection made before keeps its tokens readable until they are
 * next stored (a refresh), which stores them under `upstreamTokenContext`.
 */
export const legacyUpstreamTokenContext = (subject: string) => ({ purpose: 'upstream-tokens', subject }) as const;

/** Notion's authorization code while the user logs in and consents (`PendingAuthorization.notionCode`). */
export const notionCodeContext = (pendingId: string) => ({ purpose: 'notion-code', pendingId }) as const;

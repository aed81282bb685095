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
 * The upstream OIDC tokens of a user (`Connection.upstreamTokenCiphertext`):
 * JSON `{"accessToken","refreshToken"?,"expiresAt"?}`.
 */
export const upstreamTokenContext = (subject: string) => ({ purpose: 'upstream-tokens', subject }) as const;

/** Notion's authorization code while the user logs in and consents (`PendingAuthorization.notionCode`). */
export const notionCodeContext = (pendingId: string) => ({ purpose: 'notion-code', pendingId }) as const;

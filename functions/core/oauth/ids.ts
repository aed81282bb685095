/**
 * Shapes of the identifiers the service mints and later reads back from a
 * token. A value read from a token is checked against these before any
 * storage call, so that an oversized or odd value is an invalid token (401),
 * never a storage error (DynamoDB refuses keys over 2,048 bytes).
 */

/** Connection ids: UUIDs in production, short test ids in tests. */
const CONNECTION_ID = /^[A-Za-z0-9-]{1,64}$/;

/** An OIDC subject is at most 255 ASCII characters (OpenID Connect Core §2). */
const MAX_SUBJECT = 255;

/** Token ids the service mints are UUIDs; anything longer is not ours. */
const MAX_TOKEN_ID = 128;

export const isConnectionId = (value: unknown): value is string =>
  typeof value === 'string' && CONNECTION_ID.test(value);

export const isSubject = (value: unknown): value is string =>
  typeof value === 'string' && value !== '' && value.length <= MAX_SUBJECT;

export const isTokenId = (value: unknown): value is string =>
  typeof value === 'string' && value !== '' && value.length <= MAX_TOKEN_ID;

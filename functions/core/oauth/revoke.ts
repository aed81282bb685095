/**
 * RFC 7009 token revocation (POST /oauth/revoke) for Notion, our only client.
 *
 * - Client authentication exactly as at the token endpoint (client-auth.ts):
 *   client_secret_post or client_secret_basic, the same invalid_client 401s.
 * - A refresh token of ours (the current one, or one already rotated away)
 *   ends the whole grant: the connection ends through the one path
 *   (#core/connection-end.js), so its access tokens are refused at once, its
 *   Notion token is deleted and its subscriptions removed.
 * - A valid access token of ours ends its connection too: access tokens are
 *   self-contained JWTs checked against the connection's token generation,
 *   and ending the grant is the one way to stop one before it expires
 *   (docs/adr/0115-revoking-an-access-token-ends-its-connection.md).
 * - `token_type_hint` only orders the lookup; an unknown hint is ignored (RFC 7009 §2.1).
 * - Unknown, malformed, expired or already revoked tokens, and tokens of
 *   another client, answer 200 like a success (RFC 7009 §2.2): the answer reveals
 *   nothing about the token.
 */
import { type ConnectionEndPorts, endConnection } from '#core/connection-end.js';
import type { Clock, Connection, ConnectionStore } from '#core/ports.js';
import { constantTimeEqual, hashSecret } from '#shared/crypto.js';
import { type AccessTokenSettings, checkConnection, InvalidTokenError, verifyAccessToken } from './access-token.js';
import { authenticateClient, type ClientFormRequest, type RegisteredClient } from './client-auth.js';
import type { OAuthLog } from './ports.js';
import { parseClientFields, parseRevocationRequest, type TokenTypeHint } from './requests.js';
import { parseRefreshToken } from './token.js';

export interface RevocationDependencies {
  readonly connections: Pick<ConnectionStore, 'get' | 'end'>;
  readonly clock: Clock;
  readonly tokens: AccessTokenSettings;
  /** Our registered client (OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET). */
  readonly client: () => Promise<RegisteredClient>;
  readonly log: OAuthLog;
  readonly endings: ConnectionEndPorts;
}

export type RevocationInput = ClientFormRequest;

/** What was revoked: the kind of token found (its connection ended), or `none` (answered 200 all the same). */
export type RevocationOutcome = TokenTypeHint | 'none';

const LOOKUP_ORDER: Readonly<Record<TokenTypeHint, readonly TokenTypeHint[]>> = {
  refresh_token: ['refresh_token', 'access_token'],
  access_token: ['access_token', 'refresh_token'],
};

const looksLikeJwt = (t: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(t);

/** The active connection a refresh token of ours (current or rotated away) belongs to, for `clientId`. */
const connectionOfRefreshToken = async (
  token: string,
  clientId: string,
  deps: RevocationDependencies,
): Promise<Connection | undefined> => {
  if (token.length > 512 || looksLikeJwt(token)) return undefined;
  const parsed = parseRefreshToken(token);
  if (!parsed) return undefined;
  const connection = await deps.connections.get(parsed.connectionId);
  if (connection?.status !== 'active' || !constantTimeEqual(connection.clientId, clientId)) return undefined;
  const hash = hashSecret(token);
  const known = [connection.refreshTokenHash, ...connection.previousRefreshTokenHashes].filter(
    (h): h is string => h !== undefined,
  );
  return known.some((h) => constantTimeEqual(h, hash)) ? connection : undefined;
};

/** The active connection a currently valid access token of ours belongs to, for `clientId`. */
const connectionOfAccessToken = async (
  token: string,
  clientId: string,
  deps: RevocationDependencies,
): Promise<Connection | undefined> => {
  if (token.length > 8192 || !looksLikeJwt(token)) return undefined;
  try {
    const claims = await verifyAccessToken(token, deps.tokens, deps.clock);
    if (!constantTimeEqual(claims.clientId, clientId)) return undefined;
    return checkConnection(claims, await deps.connections.get(claims.connectionId));
  } catch (error) {
    // Not ours, expired, or of an ended grant: nothing to revoke. A failure to read the keys is no answer.
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
};

export const handleRevocationRequest = async (
  input: RevocationInput,
  deps: RevocationDependencies,
): Promise<RevocationOutcome> => {
  const fields = parseClientFields(input.form);
  const client = authenticateClient({ authorization: input.authorization, ...fields }, await deps.client());
  const request = parseRevocationRequest(input.form);
  for (const kind of LOOKUP_ORDER[request.hint ?? 'refresh_token']) {
    const connection =
      kind === 'refresh_token'
        ? await connectionOfRefreshToken(request.token, client.clientId, deps)
        : await connectionOfAccessToken(request.token, client.clientId, deps);
    if (!connection) continue;
    await endConnection(deps, connection.id, 'revoked', `${kind.replace('_', ' ')} revoked by the client`);
    deps.log('info', 'token revoked', { connectionId: connection.id, tokenType: kind });
    return kind;
  }
  deps.log('info', 'token revocation: no token of ours found', { hint: request.hint ?? 'none' });
  return 'none';
};

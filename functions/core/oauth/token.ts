/**
 * The token endpoint (RFC 6749 §3.2, §4.1.3, §6) for Notion, our only client.
 *
 * - authorization_code: the code is read, checked, the first refresh token set
 *   and then the code consumed with one conditional write, so exactly one of
 *   any number of concurrent redemptions succeeds and a replayed code ends the
 *   connection it issued; a redemption cut short before it consumed the code
 *   (e.g. throttled) can be retried with the same code (docs/adr/0087).
 *   redirect_uri must equal the stored string byte for byte; PKCE (S256) is
 *   enforced when the authorization request carried a challenge.
 * - refresh_token: `<connectionId>.<random>`, stored only as a hash; rotated on
 *   every use with one conditional write; presenting a rotated-away token ends
 *   the connection (reuse detection).
 */
import { createHash } from 'node:crypto';
import { type ConnectionEndPorts, type ConnectionEndReason, endConnection as end } from '#core/connection-end.js';
import type { AuthStateStore, Clock, Connection, ConnectionStore, Random } from '#core/ports.js';
import { constantTimeEqual, hashSecret } from '#shared/crypto.js';
import { type AccessTokenSettings, issueAccessToken } from './access-token.js';
import { authenticateClient, type ClientFormRequest, type RegisteredClient } from './client-auth.js';
import { InvalidGrantError, InvalidScopeError } from './errors.js';
import { isConnectionId } from './ids.js';
import type { OAuthLog } from './ports.js';
import { parseClientFields, parseTokenRequest } from './requests.js';

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly scope: string;
}

export interface TokenDependencies {
  readonly authState: Pick<AuthStateStore, 'readCode' | 'redeemCode'>;
  readonly connections: Pick<ConnectionStore, 'get' | 'swapRefreshToken' | 'end'>;
  readonly clock: Clock;
  readonly random: Random;
  readonly tokens: AccessTokenSettings;
  /** Our registered client (OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET). */
  readonly client: () => Promise<RegisteredClient>;
  readonly log: OAuthLog;
  /** What ending a connection (reuse, a replayed or misused code) reaches: subscriptions, the delivery log. */
  readonly endings: ConnectionEndPorts;
}

export type TokenEndpointInput = ClientFormRequest;

/** Splits `<connectionId>.<secret>`; undefined if it is not of that shape. */
export const parseRefreshToken = (token: string): { connectionId: string } | undefined => {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot === token.length - 1) return undefined;
  const connectionId = token.slice(0, dot);
  return isConnectionId(connectionId) ? { connectionId } : undefined;
};

const s256 = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url');

const scopeTokens = (scope: string): Set<string> => new Set(scope.split(' ').filter((s) => s !== ''));

export const handleTokenRequest = async (
  input: TokenEndpointInput,
  deps: TokenDependencies,
): Promise<TokenResponse> => {
  const fields = parseClientFields(input.form);
  const client = authenticateClient({ authorization: input.authorization, ...fields }, await deps.client());
  const request = parseTokenRequest(input.form);
  return request.grantType === 'authorization_code'
    ? redeemAuthorizationCode(client.clientId, request, deps)
    : refresh(client.clientId, request, deps);
};

/** Ends the grant through the one path (#core/connection-end.js): tokens, Notion token and subscriptions go. */
const endConnection = async (
  deps: TokenDependencies,
  connectionId: string,
  reason: ConnectionEndReason,
  detail: string,
): Promise<void> => {
  await end(deps, connectionId, reason, detail);
  deps.log('warn', 'connection revoked', { connectionId, reason: detail });
};

const tokenResponse = async (
  connection: Connection,
  refreshToken: string,
  deps: TokenDependencies,
): Promise<TokenResponse> => {
  const { token, expiresIn } = await issueAccessToken(connection, deps.tokens, deps);
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: expiresIn,
    refresh_token: refreshToken,
    scope: connection.scope,
  };
};

const newRefreshToken = (connectionId: string, random: Random): string => `${connectionId}.${random.token(32)}`;

const redeemAuthorizationCode = async (
  clientId: string,
  request: { readonly code: string; readonly redirectUri: string; readonly codeVerifier: string | undefined },
  deps: TokenDependencies,
): Promise<TokenResponse> => {
  const now = deps.clock.now();
  const codeHash = hashSecret(request.code);
  const found = await deps.authState.readCode(codeHash, now);
  switch (found.outcome) {
    case 'unknown':
      throw new InvalidGrantError('The authorization code is not valid');
    case 'expired':
      throw new InvalidGrantError('The authorization code has expired');
    case 'replayed':
      await endConnection(deps, found.code.connectionId, 'code_replayed', 'authorization code replayed');
      throw new InvalidGrantError('The authorization code was already used');
    case 'usable':
      break;
  }
  const code = found.code;
  // A redemption that fails a check spends the code as well: it is never tried again.
  const reject = async (reason: string, description: string): Promise<never> => {
    await deps.authState.redeemCode(codeHash, now);
    await endConnection(deps, code.connectionId, 'code_rejected', reason);
    throw new InvalidGrantError(description);
  };
  if (!constantTimeEqual(code.clientId, clientId))
    return reject('code presented by another client', 'The authorization code was issued to another client');
  if (code.redirectUri !== request.redirectUri) {
    return reject('redirect_uri mismatch at code redemption', 'redirect_uri does not match the authorization request');
  }
  if (code.codeChallenge !== undefined) {
    if (request.codeVerifier === undefined) return reject('missing PKCE verifier', 'code_verifier is required');
    if (!constantTimeEqual(s256(request.codeVerifier), code.codeChallenge))
      return reject('PKCE verification failed', 'code_verifier does not match');
  } else if (request.codeVerifier !== undefined) {
    return reject(
      'unexpected PKCE verifier',
      'code_verifier was sent but the authorization request had no code_challenge',
    );
  }
  // The first refresh token is set before the code is spent (docs/adr/0087): when either write fails
  // (throttled: 503), nothing usable was handed out and the code still works, so Notion's retry succeeds.
  const refreshToken = newRefreshToken(code.connectionId, deps.random);
  const swap = await deps.connections.swapRefreshToken(code.connectionId, {
    expectedHash: null,
    newHash: hashSecret(refreshToken),
    now,
    forCode: codeHash,
  });
  if (swap.outcome !== 'swapped') throw new InvalidGrantError('The authorization is no longer active');
  const redemption = await deps.authState.redeemCode(codeHash, now);
  switch (redemption.outcome) {
    case 'redeemed':
      break;
    case 'replayed':
      // Another exchange of the same code spent it first: a replay, so the grant ends for both.
      await endConnection(deps, code.connectionId, 'code_replayed', 'authorization code replayed');
      throw new InvalidGrantError('The authorization code was already used');
    default:
      // Expired (or swept) between the read and the write: the token just set is never handed out.
      await endConnection(deps, code.connectionId, 'code_rejected', 'authorization code expired during redemption');
      throw new InvalidGrantError('The authorization code has expired');
  }
  deps.log('info', 'tokens issued', { connectionId: code.connectionId, grant: 'authorization_code' });
  return tokenResponse(swap.connection, refreshToken, deps);
};

const refresh = async (
  clientId: string,
  request: { readonly refreshToken: string; readonly scope: string | undefined },
  deps: TokenDependencies,
): Promise<TokenResponse> => {
  const parsed = parseRefreshToken(request.refreshToken);
  if (!parsed) throw new InvalidGrantError('The refresh token is not valid');
  const { connectionId } = parsed;
  const presentedHash = hashSecret(request.refreshToken);
  if (request.scope !== undefined) {
    // Narrowing is not offered: the scope asked for must be within the grant's. Only the current refresh
    // token is judged on its scope; any other goes on to the swap, which refuses it and, for a token
    // rotated away, ends the grant: asking for a wider scope must not step around reuse detection.
    const current = await deps.connections.get(connectionId);
    const granted = scopeTokens(current?.scope ?? '');
    if (
      current?.refreshTokenHash !== undefined &&
      constantTimeEqual(current.refreshTokenHash, presentedHash) &&
      [...scopeTokens(request.scope)].some((s) => !granted.has(s))
    ) {
      throw new InvalidScopeError('The requested scope exceeds the scope of the grant');
    }
  }
  const next = newRefreshToken(connectionId, deps.random);
  const swap = await deps.connections.swapRefreshToken(connectionId, {
    expectedHash: presentedHash,
    newHash: hashSecret(next),
    now: deps.clock.now(),
  });
  if (swap.outcome === 'conflict') {
    if (swap.connection?.status === 'active' && swap.connection.previousRefreshTokenHashes.includes(presentedHash)) {
      await endConnection(deps, connectionId, 'refresh_token_reused', 'refresh token reused');
      throw new InvalidGrantError('The refresh token was already used; the authorization has been revoked');
    }
    throw new InvalidGrantError('The refresh token is not valid');
  }
  if (!constantTimeEqual(swap.connection.clientId, clientId)) {
    await endConnection(deps, connectionId, 'client_mismatch', 'refresh token presented by another client');
    throw new InvalidGrantError('The refresh token was issued to another client');
  }
  deps.log('info', 'tokens issued', { connectionId, grant: 'refresh_token' });
  return tokenResponse(swap.connection, next, deps);
};

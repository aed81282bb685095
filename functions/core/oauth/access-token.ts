/**
 * Our access tokens: JWTs in the RFC 9068 profile, signed with a key from
 * TOKEN_SIGNING_KEY (see signing-keys.ts), checked against the connection on
 * every use so that revocation takes effect at once.
 *
 * Header: `typ: at+jwt`, `alg`, `kid`. Claims: iss, aud, sub (the upstream
 * subject), client_id, iat, exp, jti, scope, plus `cid` (connection id) and
 * `gen` (the connection's token generation when the token was minted).
 *
 * `authenticateBearer` is what resource endpoints (unfurl, deleted-token) call:
 * a local signature check, then exactly one `ConnectionStore.get`. A token
 * that verified once is remembered for the rest of its life in this execution
 * environment (`verifiedTokenCache`, docs/adr/0093); its connection is still
 * read on every use.
 */
import { type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock, Connection, ConnectionStore, Random } from '#core/ports.js';
import { sha256Hex } from '#shared/crypto.js';
import { AppError } from '#shared/errors.js';
import { isConnectionId, isSubject, isTokenId } from './ids.js';
import type { SigningKeySet, SigningKeySource } from './signing-keys.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenSettings {
  /** Our issuer identifier (PUBLIC_BASE_URL). */
  readonly issuer: string;
  /** The audience our resource endpoints accept (PUBLIC_BASE_URL). */
  readonly audience: string;
  readonly keys: SigningKeySource;
  readonly ttlSeconds: number;
  /** Tokens that verified, so that the same token is not verified again (absent: every use verifies). */
  readonly verified?: VerifiedTokenCache;
}

export interface AccessTokenClaims {
  readonly sub: string;
  readonly clientId: string;
  readonly scope: string;
  readonly connectionId: string;
  readonly generation: number;
  readonly jti: string;
  readonly expiresAt: number;
}

/**
 * The challenge of every refused request, with or without a token (docs/protocol.md Part A: a missing,
 * invalid, expired or revoked token gets `error="invalid_token"`; RFC 6750 §3.1 allows it, as a SHOULD NOT).
 */
const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/** 401 for a missing, malformed, expired, revoked or otherwise unusable bearer token (RFC 6750 §3.1). */
export class InvalidTokenError extends AppError {
  override readonly name = 'InvalidTokenError';
  constructor(message = 'The access token is missing, invalid, expired or revoked') {
    super(401, 'invalid_token', message, { headers: { 'www-authenticate': INVALID_TOKEN_CHALLENGE } });
  }

  override toBody(): unknown {
    return { error: { status: 401, message: this.message } };
  }
}

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Extracts the token from an Authorization header value; undefined unless it is a well-formed Bearer credential. */
export const parseBearer = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  const token = match?.[1];
  return token !== undefined && B64TOKEN.test(token) ? token : undefined;
};

/** Mints an access token for an active connection. */
export const issueAccessToken = async (
  connection: Pick<Connection, 'id' | 'subject' | 'clientId' | 'scope' | 'tokenGeneration'>,
  settings: AccessTokenSettings,
  deps: { readonly clock: Clock; readonly random: Random },
): Promise<{ readonly token: string; readonly expiresIn: number }> => {
  const { current } = await settings.keys();
  const iat = Math.floor(deps.clock.now() / 1000);
  const token = await new SignJWT({
    client_id: connection.clientId,
    scope: connection.scope,
    cid: connection.id,
    gen: connection.tokenGeneration,
  })
    .setProtectedHeader({ alg: current.alg, typ: ACCESS_TOKEN_TYPE, kid: current.kid })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(connection.subject)
    .setIssuedAt(iat)
    .setExpirationTime(iat + settings.ttlSeconds)
    .setJti(deps.random.uuid())
    .sign(current.signKey);
  return { token, expiresIn: settings.ttlSeconds };
};

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Seconds of clock skew allowed on `exp` (and `nbf`), in the signature check and for remembered tokens alike. */
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Access tokens whose signature and claims checked out, by SHA-256 of the
 * token (the token itself is not kept). Notion sends the same access token
 * with every request until it expires; jose verifies it through WebCrypto, a
 * hop to another thread and back on each call, which the unfurl would
 * otherwise pay every time (docs/adr/0093).
 *
 * A remembered token counts only under the very key set that verified it (a
 * changed TOKEN_SIGNING_KEY verifies again), and only while `exp` (and `nbf`,
 * if present) allow it at the current time. Tokens that fail are never
 * remembered. At most `maxEntries`; the oldest goes first.
 */
export interface VerifiedTokenCache {
  get(token: string, keys: SigningKeySet, nowMs: number): AccessTokenClaims | undefined;
  set(token: string, keys: SigningKeySet, claims: AccessTokenClaims, notBeforeMs?: number): void;
  readonly size: number;
}

export const verifiedTokenCache = (maxEntries = 1000): VerifiedTokenCache => {
  const entries = new Map<
    string,
    { readonly keys: SigningKeySet; readonly claims: AccessTokenClaims; readonly notBeforeMs: number }
  >();
  const tolerance = CLOCK_TOLERANCE_SECONDS * 1000;
  return {
    get(token, keys, nowMs) {
      const id = sha256Hex(token);
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.keys !== keys || nowMs >= entry.claims.expiresAt + tolerance) {
        entries.delete(id);
        return undefined;
      }
      return nowMs + tolerance >= entry.notBeforeMs ? entry.claims : undefined;
    },
    set(token, keys, claims, notBeforeMs = 0) {
      if (maxEntries <= 0) return;
      const id = sha256Hex(token);
      entries.delete(id);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      entries.set(id, { keys, claims, notBeforeMs });
    },
    get size() {
      return entries.size;
    },
  };
};

/** Verifies signature, type, issuer, audience and lifetime; returns our claims or throws InvalidTokenError. */
export const verifyAccessToken = async (
  token: string,
  settings: AccessTokenSettings,
  clock: Clock,
): Promise<AccessTokenClaims> => {
  const keys = await settings.keys();
  const now = clock.now();
  const remembered = settings.verified?.get(token, keys, now);
  if (remembered) return remembered;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : keys.byKid.get(header.kid);
        if (!key || key.alg !== header.alg) throw new joseErrors.JWKSNoMatchingKey();
        return key.verifyKey;
      },
      {
        issuer: settings.issuer,
        audience: settings.audience,
        typ: ACCESS_TOKEN_TYPE,
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti'],
      },
    ));
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) throw new InvalidTokenError();
    throw error;
  }
  const { sub, jti, exp, nbf, client_id: clientId, scope, cid, gen } = payload as JWTPayload & Record<string, unknown>;
  if (
    !isSubject(sub) ||
    !isTokenId(jti) ||
    typeof exp !== 'number' ||
    !isString(clientId) ||
    typeof scope !== 'string'
  ) {
    throw new InvalidTokenError();
  }
  if (!isConnectionId(cid) || typeof gen !== 'number' || !Number.isInteger(gen)) throw new InvalidTokenError();
  const claims = { sub, jti, clientId, scope, connectionId: cid, generation: gen, expiresAt: exp * 1000 };
  settings.verified?.set(token, keys, claims, typeof nbf === 'number' ? nbf * 1000 : 0);
  return claims;
};

export interface BearerDependencies {
  readonly connections: Pick<ConnectionStore, 'get'>;
  readonly tokens: AccessTokenSettings;
  readonly clock: Clock;
}

/**
 * The claims of the Bearer token in an Authorization header value, once its
 * signature, type, issuer, audience and lifetime checked out; throws
 * InvalidTokenError. Reads nothing: the connection is checked by `checkConnection`.
 */
export const bearerClaims = async (
  authorization: string | undefined,
  tokens: AccessTokenSettings,
  clock: Clock,
): Promise<AccessTokenClaims> => {
  const token = parseBearer(authorization);
  if (token === undefined) throw new InvalidTokenError('A Bearer access token is required');
  return verifyAccessToken(token, tokens, clock);
};

/**
 * The connection the claims name, if it is active and the token is of its
 * current generation, subject and client; else InvalidTokenError (a revoked or
 * disconnected connection's tokens are refused at once).
 */
export const checkConnection = (claims: AccessTokenClaims, connection: Connection | undefined): Connection => {
  if (
    connection?.status !== 'active' ||
    connection.tokenGeneration !== claims.generation ||
    connection.subject !== claims.sub ||
    connection.clientId !== claims.clientId
  ) {
    throw new InvalidTokenError();
  }
  return connection;
};

/**
 * Authenticates a request from its Authorization header value: returns the
 * active connection the token belongs to, or throws InvalidTokenError.
 * Performs one `ConnectionStore.get` (none when the token itself is bad).
 */
export const authenticateBearer = async (
  authorization: string | undefined,
  deps: BearerDependencies,
): Promise<Connection> => {
  const claims = await bearerClaims(authorization, deps.tokens, deps.clock);
  return checkConnection(claims, await deps.connections.get(claims.connectionId));
};

/**
 * Service assertions (docs/adr/0128): short-lived JWTs the service signs to
 * call a product as one of its users, for products that do not take the
 * upstream provider's tokens. Signed with the asymmetric assertion key of
 * TOKEN_SIGNING_KEY (ES256 or EdDSA); the product verifies them with the
 * public keys at `${iss}/.well-known/jwks.json`:
 *
 *   header  { alg, kid, typ: "JWT" }
 *   claims  { iss: PUBLIC_BASE_URL, sub: the user's upstream subject,
 *             aud: the product API, iat, exp: iat + 60 }
 *
 * An adapter signs one only inside `resolve`, which runs after the bearer
 * token and the connection were checked (docs/adr/0109).
 */
import { SignJWT } from 'jose';
import type { SigningKeySource } from '#core/oauth/signing-keys.js';
import { ConfigError } from '#shared/errors.js';

/** Lifetime of one assertion. */
export const SERVICE_ASSERTION_TTL_SECONDS = 60;

/** What an adapter is given to sign assertions with. */
export interface ServiceAssertions {
  /** Our issuer: the service's public base URL (the JWKS is at `${issuer}/.well-known/jwks.json`). */
  readonly issuer: string;
  /** A JWT asserting `subject` to `audience`; the same one is reused until half its lifetime has passed. */
  sign(subject: string, audience: string): Promise<string>;
}

export interface ServiceAssertionOptions {
  readonly issuer: string;
  readonly keys: SigningKeySource;
  readonly now?: () => number;
  readonly ttlSeconds?: number;
}

export const serviceAssertions = (options: ServiceAssertionOptions): ServiceAssertions => {
  const now = options.now ?? Date.now;
  const ttl = options.ttlSeconds ?? SERVICE_ASSERTION_TTL_SECONDS;
  const cache = new Map<string, { token: string; renewAt: number }>();
  return {
    issuer: options.issuer,
    async sign(subject, audience) {
      const keys = (await options.keys()).assertion;
      if (!keys) throw new ConfigError('TOKEN_SIGNING_KEY holds no service-assertion key (see docs/adr/0128)');
      const key = `${keys.current.kid}\n${audience}\n${subject}`;
      const t = now();
      const hit = cache.get(key);
      if (hit && hit.renewAt > t) return hit.token;
      const iat = Math.floor(t / 1000);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: keys.current.alg, kid: keys.current.kid, typ: 'JWT' })
        .setIssuer(options.issuer)
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .sign(keys.current.signKey);
      if (cache.size >= 1000) cache.clear();
      cache.set(key, { token, renewAt: t + (ttl * 1000) / 2 });
      return token;
    },
  };
};

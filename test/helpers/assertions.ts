/**
 * Service assertions for tests (docs/adr/0128): a signer over fixed key
 * material, and the public keys a product verifies with, as the service's
 * GET /.well-known/jwks.json would serve them.
 */
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import { cachedKeySource, parseSigningKeys } from '#core/oauth/signing-keys.js';
import { type ServiceAssertions, serviceAssertions } from '#core/sources/assertions.js';

export const TEST_SERVICE_ISSUER = 'http://127.0.0.1:3000';
export const TEST_SIGNING_MATERIAL = 'test-token-signing-key-material-of-some-length';

export interface TestAssertions {
  readonly issuer: string;
  readonly assertions: ServiceAssertions;
  /** The published public keys, for `jwtVerify` (and a DemoProduct's `serviceKeys`). */
  readonly verifyKeys: JWTVerifyGetKey;
}

export const testAssertions = async (
  options: { material?: string; issuer?: string; now?: () => number } = {},
): Promise<TestAssertions> => {
  const material = options.material ?? TEST_SIGNING_MATERIAL;
  const issuer = options.issuer ?? TEST_SERVICE_ISSUER;
  const published = (await parseSigningKeys(material)).assertion?.published ?? [];
  return {
    issuer,
    assertions: serviceAssertions({
      issuer,
      keys: cachedKeySource(async () => material),
      ...(options.now ? { now: options.now } : {}),
    }),
    verifyKeys: createLocalJWKSet({ keys: [...published] }),
  };
};

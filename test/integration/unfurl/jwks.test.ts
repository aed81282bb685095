/**
 * GET /.well-known/jwks.json on the local system (docs/adr/0128): it serves
 * the public service-assertion keys; a product verifying with jose's
 * `createRemoteJWKSet` accepts the service's assertions and rejects a token
 * signed by another key; the demo product verifies its requests this way, so
 * a demo unfurl works end to end.
 */
import { describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { serviceAssertionsFromConfig } from '#adapters/config/service-assertions.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import { parseConfig } from '#shared/config.js';
import { useLocalSystem } from '#test/helpers/system.js';

const system = useLocalSystem({ workerLoop: false });
const AUDIENCE = 'https://product.example/api';

describe('GET /.well-known/jwks.json', () => {
  it('serves the public keys only, cacheable', async () => {
    const r = await fetch(`${system().baseUrl}/.well-known/jwks.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=300');
    const { keys } = (await r.json()) as { keys: Array<Record<string, unknown>> };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key.d).toBeUndefined();
      expect(typeof key.kid).toBe('string');
    }
  });

  it("a product verifying with createRemoteJWKSet accepts the service's assertions and rejects another key's", async () => {
    const issuer = system().env.PUBLIC_BASE_URL ?? system().baseUrl;
    const keys = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    const signer = serviceAssertionsFromConfig(parseConfig(system().env), loadSecret);
    const good = await signer.sign('u-alice', AUDIENCE);
    const { payload } = await jwtVerify(good, keys, { issuer, audience: AUDIENCE });
    expect(payload.sub).toBe('u-alice');

    const [kid] = [JSON.parse(Buffer.from(good.split('.')[0] ?? '', 'base64url').toString()).kid as string];
    const other = await generateKeyPair('EdDSA');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid })
      .setIssuer(issuer)
      .setSubject('u-alice')
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(other.privateKey);
    await expect(jwtVerify(forged, keys, { issuer, audience: AUDIENCE })).rejects.toThrow();
  });

  it('the demo product verifies the demo adapter this way: a demo link unfurls', async () => {
    const bob = new NotionDriver({
      baseUrl: system().baseUrl,
      formValues: { login: 'bob', password: 'bob-password', decision: 'allow' },
    });
    await bob.open();
    await bob.signIn();
    const preview = await bob.paste(`${system().baseUrl}/demo/tasks/1`);
    expect(preview.state).toBe('card');
    expect(preview.failure).toBeUndefined();
  }, 30_000);
});

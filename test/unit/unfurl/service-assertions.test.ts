/**
 * Service assertions (docs/adr/0128): keys held by TOKEN_SIGNING_KEY, rotated
 * through it, signed by the service, verified by a product with jose.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import { demoApiAudience } from '#adapters/sources/demo-product.js';
import { sourceAdapterFromConfig } from '#adapters/sources/registry.js';
import { parseSigningKeys } from '#core/oauth/signing-keys.js';
import { serviceAssertions } from '#core/sources/assertions.js';
import { noCredentials } from '#core/sources/credentials.js';
import type { FetchFunction } from '#core/sources/source-adapter.js';
import { demoRules, matchUri } from '#core/unfurl/rules.js';
import { parseConfig, type SecretRef } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';
import { publicJwk } from '../../../functions/handlers/jwks.js';

const OLD = 'previous-token-signing-secret-of-32-chars-at-least';
const NEW = 'current-token-signing-secret-of-32-chars-at-least!';
const ISSUER = 'https://previews.example.com';
const AUDIENCE = 'https://product.example.com/api';

const verifierOf = async (material: string) =>
  createLocalJWKSet({ keys: [...((await parseSigningKeys(material)).assertion?.published ?? [])] });

describe('assertion keys in TOKEN_SIGNING_KEY', () => {
  it('plain secrets each derive an Ed25519 key: the first signs, all are published, public parts only', async () => {
    const one = await parseSigningKeys(NEW);
    const two = await parseSigningKeys(`${NEW} ${OLD}`);
    expect(one.assertion?.current.alg).toBe('EdDSA');
    expect(two.assertion?.current.kid).toBe(one.assertion?.current.kid);
    expect(two.assertion?.published.map((k) => k.kid)).toEqual([
      one.assertion?.current.kid,
      (await parseSigningKeys(OLD)).assertion?.current.kid,
    ]);
    for (const jwk of two.assertion?.published ?? []) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    }
    // Derived with its own info string: not the HMAC key of the access tokens.
    expect(two.assertion?.current.kid).not.toBe(two.current.kid);
  });

  it('a JWK Set may name them in "assertion_keys" (ES256 here); the first must be private', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const old = await exportJWK((await generateKeyPair('EdDSA', { extractable: true })).publicKey);
    const set = {
      keys: [{ kty: 'oct', kid: 'hs', k: Buffer.alloc(32, 7).toString('base64url') }],
      assertion_keys: [
        { ...(await exportJWK(privateKey)), kid: 'sa-2' },
        { ...old, kid: 'sa-1' },
      ],
    };
    const keys = await parseSigningKeys(JSON.stringify(set));
    expect(keys.assertion?.current).toMatchObject({ kid: 'sa-2', alg: 'ES256' });
    expect(keys.assertion?.published.map((k) => [k.kid, k.alg, k.d])).toEqual([
      ['sa-2', 'ES256', undefined],
      ['sa-1', 'EdDSA', undefined],
    ]);
    const token = await serviceAssertions({ issuer: ISSUER, keys: async () => keys }).sign('u-1', AUDIENCE);
    await expect(
      jwtVerify(token, await exportJWK(publicKey).then((j) => createLocalJWKSet({ keys: [{ ...j, kid: 'sa-2' }] })), {
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
    ).resolves.toBeDefined();
    await expect(
      parseSigningKeys(JSON.stringify({ ...set, assertion_keys: [{ ...old, kid: 'sa-1' }] })),
    ).rejects.toThrow(/must be private/);
    await expect(
      parseSigningKeys(JSON.stringify({ ...set, assertion_keys: [{ ...set.keys[0], kid: 'x' }] })),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('the JWKS handler serves public members only, whatever a key holds', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'k', alg: 'ES256', use: 'sig' };
    expect(jwk.d).toBeDefined();
    expect(publicJwk(jwk).d).toBeUndefined();
    expect(Object.keys(publicJwk(jwk)).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });
});

describe('a product verifying with jose', () => {
  it("accepts the service's assertions and rejects a token signed by another key", async () => {
    const assertions = serviceAssertions({ issuer: ISSUER, keys: async () => parseSigningKeys(NEW) });
    const keys = await verifierOf(NEW);
    const good = await assertions.sign('u-alice', AUDIENCE);
    const { payload, protectedHeader } = await jwtVerify(good, keys, { issuer: ISSUER, audience: AUDIENCE });
    expect(payload).toMatchObject({ iss: ISSUER, sub: 'u-alice', aud: AUDIENCE });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);
    expect(protectedHeader.kid).toBe((await parseSigningKeys(NEW)).assertion?.current.kid);

    // The same claims and kid, signed by a key the service never published.
    const other = await generateKeyPair('EdDSA');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: protectedHeader.kid as string })
      .setIssuer(ISSUER)
      .setSubject('u-alice')
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(other.privateKey);
    await expect(jwtVerify(forged, keys, { issuer: ISSUER, audience: AUDIENCE })).rejects.toThrow();
    // Another audience is refused too (an assertion for one product is no good at another).
    await expect(jwtVerify(good, keys, { issuer: ISSUER, audience: 'https://other.example/api' })).rejects.toThrow();
  });

  it('after a rotation (new secret first, old second), old and new assertions verify; after it, only new', async () => {
    const before = await serviceAssertions({ issuer: ISSUER, keys: async () => parseSigningKeys(OLD) }).sign(
      'u-1',
      AUDIENCE,
    );
    const during = await verifierOf(`${NEW} ${OLD}`);
    await expect(jwtVerify(before, during, { issuer: ISSUER, audience: AUDIENCE })).resolves.toBeDefined();
    await expect(jwtVerify(before, await verifierOf(NEW), { issuer: ISSUER, audience: AUDIENCE })).rejects.toThrow();
  });
});

describe('the demo adapter signs with the key of TOKEN_SIGNING_KEY (or its secret)', () => {
  const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nlp-signing-AbCdEf';
  const rules = demoRules(ISSUER);
  const identity = { subject: 'u-alice', displayName: 'Alice', connectionId: 'c1' };
  const ctx = () => ({ signal: new AbortController().signal, deadline: Date.now() + 1000 });

  it.each(['demo', 'example'])('%s: the key loaded now signs (rotation applies without a restart)', async (name) => {
    let current = OLD;
    const tokens: string[] = [];
    const fetch: FetchFunction = async (_url, init) => {
      tokens.push(String(new Headers(init?.headers).get('authorization')).replace(/^Bearer /, ''));
      return new Response('{}', { status: 404 });
    };
    const adapter = sourceAdapterFromConfig({
      config: parseConfig({ PUBLIC_BASE_URL: ISSUER, SOURCE_ADAPTER: name, TOKEN_SIGNING_KEY_SECRET_ARN: ARN }),
      loadSecret: async (ref: SecretRef) => {
        expect(ref).toEqual({ secretArn: ARN });
        return current;
      },
      fetch,
    });
    const match = matchUri(rules, `${ISSUER}/demo/tasks/1`)!;
    await adapter.resolve(match, identity, noCredentials, ctx());
    current = NEW;
    await adapter.resolve(match, identity, noCredentials, ctx());
    const audience = demoApiAudience(`${ISSUER}/demo`);
    await expect(
      jwtVerify(tokens[0] ?? '', await verifierOf(OLD), { issuer: ISSUER, audience }),
    ).resolves.toBeDefined();
    const { payload } = await jwtVerify(tokens[1] ?? '', await verifierOf(NEW), { issuer: ISSUER, audience });
    expect(payload.sub).toBe('u-alice');
  });
});

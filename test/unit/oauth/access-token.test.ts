import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { MemoryConnectionStore } from '#adapters/memory/index.js';
import { authenticateBearer, InvalidTokenError, issueAccessToken, parseBearer } from '#core/oauth/access-token.js';
import { cachedKeySource, parseSigningKeys } from '#core/oauth/signing-keys.js';
import { ConfigError } from '#shared/errors.js';
import { activeConnection, FakeClock, ISSUER, realRandom, tokenSettings } from './fakes.js';

const connection = activeConnection;

const setup = async (settings = tokenSettings()) => {
  const clock = new FakeClock();
  const connections = new MemoryConnectionStore();
  await connections.create(connection());
  const { token } = await issueAccessToken(connection(), settings, { clock, random: realRandom });
  return { clock, connections, token, deps: { connections, tokens: settings, clock } };
};

const rejects = async (p: Promise<unknown>) => {
  await expect(p).rejects.toBeInstanceOf(InvalidTokenError);
};

describe('access tokens', () => {
  it('are RFC 9068 JWTs with kid, the connection id and the token generation', async () => {
    const { token } = await setup();
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'at+jwt', alg: 'HS256', kid: expect.any(String) });
    expect(decodeJwt(token)).toMatchObject({
      iss: ISSUER,
      aud: ISSUER,
      sub: 'u-alice',
      client_id: 'notion-client',
      scope: 'unfurl',
      cid: 'c-1',
      gen: 0,
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
  });

  it('authenticate the active connection with one store read', async () => {
    const { token, deps, connections } = await setup();
    let reads = 0;
    const counting = {
      get: async (id: string) => {
        reads += 1;
        return connections.get(id);
      },
    };
    await expect(authenticateBearer(`Bearer ${token}`, { ...deps, connections: counting })).resolves.toMatchObject({
      id: 'c-1',
    });
    expect(reads).toBe(1);
  });

  it('are refused once the connection is revoked (generation bumped)', async () => {
    const { token, deps, connections, clock } = await setup();
    await connections.end('c-1', { status: 'revoked', reason: 'test', now: clock.now() });
    await rejects(authenticateBearer(`Bearer ${token}`, deps));
  });

  it('are refused after they expire', async () => {
    const { token, deps, clock } = await setup();
    clock.advance(3600 * 1000 + 10_000);
    await rejects(authenticateBearer(`Bearer ${token}`, deps));
  });

  it('are refused when tampered with, missing, or signed with an unknown key', async () => {
    const { token, deps } = await setup();
    await rejects(authenticateBearer(undefined, deps));
    await rejects(authenticateBearer(`Basic ${token}`, deps));
    await rejects(authenticateBearer(`Bearer ${token.slice(0, -2)}xx`, deps));
    const other = await setup(tokenSettings('another-signing-secret-0123456789abcdef'));
    await rejects(authenticateBearer(`Bearer ${other.token}`, deps));
    const error = await authenticateBearer(undefined, deps).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    expect((error as InvalidTokenError).toBody()).toEqual({ error: { status: 401, message: expect.any(String) } });
  });

  it('survive a key rotation while the previous key is still listed, not after it is removed', async () => {
    const oldKey = 'old-signing-secret-0123456789abcdefghij';
    const newKey = 'new-signing-secret-0123456789abcdefghij';
    const { token, deps } = await setup(tokenSettings(oldKey));
    await expect(
      authenticateBearer(`Bearer ${token}`, { ...deps, tokens: tokenSettings(`${newKey} ${oldKey}`) }),
    ).resolves.toBeDefined();
    await rejects(authenticateBearer(`Bearer ${token}`, { ...deps, tokens: tokenSettings(newKey) }));
  });

  it('can be signed with an asymmetric key from a JWK Set (ES256) and verified after rotation', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'k1' };
    const set = JSON.stringify({ keys: [jwk] });
    const { token, deps } = await setup(tokenSettings(set));
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: 'k1' });
    const { d: _d, ...publicOnly } = jwk;
    const rotated = JSON.stringify({
      keys: [{ kty: 'oct', kid: 'k2', k: Buffer.alloc(32, 1).toString('base64url') }, publicOnly],
    });
    await expect(
      authenticateBearer(`Bearer ${token}`, { ...deps, tokens: tokenSettings(rotated) }),
    ).resolves.toBeDefined();
  });

  it('reject unusable key material by name without echoing it', async () => {
    await expect(parseSigningKeys('short')).rejects.toThrow(ConfigError);
    await expect(parseSigningKeys('{"keys":[]}')).rejects.toThrow(/non-empty/);
    await expect(parseSigningKeys('{"keys":[{"kty":"oct","k":"AAAA","kid":"x"}]}')).rejects.toThrow(/32 bytes/);
    const source = cachedKeySource(async () => 'short');
    await expect(source()).rejects.toThrow(ConfigError);
    await expect(parseSigningKeys('short')).rejects.not.toThrow(/short/);
  });
});

describe('Bearer header parsing', () => {
  it('extracts exactly well-formed RFC 6750 credentials', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9\-._~+/]+=*$/),
        fc.constantFrom('Bearer', 'bearer', 'BEARER'),
        (token, scheme) => {
          return parseBearer(`${scheme} ${token}`) === token;
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (value) => {
        const token = parseBearer(value);
        return token === undefined || /^[A-Za-z0-9\-._~+/]+=*$/.test(token);
      }),
    );
    expect(parseBearer('Bearer')).toBeUndefined();
    expect(parseBearer('Bearer a b')).toBeUndefined();
    expect(parseBearer('Token abc')).toBeUndefined();
  });
});

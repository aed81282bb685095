import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { MemoryConnectionStore } from '#adapters/memory/index.js';
import {
  authenticateBearer,
  InvalidTokenError,
  issueAccessToken,
  parseBearer,
  verifiedTokenCache,
} from '#core/oauth/access-token.js';
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
    // docs/protocol.md Part A: a missing token (or another scheme) is answered like an invalid one.
    expect(error).toMatchObject({ statusCode: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    expect((error as InvalidTokenError).toBody()).toEqual({ error: { status: 401, message: expect.any(String) } });
    for (const authorization of ['', 'Basic dXNlcjpwYXNz', 'Token abc']) {
      const refused = await authenticateBearer(authorization, deps).catch((e: unknown) => e);
      expect(refused).toMatchObject({
        statusCode: 401,
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    }
    // A Bearer credential that is presented but unusable keeps its error code.
    for (const authorization of ['Bearer', 'Bearer a b', 'bearer "quoted"', `Bearer ${token}x`]) {
      const bad = await authenticateBearer(authorization, deps).catch((e: unknown) => e);
      expect(bad).toMatchObject({ statusCode: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    }
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

describe('remembered access tokens (ADR 0093)', () => {
  /** Settings with a cache, over key material that a test may change. */
  const remembering = (material = { current: 'remembering-signing-secret-0123456789abcdef' }, maxEntries?: number) => {
    const verified = verifiedTokenCache(maxEntries);
    return {
      verified,
      material,
      settings: { ...tokenSettings(), keys: cachedKeySource(async () => material.current), verified },
    };
  };
  /** Counts WebCrypto signature checks, which is how jose verifies. */
  const countingVerify = () => {
    const spy = jest.spyOn(crypto.subtle, 'verify');
    return { calls: () => spy.mock.calls.length, restore: () => spy.mockRestore() };
  };

  it('verify a token once, then take it from memory while it lives, still reading the connection each time', async () => {
    const { settings, verified } = remembering();
    const { token, deps, connections } = await setup(settings);
    let reads = 0;
    const counting = {
      get: async (id: string) => {
        reads += 1;
        return connections.get(id);
      },
    };
    const signatureChecks = countingVerify();
    try {
      for (let i = 0; i < 3; i++)
        await expect(authenticateBearer(`Bearer ${token}`, { ...deps, connections: counting })).resolves.toMatchObject({
          id: 'c-1',
        });
      expect(signatureChecks.calls()).toBe(1);
    } finally {
      signatureChecks.restore();
    }
    expect(reads).toBe(3);
    expect(verified.size).toBe(1);
  });

  it('do not outlive revocation: the connection read refuses a remembered token at once', async () => {
    const { settings } = remembering();
    const { token, deps, connections, clock } = await setup(settings);
    await authenticateBearer(`Bearer ${token}`, deps);
    await connections.end('c-1', { status: 'revoked', reason: 'test', now: clock.now() });
    await rejects(authenticateBearer(`Bearer ${token}`, deps));
  });

  it('are forgotten and refused once they expire (5 s of clock skew, as in the signature check)', async () => {
    const { settings, verified } = remembering();
    const { token, deps, clock } = await setup(settings);
    await authenticateBearer(`Bearer ${token}`, deps);
    clock.advance(3600 * 1000 + 4_000);
    await expect(authenticateBearer(`Bearer ${token}`, deps)).resolves.toBeDefined();
    clock.advance(2_000);
    await rejects(authenticateBearer(`Bearer ${token}`, deps));
    expect(verified.size).toBe(0);
  });

  it('count only under the key set that verified them: a token of a removed key is refused after rotation', async () => {
    const oldKey = 'old-signing-secret-0123456789abcdefghij';
    const newKey = 'new-signing-secret-0123456789abcdefghij';
    const { settings, material } = remembering({ current: oldKey });
    const { token, deps } = await setup(settings);
    await authenticateBearer(`Bearer ${token}`, deps);
    material.current = `${newKey} ${oldKey}`;
    await expect(authenticateBearer(`Bearer ${token}`, deps)).resolves.toBeDefined();
    material.current = newKey;
    await rejects(authenticateBearer(`Bearer ${token}`, deps));
  });

  it('are never remembered when they fail, so a forged token is checked every time', async () => {
    const { settings, verified } = remembering();
    const { token, deps } = await setup(settings);
    const forged = `${token.slice(0, -2)}xx`;
    const signatureChecks = countingVerify();
    try {
      await rejects(authenticateBearer(`Bearer ${forged}`, deps));
      await rejects(authenticateBearer(`Bearer ${forged}`, deps));
      expect(signatureChecks.calls()).toBe(2);
    } finally {
      signatureChecks.restore();
    }
    expect(verified.size).toBe(0);
    const other = await setup(tokenSettings('another-signing-secret-0123456789abcdef'));
    await rejects(authenticateBearer(`Bearer ${other.token}`, deps));
    expect(verified.size).toBe(0);
  });

  it('hold at most maxEntries, the oldest leaving first, and honour nbf', () => {
    const cache = verifiedTokenCache(2);
    const keys = { current: {}, byKid: new Map() } as unknown as Parameters<typeof cache.get>[1];
    const claims = (jti: string) => ({
      sub: 'u',
      jti,
      clientId: 'c',
      scope: 'unfurl',
      connectionId: 'c-1',
      generation: 0,
      expiresAt: 10_000_000,
    });
    cache.set('token-a', keys, claims('a'));
    cache.set('token-b', keys, claims('b'));
    cache.set('token-c', keys, claims('c'), 60_000);
    expect(cache.size).toBe(2);
    expect(cache.get('token-a', keys, 0)).toBeUndefined();
    expect(cache.get('token-b', keys, 0)?.jti).toBe('b');
    expect(cache.get('token-c', keys, 50_000)).toBeUndefined(); // nbf 60 s, 5 s of skew: not before 55 s
    expect(cache.get('token-c', keys, 55_000)?.jti).toBe('c');
    expect(verifiedTokenCache(0).size).toBe(0);
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

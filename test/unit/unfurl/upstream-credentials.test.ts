/**
 * Upstream credentials that stay valid (docs/adr/0127): refresh before expiry,
 * one refresh for concurrent callers, rotating and non-rotating refresh tokens,
 * a refused refresh marks the connection, and a source 401 gets one refresh and
 * one retry.
 */
import { describe, expect, it } from '@jest/globals';
import { MemoryConnectionStore } from '#adapters/memory/connection-store.js';
import { httpJsonAdapter, parseHttpJsonMapping } from '#adapters/sources/http-json.js';
import { legacyUpstreamTokenContext, upstreamTokenContext } from '#core/oauth/cipher-contexts.js';
import type { Connection } from '#core/ports.js';
import { type UpstreamRefresh, type UpstreamTokenKeeping, upstreamCredentials } from '#core/sources/credentials.js';
import { SourceUnavailableError } from '#core/sources/source-adapter.js';
import { needsRefresh, type StoredUpstreamTokens, tokensFromPlaintext } from '#core/sources/stored-tokens.js';
import { renderResource } from '#core/unfurl/render.js';
import { matchUri, parseIntegration } from '#core/unfurl/rules.js';
import { fakeCipher } from '#test/unit/updates/harness.js';

const T0 = 1_800_000_000_000;
const SUBJECT = 'u-bob';
const CONNECTION_ID = 'c1';

const encrypt = (tokens: StoredUpstreamTokens) =>
  fakeCipher.encrypt(JSON.stringify(tokens), upstreamTokenContext(CONNECTION_ID));
const decrypt = async (c: Connection | undefined) =>
  c?.upstreamTokenCiphertext === undefined
    ? undefined
    : tokensFromPlaintext(await fakeCipher.decrypt(c.upstreamTokenCiphertext, upstreamTokenContext(CONNECTION_ID)));

const connectionWith = async (tokens: StoredUpstreamTokens): Promise<Connection> => ({
  id: CONNECTION_ID,
  subject: SUBJECT,
  displayName: 'Bob',
  clientId: 'notion',
  scope: '',
  notion: { workspaceId: 'w1', workspaceName: null, workspaceIcon: null, botId: 'b1' },
  notionTokenCiphertext: 'n',
  upstreamTokenCiphertext: await encrypt(tokens),
  status: 'active',
  tokenGeneration: 1,
  previousRefreshTokenHashes: [],
  createdAt: T0,
  updatedAt: T0,
});

/** A provider whose answers are scripted; counts the refresh tokens it was given. */
const provider = (answer: (refreshToken: string, n: number) => Promise<UpstreamRefresh>) => {
  const used: string[] = [];
  return {
    used,
    refresher: async () => ({
      refresh: (refreshToken: string) => {
        used.push(refreshToken);
        return answer(refreshToken, used.length);
      },
    }),
  };
};

const setup = async (tokens: StoredUpstreamTokens, p: ReturnType<typeof provider>, now = () => T0) => {
  const store = new MemoryConnectionStore();
  const connection = await connectionWith(tokens);
  await store.create(connection);
  const events: string[] = [];
  const keeping: UpstreamTokenKeeping = {
    store,
    refresher: p.refresher,
    now,
    sleep: () => new Promise((r) => setTimeout(r, 1)),
    observe: (event) => events.push(event),
  };
  const credentialsOf = async () =>
    upstreamCredentials((await store.get('c1')) as Connection, async () => fakeCipher, keeping);
  return { store, connection, keeping, events, credentialsOf };
};

const expired = { accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: T0 - 1, obtainedAt: T0 - 600_000 };

describe('refresh margin', () => {
  it('refreshes within a quarter of the lifetime, at most 30 s before expiry', () => {
    const short = { accessToken: 'a', expiresAt: T0 + 2_000, obtainedAt: T0 };
    expect(needsRefresh(short, T0 + 1_400)).toBe(false);
    expect(needsRefresh(short, T0 + 1_500)).toBe(true);
    const hour = { accessToken: 'a', expiresAt: T0 + 3_600_000, obtainedAt: T0 };
    expect(needsRefresh(hour, T0 + 3_569_999)).toBe(false);
    expect(needsRefresh(hour, T0 + 3_570_000)).toBe(true);
    expect(needsRefresh({ accessToken: 'a' }, T0 + 1e12)).toBe(false);
  });
});

describe('upstream tokens are bound to their connection (ADR 0165)', () => {
  it('does not read tokens copied from another connection, even one of the same user', async () => {
    const p = provider(async () => ({ outcome: 'refreshed', accessToken: 'x' }));
    const valid = { ...expired, expiresAt: T0 + 600_000, obtainedAt: T0 };
    const s = await setup(valid, p);
    const other = await fakeCipher.encrypt(JSON.stringify({ accessToken: 'at-other' }), upstreamTokenContext('c2'));
    const copied = { ...s.connection, upstreamTokenCiphertext: other };
    expect(await upstreamCredentials(copied, async () => fakeCipher).accessToken()).toBeUndefined();
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-0');
  });

  it('reads tokens stored under the subject before, and stores them again under the connection at a refresh', async () => {
    const p = provider(async (_rt, n) => ({ outcome: 'refreshed', accessToken: `at-${n}`, expiresInSeconds: 600 }));
    const legacy = await fakeCipher.encrypt(JSON.stringify(expired), legacyUpstreamTokenContext(SUBJECT));
    const store = new MemoryConnectionStore();
    await store.create({ ...(await connectionWith(expired)), upstreamTokenCiphertext: legacy });
    const before = (await store.get(CONNECTION_ID)) as Connection;
    // Read as it is (no refresh asked for)…
    expect(await upstreamCredentials(before, async () => fakeCipher).accessToken()).toBe('at-0');
    // …and stored under the connection's context once refreshed.
    const keeping: UpstreamTokenKeeping = { store, refresher: p.refresher, now: () => T0 };
    expect(await upstreamCredentials(before, async () => fakeCipher, keeping).accessToken()).toBe('at-1');
    expect(await decrypt(await store.get(CONNECTION_ID))).toMatchObject({ accessToken: 'at-1' });
  });
});

describe('upstream credentials that stay valid', () => {
  it('uses a token that is still valid as it is: no claim, no provider call', async () => {
    const p = provider(async () => ({ outcome: 'refreshed', accessToken: 'x' }));
    const s = await setup({ ...expired, expiresAt: T0 + 600_000, obtainedAt: T0 }, p);
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-0');
    expect(p.used).toEqual([]);
    expect((await s.store.get('c1'))?.upstreamTokenVersion).toBeUndefined();
  });

  it('refreshes an expired token and stores the rotated tokens encrypted, at the next version', async () => {
    const p = provider(async (_rt, n) => ({
      outcome: 'refreshed',
      accessToken: `at-${n}`,
      refreshToken: `rt-${n}`,
      expiresInSeconds: 600,
    }));
    const s = await setup(expired, p);
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-1');
    const stored = await s.store.get('c1');
    expect(stored?.upstreamTokenVersion).toBe(1);
    expect(stored?.upstreamRefreshUntil).toBeUndefined();
    expect(await decrypt(stored)).toEqual({
      accessToken: 'at-1',
      refreshToken: 'rt-1',
      expiresAt: T0 + 600_000,
      obtainedAt: T0,
    });
    expect(s.events).toEqual(['upstream.refreshed']);
  });

  it('keeps a non-rotating refresh token (Cognito answers without one) for the next refresh', async () => {
    let now = T0;
    const p = provider(async (_rt, n) => ({ outcome: 'refreshed', accessToken: `at-${n}`, expiresInSeconds: 60 }));
    const s = await setup(expired, p, () => now);
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-1');
    expect((await decrypt(await s.store.get('c1')))?.refreshToken).toBe('rt-0');
    now += 61_000;
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-2');
    expect(p.used).toEqual(['rt-0', 'rt-0']);
    expect((await s.store.get('c1'))?.upstreamTokenVersion).toBe(2);
  });

  it('refreshes once for concurrent callers of one connection; the loser of the claim uses the result', async () => {
    let release: (() => void) | undefined;
    const p = provider(
      (_rt, n) =>
        new Promise((resolve) => {
          release = () => resolve({ outcome: 'refreshed', accessToken: `at-${n}`, refreshToken: `rt-${n}` });
        }),
    );
    const s = await setup(expired, p);
    // Both read the connection at version 0 (an unfurl and a worker push, say).
    const [a, b] = [await s.credentialsOf(), await s.credentialsOf()];
    const first = a.accessToken();
    await new Promise((r) => setTimeout(r, 5));
    const second = b.accessToken();
    await new Promise((r) => setTimeout(r, 20));
    release?.();
    expect(await Promise.all([first, second])).toEqual(['at-1', 'at-1']);
    expect(p.used).toEqual(['rt-0']);
    expect(s.events.sort()).toEqual(['upstream.refreshed', 'upstream.waited']);
  });

  it('a caller whose read is stale takes the tokens already stored instead of refreshing again', async () => {
    const p = provider(async (_rt, n) => ({ outcome: 'refreshed', accessToken: `at-${n}`, refreshToken: `rt-${n}` }));
    const s = await setup(expired, p);
    const stale = await s.credentialsOf();
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-1');
    expect(await stale.accessToken()).toBe('at-1');
    expect(p.used).toEqual(['rt-0']);
  });

  it('a refused refresh marks the connection: tokens removed, needs-auth from then on, nobody asked again', async () => {
    const p = provider(async () => ({ outcome: 'refused', error: 'invalid_grant' }));
    const s = await setup(expired, p);
    expect(await (await s.credentialsOf()).accessToken()).toBeUndefined();
    const marked = await s.store.get('c1');
    expect(marked?.status).toBe('active');
    expect(marked?.upstreamLoginRequiredAt).toBe(T0);
    expect(marked?.upstreamTokenCiphertext).toBeUndefined();
    expect(s.events).toEqual(['upstream.login_required']);
    expect(await (await s.credentialsOf()).accessToken()).toBeUndefined();
    expect(p.used).toEqual(['rt-0']);
  });

  it('a refusal after another caller stored new tokens (the claim ran out) takes theirs: no login required', async () => {
    let clock = T0;
    let releaseSlow: (answer: UpstreamRefresh) => void = () => undefined;
    // The first caller's provider call outlasts its claim; the second caller claims again and is
    // answered at once; the first is then refused the refresh token the second one spent.
    const p = provider((_rt, n) =>
      n === 1
        ? new Promise<UpstreamRefresh>((resolve) => {
            releaseSlow = resolve;
          })
        : Promise.resolve({ outcome: 'refreshed', accessToken: 'at-2', refreshToken: 'rt-2' }),
    );
    const s = await setup(expired, p, () => clock);
    const slow = (await s.credentialsOf()).accessToken();
    while (p.used.length < 1) await new Promise((r) => setTimeout(r, 1));
    clock = T0 + 10_001;
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-2');
    releaseSlow({ outcome: 'refused', error: 'invalid_grant' });
    expect(await slow).toBe('at-2');
    const stored = await s.store.get('c1');
    expect(stored?.upstreamLoginRequiredAt).toBeUndefined();
    expect((await decrypt(stored))?.refreshToken).toBe('rt-2');
    expect(s.events).not.toContain('upstream.login_required');
    expect(p.used).toEqual(['rt-0', 'rt-0']);
  });

  it('a save the store fails is tried again; one that keeps failing still serves the call and keeps the claim', async () => {
    const p = provider(async (_rt, n) => ({ outcome: 'refreshed', accessToken: `at-${n}`, refreshToken: `rt-${n}` }));
    const s = await setup(expired, p);
    const save = s.store.saveUpstreamTokens.bind(s.store);
    let failures = 2;
    s.store.saveUpstreamTokens = async (...args) => {
      if (failures-- > 0) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return save(...args);
    };
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-1');
    expect(await decrypt(await s.store.get('c1'))).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1' });
    expect(s.events).toEqual(['upstream.refreshed']);

    const t = await setup(expired, p);
    t.store.saveUpstreamTokens = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    };
    expect(await (await t.credentialsOf()).accessToken()).toBe('at-2');
    expect(t.events).toEqual(['upstream.not_saved']);
    // The claim holds: nobody presents the refresh token the provider has just rotated away.
    expect((await t.store.get('c1'))?.upstreamRefreshUntil).toBeGreaterThan(T0);
  });

  it('no answer from the provider is "source unavailable", and the claim is released for the next caller', async () => {
    const p = provider(async (_rt, n) => {
      if (n === 1) throw new TypeError('fetch failed');
      return { outcome: 'refreshed', accessToken: 'at-2', refreshToken: 'rt-2' };
    });
    const s = await setup(expired, p);
    await expect((await s.credentialsOf()).accessToken()).rejects.toBeInstanceOf(SourceUnavailableError);
    expect((await s.store.get('c1'))?.upstreamRefreshUntil).toBeUndefined();
    expect(await (await s.credentialsOf()).accessToken()).toBe('at-2');
  });
});

describe('a source 401: one refresh, one retry', () => {
  const integration = parseIntegration(
    JSON.stringify({
      domain: 'api.example.com',
      rules: [
        {
          name: 'item',
          pattern: '^https://api\\.example\\.com/items/(?<n>\\d+)$',
          sampleUrls: ['https://api.example.com/items/1'],
          placeholder: [
            { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'Item', section: 'title' } } },
          ],
          resource: 'item:$<n>',
        },
      ],
    }),
    'UNFURL_RULES',
  );
  const match = matchUri(integration, 'https://api.example.com/items/1')!;
  const identity = { subject: SUBJECT, displayName: 'Bob', connectionId: 'c1' };
  const options = { devName: 'Acme', deadlineMs: 2000, clock: { now: () => T0 } };

  /** A product that accepts only the tokens in `valid`. */
  const product = (valid: Set<string>) => {
    const seen: string[] = [];
    const adapter = httpJsonAdapter({
      baseUrl: 'https://api.example.com',
      mapping: parseHttpJsonMapping({ request: { path: '/items/$<n>' }, title: 'name' }),
      fetch: async (_url, init) => {
        const token = String(new Headers(init?.headers).get('authorization')).slice('Bearer '.length);
        seen.push(token);
        return valid.has(token)
          ? new Response(JSON.stringify({ name: 'Widget' }), { status: 200 })
          : new Response('{}', { status: 401 });
      },
    });
    return { adapter, seen };
  };

  it('a token the product refuses before its expiry is refreshed once and the call retried', async () => {
    const p = provider(async (_rt, n) => ({ outcome: 'refreshed', accessToken: `at-${n}`, refreshToken: `rt-${n}` }));
    const s = await setup({ ...expired, expiresAt: T0 + 600_000, obtainedAt: T0 }, p);
    const { adapter, seen } = product(new Set(['at-1']));
    const result = await renderResource(adapter, match, identity, await s.credentialsOf(), options);
    expect(result.outcome).toBe('found');
    expect(seen).toEqual(['at-0', 'at-1']);
    expect(p.used).toEqual(['rt-0']);
  });

  it('a second 401 is the answer: needs_auth after one refresh, no third call', async () => {
    const p = provider(async (_rt, n) => ({ outcome: 'refreshed', accessToken: `at-${n}`, refreshToken: `rt-${n}` }));
    const s = await setup({ ...expired, expiresAt: T0 + 600_000, obtainedAt: T0 }, p);
    const { adapter, seen } = product(new Set());
    const result = await renderResource(adapter, match, identity, await s.credentialsOf(), options);
    expect(result.outcome).toBe('needs_auth');
    expect(seen).toEqual(['at-0', 'at-1']);
    expect(p.used).toEqual(['rt-0']);
  });

  it('a refresh slower than the deadline is stored before the answer: the rotated refresh token is not lost', async () => {
    const p = provider(
      (_rt, n) =>
        new Promise<UpstreamRefresh>((resolve) =>
          setTimeout(() => resolve({ outcome: 'refreshed', accessToken: `at-${n}`, refreshToken: `rt-${n}` }), 60),
        ),
    );
    const s = await setup(expired, p);
    const { adapter, seen } = product(new Set(['at-1']));
    const quick = { ...options, deadlineMs: 10 };
    const answered = renderResource(adapter, match, identity, await s.credentialsOf(), quick);
    await expect(answered).rejects.toThrow('source missed the 10 ms deadline');
    // By the time the unfurl gives up, the provider's answer (and its new refresh token) is stored.
    const stored = await s.store.get('c1');
    expect(stored?.upstreamTokenVersion).toBe(1);
    expect(await decrypt(stored)).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1' });
    expect((await renderResource(adapter, match, identity, await s.credentialsOf(), options)).outcome).toBe('found');
    expect(seen.at(-1)).toBe('at-1');
    expect(p.used).toEqual(['rt-0']);
  });

  it('a connection marked for re-authorization answers needs_auth without calling the product', async () => {
    const p = provider(async () => ({ outcome: 'refused', error: 'invalid_grant' }));
    const s = await setup(expired, p);
    const { adapter, seen } = product(new Set(['at-0']));
    expect((await renderResource(adapter, match, identity, await s.credentialsOf(), options)).outcome).toBe(
      'needs_auth',
    );
    expect((await renderResource(adapter, match, identity, await s.credentialsOf(), options)).outcome).toBe(
      'needs_auth',
    );
    expect(seen).toEqual([]);
    expect(p.used).toEqual(['rt-0']);
  });
});

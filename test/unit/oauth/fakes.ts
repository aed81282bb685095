/**
 * Test doubles for the OAuth domain: a settable clock, a deterministic-enough
 * random source, a scripted upstream provider and a scripted Notion API.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LocalTokenCipher } from '#adapters/crypto/token-cipher.js';
import { MemoryDeliveryLog } from '#adapters/memory/delivery-log.js';
import { MemoryAuthStateStore, MemoryConnectionStore, MemorySubscriptionStore } from '#adapters/memory/index.js';
import type { ConnectionEnded, ConnectionEndPorts } from '#core/connection-end.js';
import type { AccessTokenSettings } from '#core/oauth/access-token.js';
import type { AuthorizeDependencies } from '#core/oauth/authorize.js';
import type {
  NotionOAuthApi,
  NotionTokenGrant,
  UpstreamIdentityProvider,
  UpstreamLoginRequest,
  UpstreamUser,
} from '#core/oauth/ports.js';
import { NotionExchangeError, UpstreamLoginError } from '#core/oauth/ports.js';
import { cachedKeySource } from '#core/oauth/signing-keys.js';
import type { TokenDependencies } from '#core/oauth/token.js';
import type { Clock, Connection, Random } from '#core/ports.js';
import { ROUTES } from '#lib/routes.js';

export const ISSUER = 'https://previews.example.com';
export const CLIENT_ID = 'notion-client';
export const CLIENT_SECRET = 'notion-client-secret-0123456789';
export const NOTION_REDIRECT = 'https://www.notion.so/externalintegrationauthcallback';

/** The query parameters of an authorization request (Notion's, plus PKCE), as lib/routes.ts lists them. */
export const AUTHORIZE_QUERY_KEYS: readonly string[] =
  ROUTES.find((r) => r.method === 'GET' && r.path === '/oauth/authorize')?.reads?.query ?? [];

export class FakeClock implements Clock {
  constructor(public t = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export const realRandom: Random = {
  token: (bytes = 32) => randomBytes(bytes).toString('base64url'),
  uuid: () => randomUUID(),
  float: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
};

export const tokenSettings = (material = 'unit-test-signing-secret-0123456789abcdef'): AccessTokenSettings => ({
  issuer: ISSUER,
  audience: ISSUER,
  ttlSeconds: 3600,
  keys: cachedKeySource(async () => material),
});

export const testCipher = (): LocalTokenCipher => new LocalTokenCipher(Buffer.alloc(32, 7));

export const ALICE: UpstreamUser = {
  subject: 'u-alice',
  displayName: 'Alice <Anderson>',
  tokens: { accessToken: 'upstream-at' },
};

/** Upstream provider double: callback URLs carry `code=ok` (success), `error=...` (denied), `code=down` (unavailable). */
export class FakeUpstream implements UpstreamIdentityProvider {
  user: UpstreamUser = ALICE;
  failAuthorizationUrl = false;
  readonly requests: UpstreamLoginRequest[] = [];

  async authorizationUrl(request: UpstreamLoginRequest): Promise<string> {
    if (this.failAuthorizationUrl) throw new Error('discovery failed');
    this.requests.push(request);
    const url = new URL('https://idp.example/authorize');
    url.searchParams.set('state', request.state);
    url.searchParams.set('redirect_uri', request.redirectUri);
    return url.toString();
  }

  async finishLogin(callbackUrl: URL, expected: UpstreamLoginRequest): Promise<UpstreamUser> {
    const p = callbackUrl.searchParams;
    if (p.get('error')) throw new UpstreamLoginError('denied', `provider answered ${p.get('error')}`);
    if (p.get('state') !== expected.state) throw new UpstreamLoginError('failed', 'state mismatch');
    if (p.get('code') === 'down') throw new UpstreamLoginError('unavailable', 'provider not reachable');
    if (p.get('code') !== 'ok') throw new UpstreamLoginError('failed', 'bad code');
    return this.user;
  }
}

export class FakeNotion implements NotionOAuthApi {
  mode: 'ok' | 'rejected' | 'unavailable' = 'ok';
  readonly calls: Array<{ code: string; externalAccount: { key: string; name: string } }> = [];
  workspaceId = 'ws-1';

  async exchangeCode(input: {
    code: string;
    externalAccount: { key: string; name: string };
  }): Promise<NotionTokenGrant> {
    this.calls.push(input);
    if (this.mode === 'rejected')
      throw new NotionExchangeError('rejected', 'Notion rejected', { status: 400, code: 'invalid_grant' });
    if (this.mode === 'unavailable') throw new NotionExchangeError('unavailable', 'Notion did not answer in time');
    return {
      accessToken: `secret_notion_${input.code}`,
      refreshToken: null,
      workspace: { workspaceId: this.workspaceId, workspaceName: 'Acme', workspaceIcon: null, botId: 'bot-1' },
    };
  }
}

/** What ending a connection reaches, in memory; `ended` collects what `onEnded` heard. */
export const memoryEndings = (
  parts: Partial<Pick<ConnectionEndPorts, 'subscriptions' | 'deliveries'>> = {},
): ConnectionEndPorts & { readonly ended: ConnectionEnded[] } => {
  const ended: ConnectionEnded[] = [];
  return {
    subscriptions: parts.subscriptions ?? new MemorySubscriptionStore(),
    deliveries: parts.deliveries ?? new MemoryDeliveryLog(),
    onEnded: (e) => ended.push(e),
    ended,
  };
};

/**
 * The authorize endpoint's dependencies for client CLIENT_ID at ISSUER: fresh
 * in-memory stores and fakes, unless `parts` hands in the ones a test inspects.
 */
export const authorizeDependencies = (
  parts: Partial<Omit<AuthorizeDependencies, 'settings'>> = {},
  productName = 'Acme',
): AuthorizeDependencies => ({
  authState: new MemoryAuthStateStore(),
  connections: new MemoryConnectionStore(),
  cipher: testCipher(),
  notion: new FakeNotion(),
  upstream: new FakeUpstream(),
  clock: new FakeClock(),
  random: realRandom,
  log: () => undefined,
  endings: memoryEndings(),
  ...parts,
  settings: { issuer: ISSUER, clientId: CLIENT_ID, extraRedirectUris: [], productName },
});

/** The token endpoint's dependencies over the given stores, for client CLIENT_ID / CLIENT_SECRET. */
export const tokenDependencies = (
  stores: Pick<TokenDependencies, 'authState' | 'connections' | 'clock'> & Partial<Pick<TokenDependencies, 'endings'>>,
  tokens: AccessTokenSettings = tokenSettings(),
): TokenDependencies => ({
  endings: memoryEndings(),
  ...stores,
  random: realRandom,
  log: () => undefined,
  tokens,
  client: async () => ({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
});

/** An active connection of alice's for client CLIENT_ID, generation 0, with the given fields replaced. */
export const activeConnection = (overrides: Partial<Connection> = {}): Connection => ({
  id: 'c-1',
  subject: 'u-alice',
  displayName: 'Alice',
  clientId: CLIENT_ID,
  scope: 'unfurl',
  notion: { workspaceId: 'ws', workspaceName: null, workspaceIcon: null, botId: 'b' },
  status: 'active',
  tokenGeneration: 0,
  previousRefreshTokenHashes: [],
  createdAt: 0,
  updatedAt: 0,
  ...overrides,
});

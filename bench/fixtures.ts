/**
 * What the worker, cost and scale benchmarks set up alike: a Notion simulator
 * with a chosen per-connection rate and no faults, and a connection of ours
 * holding the (encrypted) token the simulator issued for one of its accounts.
 */
import { decodeJwt } from 'jose';
import { notionTokenContext } from '#core/oauth/cipher-contexts.js';
import type { Connection, TokenCipher } from '#core/ports.js';
import { demoRules } from '#core/unfurl/rules.js';
import type { ManualClock } from '#local/notion-simulator/clock.js';
import { startNotionSimulator } from '#local/notion-simulator/server.js';

/** The simulator the worker pushes to: `ratePerMinute` per connection, no workspace limit, no faults. */
export const startRateLimitedSimulator = (clock: ManualClock, ratePerMinute: number) =>
  startNotionSimulator({
    integration: demoRules('http://127.0.0.1:3000'),
    notionClient: { clientId: 'bench-notion-client', clientSecret: 'bench-notion-secret' },
    serviceClient: { clientId: 'bench-service-client', clientSecret: 'bench-service-secret' },
    clock,
    settings: (d) => ({
      ...d,
      api: {
        ...d.api,
        rateLimit: ratePerMinute,
        rateWindowSeconds: 60,
        workspaceRateLimit: 0,
        faults: { ...d.api.faults, overloadRate: 0, unavailableRate: 0, slowRate: 0, blocked: false },
      },
    }),
  });

/** An active connection of ours for a simulator account: its Notion token encrypted as the service stores it. */
export const benchConnection = async (input: {
  readonly id: string;
  readonly key: string;
  readonly subject: string;
  readonly displayName: string;
  readonly clientId: string;
  readonly made: { readonly accessToken: string; readonly botId: string };
  readonly cipher: TokenCipher;
  readonly now: number;
}): Promise<Connection> => ({
  id: input.id,
  subject: input.subject,
  displayName: input.displayName,
  clientId: input.clientId,
  scope: 'unfurl',
  notion: { workspaceId: `ws-${input.key}`, workspaceName: null, workspaceIcon: null, botId: input.made.botId },
  notionTokenCiphertext: await input.cipher.encrypt(input.made.accessToken, notionTokenContext(input.id)),
  status: 'active',
  tokenGeneration: 1,
  previousRefreshTokenHashes: [],
  createdAt: input.now,
  updatedAt: input.now,
});

/** The connection id an access token of ours names (its `cid` claim), read without verifying. */
export const connectionIdOfToken = (accessToken: string): string => {
  const claims = decodeJwt(accessToken) as { cid?: unknown; sub?: unknown };
  const id = typeof claims.cid === 'string' ? claims.cid : undefined;
  if (!id) throw new Error('the access token names no connection');
  return id;
};

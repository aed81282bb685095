/** Shared set-up of the unfurl handler tests: in-memory stores, real access tokens, a scripted source. */
import type { Context } from 'aws-lambda';
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { MemoryConnectionStore, MemorySubscriptionStore } from '#adapters/memory/index.js';
import { type AccessTokenSettings, issueAccessToken } from '#core/oauth/access-token.js';
import type { Connection } from '#core/ports.js';
import { noCredentials } from '#core/sources/credentials.js';
import type { ResolveOutcome, SourceAdapter } from '#core/sources/source-adapter.js';
import { attr } from '#core/unfurl/attributes.js';
import { separateReads } from '#core/unfurl/reads.js';
import { demoRules } from '#core/unfurl/rules.js';
import type { UnfurlDependencies } from '#core/unfurl/unfurl.js';
import { parseConfig } from '#shared/config.js';
import { systemRandom } from '#shared/crypto.js';

export const BASE = 'http://127.0.0.1:3000';
export const TASK_URI = `${BASE}/demo/tasks/1`;
export const context = {} as Context;
export type Result = { statusCode: number; headers?: Record<string, string>; body?: string };

export const config = parseConfig({
  PUBLIC_BASE_URL: BASE,
  TOKEN_SIGNING_KEY: 'handler-test-signing-key-0123456789abcdef',
});
export const tokens: AccessTokenSettings = accessTokenSettings(config, async (ref) =>
  'value' in ref ? ref.value : '',
);

export const makeConnection = (id: string, subject = 'u-alice'): Connection => ({
  id,
  subject,
  displayName: subject,
  clientId: 'notion-local',
  scope: 'unfurl',
  notion: { workspaceId: `ws-${id}`, workspaceName: 'Workspace', workspaceIcon: null, botId: `bot-${id}` },
  status: 'active',
  tokenGeneration: 0,
  previousRefreshTokenHashes: [],
  createdAt: 1,
  updatedAt: 1,
});

export const clock = {
  t: Date.now(),
  now(): number {
    return this.t;
  },
};

export const bearerFor = async (connection: Connection): Promise<string> =>
  `Bearer ${(await issueAccessToken(connection, tokens, { clock, random: systemRandom })).token}`;

export const found = (title: string): ResolveOutcome => ({
  outcome: 'found',
  model: { title, attributes: [attr.enum('status', 'Status', 'Open', { r: 1, g: 2, b: 3 })] },
});

/** A source whose next answer the test sets; counts calls. */
export class ScriptedSource implements SourceAdapter {
  readonly name = 'scripted';
  calls = 0;
  next: () => Promise<ResolveOutcome> = async () => found('Task one');
  resolve(): Promise<ResolveOutcome> {
    this.calls += 1;
    return this.next();
  }
}

export const unfurlDeps = () => {
  const connections = new MemoryConnectionStore();
  const subscriptions = new MemorySubscriptionStore();
  const source = new ScriptedSource();
  let connectionReads = 0;
  const countingConnections = {
    get: (id: string) => {
      connectionReads += 1;
      return connections.get(id);
    },
  };
  const writes = { upserts: 0, deletes: 0 };
  const countingSubscriptions: UnfurlDependencies['subscriptions'] = {
    get: (...args) => subscriptions.get(...args),
    upsert: (subscription) => {
      writes.upserts += 1;
      return subscriptions.upsert(subscription);
    },
    delete: (...args) => {
      writes.deletes += 1;
      return subscriptions.delete(...args);
    },
  };
  const deps: UnfurlDependencies = {
    integration: demoRules(BASE),
    adapter: source,
    reads: separateReads(countingConnections, subscriptions),
    subscriptions: countingSubscriptions,
    tokens,
    clock,
    devName: 'Demo Tasks',
    deadlineMs: 100,
    credentialsFor: () => noCredentials,
  };
  return { deps, connections, subscriptions, source, reads: () => connectionReads, writes };
};

/**
 * The scenario of the upstream-refresh tests (docs/adr/0127): a team API in
 * front of the local provider (userinfo decides whether a bearer token is
 * good), the local system with the generic `http` adapter and a given access
 * token lifetime, bob signed in with one preview of item 1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect } from '@jest/globals';
import { connectionStore } from '#adapters/dynamo/factory.js';
import type { Connection } from '#core/ports.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import type { LocalSystem } from '#local/system.js';
import { parseConfig } from '#shared/config.js';
import { startTestSystem } from '#test/helpers/system.js';
import { createWebhookPublisher } from '../../../functions/publish/index.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A team API in front of the local provider: userinfo decides whether a bearer token is good. */
const startProduct = async (issuer: () => string) => {
  const items = new Map<string, string>([['1', 'Widget v1']]);
  const tokens: string[] = [];
  let refused = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const authorization = req.headers.authorization ?? '';
      tokens.push(authorization.slice('Bearer '.length));
      const r = await fetch(`${issuer()}/me`, { headers: { authorization } });
      if (r.status !== 200) {
        refused++;
        return send(401, { error: 'invalid_token' });
      }
      const name = items.get(/^\/api\/items\/(\d+)$/.exec(req.url ?? '')?.[1] ?? '');
      return name === undefined ? send(404, {}) : send(200, { name });
    })().catch(() => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    items,
    tokens,
    refused: () => refused,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
};

const httpSettings = (apiBase: string, ttlSeconds: number) => ({
  SOURCE_ADAPTER: 'http',
  SOURCE_BASE_URL: apiBase,
  LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS: String(ttlSeconds),
  SOURCE_HTTP_MAPPING: JSON.stringify({ request: { path: '/api/items/$<n>' }, title: 'name' }),
  UNFURL_RULES: JSON.stringify({
    domain: '127.0.0.1',
    rules: [
      {
        name: 'item',
        pattern: `^${apiBase.replace(/\./g, '\\.')}/items/(?<n>\\d+)$`,
        sampleUrls: [`${apiBase}/items/1`],
        placeholder: [
          { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'Item $<n>', section: 'title' } } },
        ],
        resource: 'item:$<n>',
      },
    ],
  }),
});

/** A running system with the product, bob signed in and one preview of item 1. */
export const useScenario = (ttlSeconds: number) => {
  let system: LocalSystem;
  let product: Awaited<ReturnType<typeof startProduct>>;
  let bob: NotionDriver;
  let previewId: string;
  beforeAll(async () => {
    product = await startProduct(() => system.env.OIDC_ISSUER ?? '');
    system = await startTestSystem({ env: httpSettings(product.base, ttlSeconds) });
    bob = new NotionDriver({
      baseUrl: system.baseUrl,
      formValues: { login: 'bob', password: 'bob-password', decision: 'allow' },
    });
    await bob.open();
    await bob.signIn();
    const first = await bob.paste(`${product.base}/items/1`);
    expect(first.card?.title).toBe('Widget v1');
    previewId = first.id;
  }, 30_000);
  afterAll(async () => {
    await system?.stop();
    await product?.close();
  });
  const config = () => parseConfig(system.env);
  return {
    product: () => product,
    bob: () => bob,
    previewId: () => previewId,
    config,
    env: () => system.env,
    /** Changes item 1 at the product and publishes the change, as the product would. */
    change: async (name: string) => {
      product.items.set('1', name);
      await createWebhookPublisher({
        url: `${system.baseUrl}/changes`,
        secret: system.env.CHANGES_WEBHOOK_SECRET ?? '',
      }).publish({ resource: 'item:1' });
    },
    connection: async (): Promise<Connection> => {
      const [c] = await connectionStore(config()).listBySubject('u-bob', Date.now());
      if (!c) throw new Error('no connection for bob');
      return c;
    },
  };
};

export const titleIs = (previewId: string, title: string) => (state: Awaited<ReturnType<NotionDriver['state']>>) =>
  state.previews.find((p) => p.id === previewId)?.card?.title === title;

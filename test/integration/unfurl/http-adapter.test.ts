/**
 * The generic HTTP JSON adapter end to end: a team's own API (a small server
 * here) that accepts the user's upstream access token, checks it at the
 * identity provider's userinfo endpoint, and applies its own access rules. The
 * service is configured only through settings (SOURCE_ADAPTER=http,
 * SOURCE_BASE_URL, SOURCE_HTTP_MAPPING, UNFURL_RULES).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';

let system: LocalSystem;
let api: Server;
let apiBase: string;
const seen: Array<{ path: string; subject: string | undefined }> = [];

const ITEMS: Record<string, { owner: string | null; name: string; state: string; colour: string; due: string }> = {
  '1': { owner: null, name: 'Public widget', state: 'Open', colour: '#1a73e8', due: '2026-05-01' },
  '2': { owner: 'u-alice', name: "Alice's widget", state: 'Draft', colour: '#9aa0a6', due: '2026-06-01' },
};

/** Who the bearer token belongs to, according to the identity provider. */
const subjectOf = async (authorization: string | undefined): Promise<string | undefined> => {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const discovery = (await (await fetch(`${system.env.OIDC_ISSUER}/.well-known/openid-configuration`)).json()) as {
    userinfo_endpoint: string;
  };
  const r = await fetch(discovery.userinfo_endpoint, { headers: { authorization } });
  if (r.status !== 200) return undefined;
  return ((await r.json()) as { sub?: string }).sub;
};

beforeAll(async () => {
  api = createServer((req, res) => {
    void (async () => {
      const m = /^\/api\/items\/([^/]+)$/.exec(req.url ?? '');
      const subject = await subjectOf(req.headers.authorization);
      seen.push({ path: req.url ?? '', subject });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!m) return send(404, {});
      if (!subject) return send(401, { error: 'invalid_token' });
      const item = ITEMS[m[1] ?? ''];
      if (!item) return send(404, {});
      if (item.owner !== null && item.owner !== subject) return send(403, {});
      send(200, {
        name: item.name,
        state: { label: item.state, colour: item.colour },
        due_on: item.due,
        owner: { name: item.owner ?? 'everyone' },
      });
    })().catch(() => res.end());
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const rules = {
    domain: '127.0.0.1',
    rules: [
      {
        name: 'item',
        pattern: `^${apiBase.replace(/\./g, '\\.')}/items/(?<itemNo>\\d+)$`,
        sampleUrls: [`${apiBase}/items/1`],
        placeholder: [
          {
            id: 'title',
            name: 'Title',
            type: 'inline',
            inline: { title: { value: 'Item $<itemNo>', section: 'title' } },
          },
        ],
        resource: 'item:$<itemNo>',
      },
    ],
  };
  const mapping = {
    request: { path: '/api/items/$<itemNo>' },
    title: 'name',
    dev: 'Widget Co',
    attributes: [
      { id: 'state', name: 'State', kind: 'enum', value: 'state.label', color: 'state.colour' },
      { id: 'due', name: 'Due', kind: 'date', value: 'due_on' },
      { id: 'owner', name: 'Owner', kind: 'plain_text', section: 'avatar', value: 'owner.name' },
    ],
  };
  system = await startLocalSystem({
    port: 0,
    workerLoop: false,
    log: () => undefined,
    env: {
      SOURCE_ADAPTER: 'http',
      SOURCE_BASE_URL: apiBase,
      SOURCE_HTTP_MAPPING: JSON.stringify(mapping),
      UNFURL_RULES: JSON.stringify(rules),
    },
  });
}, 30_000);

afterAll(async () => {
  await system?.stop();
  await new Promise((resolve) => api?.close(resolve));
});

const driverFor = async (login: string) => {
  const driver = new NotionDriver({
    baseUrl: system.baseUrl,
    formValues: { login, password: `${login}-password`, decision: 'allow' },
  });
  await driver.open();
  await driver.signIn();
  return driver;
};

describe('generic HTTP JSON adapter against a team API', () => {
  it("calls the team's API with the user's own upstream token and maps the answer", async () => {
    const bob = await driverFor('bob');
    const preview = await bob.paste(`${apiBase}/items/1`);
    expect(preview.state).toBe('card');
    expect(preview.card?.title).toBe('Public widget');
    const items = preview.card?.items ?? [];
    expect(items.find((i) => i.id === 'dev')?.text).toBe('Widget Co');
    expect(items.find((i) => i.id === 'state')).toMatchObject({
      kind: 'enum',
      text: 'Open',
      color: { r: 26, g: 115, b: 232 },
    });
    expect(items.find((i) => i.id === 'due')).toMatchObject({ kind: 'date', text: '2026-05-01' });
    expect(seen.at(-1)).toEqual({ path: '/api/items/1', subject: 'u-bob' });
  }, 30_000);

  it("applies the team API's own rights: 403 and 404 become bare error operations", async () => {
    const bob = await driverFor('bob');
    const denied = await bob.paste(`${apiBase}/items/2`);
    expect(denied.error).toEqual({ status: 403, message: 'You do not have access to this content' });
    expect(JSON.stringify(denied)).not.toContain('Alice');
    expect((await bob.paste(`${apiBase}/items/3`)).error?.status).toBe(404);
    const alice = await driverFor('alice');
    expect((await alice.paste(`${apiBase}/items/2`)).card?.title).toBe("Alice's widget");
  }, 30_000);
});

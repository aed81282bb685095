/**
 * Notion's token endpoint failing or slow, against the real local system with
 * NOTION_API_BASE_URL pointing at a scripted stand-in: the user gets a clear
 * error back at Notion's redirect_uri and nothing is stored.
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { connectionStore } from '#adapters/dynamo/factory.js';
import { createNotionApi } from '#adapters/notion/notion-api.js';
import { NotionExchangeError } from '#core/oauth/ports.js';
import type { MountEntry } from '#local/mounts.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { parseConfig } from '#shared/config.js';
import { TestBrowser } from './browser.js';

type Mode = 'slow' | 'server-error' | 'notion-error' | 'oauth-error' | 'ok';

let mode: Mode = 'ok';
let requests: Array<{ headers: IncomingMessage['headers']; body: unknown }> = [];
let notion: Server;
let notionBase: string;
let system: LocalSystem;

const MOUNTS: MountEntry[] = [
  {
    name: 'idp',
    prefix: '/idp',
    module: './idp/mount.js',
    load: async () => (await import('#local/idp/mount.js')).createMount,
  },
];

beforeAll(async () => {
  notion = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    requests.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (mode === 'slow') {
      const timer = setTimeout(() => json(200, {}), 5_000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (mode === 'server-error')
      return json(503, { object: 'error', status: 503, code: 'service_unavailable', message: 'down' });
    if (mode === 'notion-error')
      return json(400, { object: 'error', status: 400, code: 'invalid_grant', message: 'Invalid code.' });
    if (mode === 'oauth-error') return json(400, { error: 'invalid_grant', error_description: 'expired' });
    return json(200, {
      access_token: 'secret_from_standin',
      token_type: 'bearer',
      bot_id: 'bot-x',
      workspace_id: 'ws-x',
      workspace_name: null,
      workspace_icon: null,
      owner: { type: 'workspace', workspace: true },
      duplicated_template_id: null,
    });
  });
  await new Promise<void>((resolve) => notion.listen(0, '127.0.0.1', resolve));
  notionBase = `http://127.0.0.1:${(notion.address() as AddressInfo).port}`;
  system = await startLocalSystem({
    port: 0,
    mountEntries: MOUNTS,
    workerLoop: false,
    env: { NOTION_API_BASE_URL: notionBase, NOTION_TIMEOUT_MS: '300' },
    log: () => undefined,
  });
}, 30_000);

afterAll(async () => {
  await system?.stop();
  notion?.closeAllConnections();
  await new Promise<void>((resolve) => notion?.close(() => resolve()));
});

beforeEach(() => {
  requests = [];
});

const redirectUri = () => `${system.baseUrl}/notion/externalintegrationauthcallback`;

const allow = async (login: string) => {
  const browser = new TestBrowser((url) => url.pathname === '/notion/externalintegrationauthcallback');
  const q = new URLSearchParams({
    client_id: system.env.OAUTH_CLIENT_ID!,
    redirect_uri: redirectUri(),
    response_type: 'code',
    code: 'notion-code-1',
    state: 'the-state',
  });
  const loginPage = await browser.request(`${system.baseUrl}/oauth/authorize?${q}`);
  const consent = await browser.submit(loginPage, { login, password: `${login}-password` });
  expect(consent.body).toContain('name="decision"');
  const back = await browser.submit(consent, {}, { name: 'decision', value: 'allow' });
  return new URL(back.url);
};

describe("Notion's token endpoint failing or slow", () => {
  it('slow: the exchange times out → temporarily_unavailable with a clear description and state, nothing stored', async () => {
    mode = 'slow';
    const back = await allow('alice');
    expect(back.searchParams.get('error')).toBe('temporarily_unavailable');
    expect(back.searchParams.get('error_description')).toMatch(/Notion did not answer in time.*Nothing was connected/);
    expect(back.searchParams.get('state')).toBe('the-state');
    expect(back.searchParams.get('code')).toBeNull();
    expect(await connectionStore(parseConfig(system.env)).listBySubject('u-alice', Date.now())).toHaveLength(0);
  });

  it('failing: a 5xx answer → temporarily_unavailable; a rejected code (either error shape) → server_error; nothing stored', async () => {
    for (const [m, error] of [
      ['server-error', 'temporarily_unavailable'],
      ['notion-error', 'server_error'],
      ['oauth-error', 'server_error'],
    ] as const) {
      mode = m;
      const back = await allow('bob');
      expect(back.searchParams.get('error')).toBe(error);
      expect(back.searchParams.get('error_description')).toMatch(/Nothing was connected/);
    }
    expect(await connectionStore(parseConfig(system.env)).listBySubject('u-bob', Date.now())).toHaveLength(0);
  });

  it('sends Basic auth with our Notion credentials, Notion-Version and external_account', async () => {
    mode = 'ok';
    const back = await allow('carol');
    expect(back.searchParams.get('code')).toBeTruthy();
    const [request] = requests;
    const expected = Buffer.from(`${system.env.NOTION_CLIENT_ID}:${system.env.NOTION_CLIENT_SECRET}`).toString(
      'base64',
    );
    expect(request?.headers.authorization).toBe(`Basic ${expected}`);
    expect(request?.headers['notion-version']).toBe(system.env.NOTION_VERSION);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({
      grant_type: 'authorization_code',
      code: 'notion-code-1',
      external_account: { key: 'u-carol', name: 'Carol Chen' },
    });
    const [connection] = await connectionStore(parseConfig(system.env)).listBySubject('u-carol', Date.now());
    expect(connection?.notion).toEqual({
      workspaceId: 'ws-x',
      workspaceName: null,
      workspaceIcon: null,
      botId: 'bot-x',
    });
  });

  it('the adapter maps both error shapes and network failures to typed errors', async () => {
    const api = (base: string) =>
      createNotionApi({
        baseUrl: base,
        version: '2022-06-28',
        timeoutMs: 300,
        credentials: async () => ({ clientId: 'a', clientSecret: 'b' }),
      });
    mode = 'oauth-error';
    const rejected = await api(notionBase)
      .exchangeCode({ code: 'c', externalAccount: { key: 'k', name: 'n' } })
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(NotionExchangeError);
    expect(rejected).toMatchObject({ kind: 'rejected', details: { status: 400, code: 'invalid_grant' } });
    const unreachable = await api('http://127.0.0.1:9')
      .exchangeCode({ code: 'c', externalAccount: { key: 'k', name: 'n' } })
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ kind: 'unavailable' });
  });
});

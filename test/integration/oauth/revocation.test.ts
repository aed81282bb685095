/**
 * RFC 7009 revocation against the whole local system (startLocalSystem: the
 * local server, dynalite, the queue, the worker loop, the Notion simulator and
 * the demo product): the metadata advertises the endpoint; a refresh token
 * revoked there is refused at the token endpoint and its access token at
 * /unfurl; an unknown token answers 200; and the worker's next change event
 * for the task pushes to the connection that was not revoked, and nothing to
 * the revoked one.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { authStateStore, connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { notionTokenContext } from '#core/oauth/cipher-contexts.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import type { NotionSimulator } from '#local/notion-simulator/simulator.js';
import type { LocalSystem } from '#local/system.js';
import { type Config, parseConfig } from '#shared/config.js';
import { hashSecret } from '#shared/crypto.js';
import { useLocalSystem } from '#test/helpers/system.js';

let system: LocalSystem;
let config: Config;
const REDIRECT = 'https://www.notion.so/externalintegrationauthcallback';
const TASK = '/demo/tasks/2';

const started = useLocalSystem(
  {
    env: { COALESCE_WINDOW_SECONDS: '1', LOG_LEVEL: 'SILENT' },
    emulators: { visibilityTimeoutSeconds: 2 },
    log: () => undefined,
  },
  25_000,
);
beforeAll(() => {
  system = started();
  config = parseConfig(system.env);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const client = () => ({
  client_id: system.env.OAUTH_CLIENT_ID as string,
  client_secret: system.env.OAUTH_CLIENT_SECRET as string,
});
const postForm = (path: string, form: Record<string, string>) =>
  fetch(`${system.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });

/**
 * A connection as consent leaves it for `user` (a real Notion token from the simulator, a preview of the task
 * there), its tokens from our token endpoint, and its subscription to the task.
 */
const connect = async (simulator: NotionSimulator, id: string, user: string) => {
  const basic = Buffer.from(`${system.env.NOTION_CLIENT_ID}:${system.env.NOTION_CLIENT_SECRET}`).toString('base64');
  const res = await fetch(`${system.baseUrl}/notion/v1/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json', 'notion-version': '2022-06-28' },
    body: JSON.stringify({
      grant_type: 'authorization_code',
      code: simulator.issueCode(),
      external_account: { key: user, name: user },
    }),
  });
  const grant = (await res.json()) as { access_token: string; workspace_id: string; bot_id: string };
  const simConnectionId = simulator.connectionByExternalKey(user)?.id as string;
  const uri = `${system.baseUrl}${TASK}`;
  simulator.addPreview(simConnectionId, uri);
  const now = Date.now();
  await connectionStore(config).create({
    id,
    subject: user,
    displayName: user,
    clientId: system.env.OAUTH_CLIENT_ID as string,
    scope: 'unfurl',
    notion: { workspaceId: grant.workspace_id, workspaceName: null, workspaceIcon: null, botId: grant.bot_id },
    notionTokenCiphertext: await tokenCipherFromConfig(config).encrypt(grant.access_token, notionTokenContext(id)),
    status: 'active',
    tokenGeneration: 0,
    previousRefreshTokenHashes: [],
    createdAt: now,
    updatedAt: now,
  });
  const code = `code-for-${id}`;
  await authStateStore(config).putCode({
    codeHash: hashSecret(code),
    connectionId: id,
    clientId: system.env.OAUTH_CLIENT_ID as string,
    redirectUri: REDIRECT,
    scope: 'unfurl',
    expiresAt: now + 60_000,
  });
  const issued = await postForm('/oauth/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    ...client(),
  });
  expect(issued.status).toBe(200);
  const tokens = (await issued.json()) as { access_token: string; refresh_token: string };
  await subscriptionStore(config).upsert({
    resourceKey: 'task:2',
    connectionId: id,
    uri,
    createdAt: now,
    updatedAt: now,
  });
  return { ...tokens, simConnectionId, uri };
};

const unfurl = (accessToken: string, uri: string) =>
  fetch(`${system.baseUrl}/unfurl`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ uri }),
  });

describe('POST /oauth/revoke in the local system', () => {
  it('the metadata advertises it, with the token endpoint client authentication', async () => {
    const res = await fetch(`${system.baseUrl}/.well-known/oauth-authorization-server`);
    expect(await res.json()).toMatchObject({
      revocation_endpoint: `${system.env.PUBLIC_BASE_URL}/oauth/revoke`,
      revocation_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    });
  });

  it('revoking a refresh token ends the grant: token endpoint, /unfurl and the worker all stop', async () => {
    const simulator = simulatorFor(system.baseUrl);
    if (!simulator) throw new Error('Notion simulator not mounted');
    const revoked = await connect(simulator, 'conn-revoked', 'u-bob');
    const kept = await connect(simulator, 'conn-kept', 'u-alice');
    expect((await unfurl(revoked.access_token, revoked.uri)).status).toBe(200);

    const unknown = await postForm('/oauth/revoke', { token: 'not-a-token-of-ours', ...client() });
    expect([unknown.status, await unknown.text()]).toEqual([200, '']);
    const r = await postForm('/oauth/revoke', { token: revoked.refresh_token, ...client() });
    expect([r.status, r.headers.get('cache-control')]).toEqual([200, 'no-store']);

    const refreshed = await postForm('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: revoked.refresh_token,
      ...client(),
    });
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant');
    const refused = await unfurl(revoked.access_token, revoked.uri);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    expect(await subscriptionStore(config).listByConnection('conn-revoked')).toEqual([]);

    // The product changes the task: the kept connection is pushed to, the revoked one never.
    const edit = await fetch(`${system.baseUrl}${TASK}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'demo_user=u-bob' },
      body: new URLSearchParams({ title: 'After the revocation' }).toString(),
      redirect: 'manual',
    });
    expect(edit.status).toBe(303);
    const callsOf = (simConnectionId: string) =>
      simulator.stats().connections.find((c) => c.connectionId === simConnectionId)?.calls ?? 0;
    const deadline = Date.now() + 15_000;
    while (callsOf(kept.simConnectionId) === 0 && Date.now() < deadline) await sleep(100);
    expect(callsOf(kept.simConnectionId)).toBe(1);
    await sleep(1_000); // a late push to the revoked connection would show up here
    expect(callsOf(revoked.simConnectionId)).toBe(0);
  }, 28_000);
});

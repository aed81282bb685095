/**
 * The whole local system (startLocalSystem): an edit made with the demo
 * product's form is published by its edit hook through the signed POST /changes
 * of the local server, the local
 * worker loop runs functions/update-worker.ts as deployed, and the Notion
 * simulator mounted at /notion receives the PATCH.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { authStateStore, connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { signWebhook } from '#core/changes/verify.js';
import { notionTokenContext } from '#core/oauth/cipher-contexts.js';
import { coalesceMarkerKey } from '#core/updates/worker.js';
import type { DemoProduct } from '#local/demo-product/app.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import type { LocalSystem } from '#local/system.js';
import { type Config, parseConfig } from '#shared/config.js';
import { useLocalSystem } from '#test/helpers/system.js';

let system: LocalSystem;
let config: Config;

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

describe('update pipeline in the local system', () => {
  it('an edit in the demo product reaches the Notion preview', async () => {
    const simulator = simulatorFor(system.baseUrl);
    const demo = system.mounts.find((m) => m.prefix === '/demo') as unknown as { product?: DemoProduct } | undefined;
    expect(simulator).toBeDefined();
    expect(demo?.product).toBeDefined();
    if (!simulator || !demo?.product) return;

    // A Notion token the way the authorize step gets one: a code exchanged at /notion/v1/oauth/token.
    const code = simulator.issueCode();
    const basic = Buffer.from(`${system.env.NOTION_CLIENT_ID}:${system.env.NOTION_CLIENT_SECRET}`).toString('base64');
    const res = await fetch(`${system.baseUrl}/notion/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json', 'notion-version': '2022-06-28' },
      body: JSON.stringify({ grant_type: 'authorization_code', code, external_account: { key: 'u-bob', name: 'Bob' } }),
    });
    const grant = (await res.json()) as { access_token: string; workspace_id: string; bot_id: string };
    expect(res.status).toBe(200);
    const simConnection = simulator.connectionByExternalKey('u-bob');
    const uri = `${system.baseUrl}/demo/tasks/2`;
    simulator.addPreview(simConnection?.id as string, uri);

    const now = Date.now();
    await connectionStore(config).create({
      id: 'conn-system',
      subject: 'u-bob',
      displayName: 'Bob',
      clientId: system.env.OAUTH_CLIENT_ID as string,
      scope: 'unfurl',
      notion: { workspaceId: grant.workspace_id, workspaceName: null, workspaceIcon: null, botId: grant.bot_id },
      notionTokenCiphertext: await tokenCipherFromConfig(config).encrypt(
        grant.access_token,
        notionTokenContext('conn-system'),
      ),
      status: 'active',
      tokenGeneration: 1,
      previousRefreshTokenHashes: [],
      createdAt: now,
      updatedAt: now,
    });
    await subscriptionStore(config).upsert({
      resourceKey: 'task:2',
      connectionId: 'conn-system',
      uri,
      createdAt: now,
      updatedAt: now,
    });

    // Edits through the demo product's own form; its mount publishes each one to POST /changes.
    for (const title of ['First', 'Second', 'Third and final']) {
      const edit = await fetch(`${system.baseUrl}/demo/tasks/2`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'demo_user=u-bob' },
        body: new URLSearchParams({ title }).toString(),
        redirect: 'manual',
      });
      expect(edit.status).toBe(303);
    }
    const deadline = Date.now() + 15_000;
    while (!JSON.stringify(simulator.lastPayload(uri) ?? '').includes('Third and final') && Date.now() < deadline)
      await sleep(100);
    expect(JSON.stringify(simulator.lastPayload(uri))).toContain('Third and final');
    await sleep(1_500); // a late second push would show up here
    expect(simulator.stats().connections.find((c) => c.connectionId === simConnection?.id)?.calls).toBe(1);
    expect((await subscriptionStore(config).get('task:2', 'conn-system', uri))?.contentHash).toMatch(/^v1:/);
  }, 28_000);

  it.each([
    ['an emoji', 'task:launch 🚀'],
    ['U+FFFF', 'task:\uFFFF'],
    ['U+FFFE and a lone surrogate', 'task:\uFFFE\uD800'],
  ])(
    'a signed change whose resource holds %s is queued (202, not 500) and reaches the worker unchanged',
    async (_l, resource) => {
      const raw = JSON.stringify({ resource, changed_at: '2026-01-15T12:00:00Z', fields: ['título ✓'] });
      const id = `msg_unicode_${Buffer.from(resource).toString('hex')}`;
      const res = await fetch(`${system.baseUrl}/changes`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signWebhook(system.env.CHANGES_WEBHOOK_SECRET as string, id, raw, Date.now()),
        },
        body: raw,
      });
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 202, body: { status: 'queued', id } });
      // The worker opened the coalescing window of exactly this resource.
      const markers = authStateStore(config);
      const deadline = Date.now() + 10_000;
      let marker: string | undefined;
      while (marker === undefined && Date.now() < deadline) {
        marker = await markers.getMarker(coalesceMarkerKey(resource), Date.now());
        if (marker === undefined) await sleep(100);
      }
      expect(marker?.startsWith(`${id}@`)).toBe(true);
    },
    15_000,
  );
});

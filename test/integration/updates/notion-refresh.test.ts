/**
 * A push answered 401 when the connection holds a Notion refresh token (docs/adr/0151), on the real
 * local parts: dynalite + fauxqs, the worker handler as deployed, the Notion simulator issuing rotating,
 * single-use refresh tokens. An expired access token costs one refresh and the push is delivered; a
 * refused refresh disconnects as before; concurrent invocations spend the refresh token once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { notionRefreshTokenContext, notionTokenContext } from '#core/oauth/cipher-contexts.js';
import type { PushMessage } from '#core/updates/messages.js';
import { lambdaContext } from '#test/helpers/factories.js';
import { publishChange, type Rig, runUntil, startRig, toRecord } from './rig.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({
    env: { COALESCE_WINDOW_SECONDS: '1' },
    simulator: (defaults) => ({ ...defaults, api: { ...defaults.api, issueRefreshToken: true } }),
  });
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

/** Task ids every demo user may see. */
const openTasks = (): string[] =>
  rig.product.store
    .list()
    .filter((t) => t.visibleTo === 'everyone' && !t.archived)
    .map((t) => t.id);

/** The refresh grants Notion received since `fromSeq`, by status. */
const refreshGrants = (fromSeq = 0): number[] =>
  rig.sim.simulator.log
    .all()
    .filter(
      (e) =>
        e.seq > fromSeq &&
        e.url === '/notion/v1/oauth/token' &&
        (e.request?.body as { grant_type?: unknown } | undefined)?.grant_type === 'refresh_token',
    )
    .map((e) => e.status ?? 0);

const lastSeq = (): number => rig.sim.simulator.log.all().at(-1)?.seq ?? 0;

const pushedTo = (connectionId: string): number =>
  rig.events.filter((e) => e.event === 'pushed' && e.data.connectionId === connectionId).length;

/** The tokens our connection holds, decrypted. */
const storedTokens = async (connectionId: string) => {
  const c = await connectionStore(rig.config).get(connectionId);
  const cipher = tokenCipherFromConfig(rig.config);
  return {
    connection: c,
    access: c?.notionTokenCiphertext
      ? await cipher.decrypt(c.notionTokenCiphertext, notionTokenContext(connectionId))
      : undefined,
    refresh: c?.notionRefreshTokenCiphertext
      ? await cipher.decrypt(c.notionRefreshTokenCiphertext, notionRefreshTokenContext(connectionId))
      : undefined,
  };
};

describe('Notion token refresh after a 401 (dynalite + fauxqs + Notion simulator)', () => {
  it('an expired access token: one refresh, the new tokens stored encrypted, the push delivered', async () => {
    const [task] = openTasks() as [string];
    const uri = rig.taskUrl(task);
    const { simConnectionId } = await rig.connect('conn-expired', 'u-alice', [uri]);
    await rig.subscribe(`task:${task}`, 'conn-expired', uri);
    const before = await storedTokens('conn-expired');
    expect(before.refresh).toMatch(/^ntn_/);
    expect(rig.sim.simulator.expireAccessToken(simConnectionId)).toBe(true);
    const from = lastSeq();

    await publishChange(rig, `task:${task}`);
    await runUntil(rig, rig.newHandler(), () => pushedTo('conn-expired') >= 1);

    expect(refreshGrants(from)).toEqual([200]);
    const notion = rig.sim.simulator.connection(simConnectionId);
    const after = await storedTokens('conn-expired');
    expect(after.connection).toMatchObject({ status: 'active', notionTokenVersion: 1 });
    expect(after.connection?.notionRefreshUntil).toBeUndefined();
    // What Notion now accepts is what we store (encrypted): the new access token and the rotated refresh token.
    expect(after.access).toBe(notion?.accessToken);
    expect(after.refresh).toBe(notion?.refreshToken);
    expect(after.refresh).not.toBe(before.refresh);
    expect(after.connection?.notionTokenCiphertext).not.toContain(after.access as string);
    const patches = rig.sim.simulator.log
      .all()
      .filter((e) => e.seq > from && e.url === '/notion/v1/external/object')
      .map((e) => e.status);
    expect(patches).toEqual([401, 200]);
    expect(rig.events.filter((e) => e.event === 'notion_token_refresh').map((e) => e.data)).toEqual([
      { connectionId: 'conn-expired', outcome: 'refreshed', rotated: true },
    ]);
    expect(rig.events.filter((e) => e.event === 'connection_disconnected')).toHaveLength(0);
  }, 30_000);

  it('a refused refresh (the grant revoked at Notion) disconnects as before', async () => {
    const [, task] = openTasks() as [string, string];
    const uri = rig.taskUrl(task);
    const { simConnectionId } = await rig.connect('conn-revoked', 'u-bob', [uri]);
    await rig.subscribe(`task:${task}`, 'conn-revoked', uri);
    rig.sim.simulator.revokeConnection(simConnectionId);
    const from = lastSeq();

    await publishChange(rig, `task:${task}`);
    const store = connectionStore(rig.config);
    await runUntil(rig, rig.newHandler(), async () => (await store.get('conn-revoked'))?.status === 'disconnected');

    expect(refreshGrants(from)).toEqual([400]);
    const c = await store.get('conn-revoked');
    expect(c?.notionTokenCiphertext).toBeUndefined();
    expect(c?.notionRefreshTokenCiphertext).toBeUndefined();
    expect(await subscriptionStore(rig.config).listByConnection('conn-revoked')).toEqual([]);
    expect(
      rig.events.filter((e) => e.event === 'notion_token_refresh' && e.data.connectionId === 'conn-revoked'),
    ).toEqual([
      {
        event: 'notion_token_refresh',
        data: { connectionId: 'conn-revoked', outcome: 'refused', status: 400, code: 'invalid_grant' },
      },
    ]);
  }, 30_000);

  it('concurrent invocations meeting the same 401 spend the refresh token once and deliver every push', async () => {
    const tasks = openTasks().slice(0, 3);
    expect(tasks).toHaveLength(3);
    const uris = tasks.map((t) => rig.taskUrl(t));
    const { simConnectionId } = await rig.connect('conn-busy', 'u-carol', uris);
    for (const [i, t] of tasks.entries()) await rig.subscribe(`task:${t}`, 'conn-busy', uris[i] as string);
    expect(rig.sim.simulator.expireAccessToken(simConnectionId)).toBe(true);
    const from = lastSeq();

    // Three Lambda instances, each given one push of the same connection at the same moment.
    await Promise.all(
      tasks.map((t, i) => {
        const message: PushMessage = {
          type: 'push',
          resource: `task:${t}`,
          window: 'concurrent',
          targets: [{ connectionId: 'conn-busy', uri: uris[i] as string }],
        };
        const record = toRecord({ MessageId: `concurrent-${i}`, ReceiptHandle: 'none', Body: JSON.stringify(message) });
        return rig.newHandler()({ Records: [record] }, lambdaContext());
      }),
    );
    // Whatever was deferred (another invocation held the claim) is delivered from the queue.
    await runUntil(rig, rig.newHandler(), () => pushedTo('conn-busy') >= 3);

    expect(refreshGrants(from)).toEqual([200]);
    expect(pushedTo('conn-busy')).toBe(3);
    const after = await storedTokens('conn-busy');
    expect(after.connection).toMatchObject({ status: 'active', notionTokenVersion: 1 });
    expect(after.access).toBe(rig.sim.simulator.connection(simConnectionId)?.accessToken);
    expect(after.refresh).toBe(rig.sim.simulator.connection(simConnectionId)?.refreshToken);
    const outcomes = rig.events
      .filter((e) => e.event === 'notion_token_refresh' && e.data.connectionId === 'conn-busy')
      .map((e) => e.data.outcome);
    expect(outcomes.filter((o) => o === 'refreshed')).toHaveLength(1);
    expect(outcomes.every((o) => o === 'refreshed' || o === 'waited' || o === 'busy')).toBe(true);
    expect(rig.events.filter((e) => e.event === 'connection_disconnected')).toHaveLength(1); // the revoked one above
  }, 40_000);
});

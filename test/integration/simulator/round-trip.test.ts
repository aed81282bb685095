/**
 * The whole round trip against the real local system: the simulator plays
 * Notion (client and API), the service's OAuth, unfurl and delete handlers,
 * the local IdP and the demo product answer. Driven headlessly.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import type { NotionDriver } from '#local/notion-simulator/driver.js';
import type { NotionSimulator } from '#local/notion-simulator/simulator.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import type { LocalSystem } from '#local/system.js';
import { parseConfig } from '#shared/config.js';
import { demoTaskUrl, editDemoTask, openDriver, startSystemWithSimulator } from '#test/helpers/playground.js';
import { createWebhookPublisher } from '../../../functions/publish/index.js';

let system: LocalSystem;
let sim: NotionSimulator;

beforeAll(async () => {
  ({ system, sim } = await startSystemWithSimulator());
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const taskUrl = (id: number) => demoTaskUrl(system, id);
const editTask = (id: number, title: string) => editDemoTask(system, id, title);

/** The simulator's session behind a driver (its Notion user), read from the cookie jar. */
const sessionOf = (driver: NotionDriver) => {
  const cookie = driver.jar.header(new URL(`${system.baseUrl}/`)) ?? '';
  const id = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(cookie)?.[1] ?? '';
  const session = sim.session(id);
  if (!session) throw new Error('no simulator session for this driver');
  return session;
};

const lastCall = (sessionId: string, label: string) =>
  [...sim.log.all()]
    .reverse()
    .find((e) => e.sessionId === sessionId && e.direction === 'to-service' && e.summary.startsWith(label));

describe('Notion round trip against the local system', () => {
  it('pastes a link: placeholder, sign-in with login and consent, then the card', async () => {
    const driver = await openDriver(system);
    const preview = await driver.paste(taskUrl(1));
    expect(preview.placeholder?.title).toBe('Task #1');
    expect(preview.validationError).toBeUndefined();
    expect(preview.state).toBe('card');
    expect(preview.card?.title).toBeTruthy();
    expect(preview.card?.items.some((i) => i.id === 'dev')).toBe(true);
    const state = await driver.state();
    expect(state.connected).toBe(true);
    // The service exchanged Notion's code in the same round trip, for a stable account key.
    expect(state.notionConnection?.externalAccount.key).toBeTruthy();
    expect(lastCall(sessionOf(driver).id, 'Token request (authorization_code)')?.status).toBe(200);
  }, 20_000);

  it('unfurls again on revisit and sends the unfurl DELETE when the last preview of a link goes', async () => {
    const driver = await openDriver(system);
    const first = await driver.paste(taskUrl(2));
    const second = await driver.paste(taskUrl(2));
    expect(second.state).toBe('card');
    const revisited = await driver.revisit();
    expect(revisited.previews.find((p) => p.id === first.id)?.unfurls).toBeGreaterThanOrEqual(2);
    await driver.remove(first.id);
    expect(lastCall(sessionOf(driver).id, 'Unfurl DELETE')).toBeUndefined();
    await driver.remove(second.id);
    expect(lastCall(sessionOf(driver).id, 'Unfurl DELETE')?.status).toBe(200);
    // By default only Disconnect calls the Deleted Token Callback: the user stays connected.
    expect(lastCall(sessionOf(driver).id, 'Deleted Token Callback')).toBeUndefined();
    expect((await driver.state()).connected).toBe(true);
  }, 20_000);

  it('with remove-and-disconnect, removing one preview ends the connection at the service: the other links stop updating and ask to connect again', async () => {
    sim.configure({ client: { deletedTokenOn: 'remove-and-disconnect' } });
    try {
      const driver = await openDriver(system);
      const kept = await driver.paste(taskUrl(6));
      const removed = await driver.paste(taskUrl(1));
      expect([kept.state, removed.state]).toEqual(['card', 'card']);
      const session = sessionOf(driver);
      const connectionId = (decodeJwt(session.grant?.accessToken as string) as { cid: string }).cid;
      const subscriptions = subscriptionStore(parseConfig(system.env));
      expect((await subscriptions.listByConnection(connectionId)).length).toBe(2);

      await driver.remove(removed.id);
      // The unfurl DELETE of the link, then the Deleted Token Callback; the service answers both 200.
      expect(lastCall(session.id, 'Unfurl DELETE')?.status).toBe(200);
      expect(lastCall(session.id, 'Deleted Token Callback')?.summary).toContain('a preview removed');
      expect(lastCall(session.id, 'Deleted Token Callback')?.status).toBe(200);
      // Per docs/protocol.md#decisions the service ends the whole connection: no subscription is left, so
      // an edit of the task still on the page is not pushed.
      expect(await subscriptions.listByConnection(connectionId)).toEqual([]);
      expect((await connectionStore(parseConfig(system.env)).get(connectionId))?.status).not.toBe('active');

      // Notion still holds the grant and shows the last card until it calls the service again.
      let state = await driver.state();
      expect(state.connected).toBe(true);
      expect(state.previews.find((p) => p.id === kept.id)?.state).toBe('card');
      // The next unfurl (a revisit) is refused, the refresh too: the preview asks to connect again.
      state = await driver.revisit();
      expect(state.connected).toBe(false);
      expect(state.previews.find((p) => p.id === kept.id)?.state).toBe('needs-auth');
      expect(lastCall(session.id, 'Token request (refresh_token)')?.status).toBe(400);
      // Signing in again brings the card back.
      await driver.signIn();
      state = await driver.state();
      expect(state.connected).toBe(true);
      expect(state.previews.find((p) => p.id === kept.id)?.state).toBe('card');
    } finally {
      sim.configure({ client: { deletedTokenOn: 'disconnect' } });
    }
  }, 25_000);

  it('shows an edit in the demo product live, pushed with PATCH /v1/external/object', async () => {
    const driver = await openDriver(system);
    const preview = await driver.paste(taskUrl(6));
    expect(preview.state).toBe('card');
    const title = `Renamed ${Date.now()}`;
    await editTask(6, title);
    const updated = await driver.waitFor(
      (s) => s.previews.some((p) => p.id === preview.id && p.card?.title === title),
      15_000,
    );
    expect(updated.previews.find((p) => p.id === preview.id)?.updates).toBeGreaterThan(0);
    expect(sim.lastPayload(taskUrl(6))).toBeDefined();
  }, 25_000);

  it('shows a change published to the signed webhook POST /changes live, pushed with PATCH /v1/external/object', async () => {
    const driver = await openDriver(system);
    const preview = await driver.paste(taskUrl(2));
    expect(preview.state).toBe('card');
    const title = `Published ${Date.now()}`;
    await editTask(2, title);
    const publisher = createWebhookPublisher({
      url: `${system.baseUrl}/changes`,
      secret: system.env.CHANGES_WEBHOOK_SECRET as string,
    });
    await publisher.publish({ resource: 'task:2', fields: ['title'] });
    const updated = await driver.waitFor(
      (s) => s.previews.some((p) => p.id === preview.id && p.card?.title === title),
      15_000,
    );
    expect(updated.previews.find((p) => p.id === preview.id)?.updates).toBeGreaterThan(0);
    expect(sim.lastPayload(taskUrl(2))).toBeDefined();
  }, 25_000);

  it('renders the error operation for a task the user may not see', async () => {
    const driver = await openDriver(system);
    const preview = await driver.paste(taskUrl(5));
    expect(preview.state).toBe('error');
    expect([403, 404]).toContain(preview.error?.status);
    expect(preview.card).toBeUndefined();
  }, 20_000);

  it('refreshes the service token before it expires, with the rotated refresh token each time', async () => {
    const driver = await openDriver(system);
    const preview = await driver.paste(taskUrl(1));
    const before = await driver.state();
    expect({ error: before.lastAuthError, refreshable: before.grant?.refreshable }).toEqual({
      error: undefined,
      refreshable: true,
    });
    // Treat any token as about to expire: the next two calls each refresh first.
    sim.configure({ client: { refreshMarginSeconds: 24 * 3600 } });
    try {
      await driver.refresh(preview.id);
      await driver.refresh(preview.id);
    } finally {
      sim.configure({ client: { refreshMarginSeconds: 0 } });
    }
    const state = await driver.state();
    expect(state.grant?.refreshCount).toBe(2);
    expect(state.previews[0]?.state).toBe('card');
    expect(lastCall(sessionOf(driver).id, 'Token request (refresh_token)')?.status).toBe(200);
  }, 20_000);

  it('shows a refused consent and stays unconnected', async () => {
    const driver = await openDriver(system, { login: 'carol', password: 'carol-password', decision: 'deny' });
    const preview = await driver.paste(taskUrl(3));
    expect(preview.state).toBe('needs-auth');
    const state = await driver.state();
    expect(state.connected).toBe(false);
    expect(state.lastAuthError).toContain('access_denied');
  }, 20_000);

  it.each(['json-tokens', 'bearer-empty', 'bearer-uri', 'form'] as const)(
    'disconnects with the %s Deleted Token Callback and the service stops accepting the token',
    async (shape) => {
      sim.configure({ client: { deletedTokenShape: shape, deletedTokenMethod: shape === 'form' ? 'POST' : 'DELETE' } });
      const driver = await openDriver(system);
      const preview = await driver.paste(taskUrl(1));
      expect(preview.state).toBe('card');
      const session = sessionOf(driver);
      const ourToken = session.grant?.accessToken as string;
      await driver.disconnect();
      expect(lastCall(session.id, 'Deleted Token Callback')?.status).toBe(200);
      const res = await fetch(`${system.baseUrl}/unfurl`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ourToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uri: taskUrl(1) }),
      });
      expect(res.status).toBe(401);
    },
    20_000,
  );

  it('connects with client_secret_basic and removes a preview with the uri in the query string', async () => {
    sim.configure({ client: { tokenAuth: 'client_secret_basic', unfurlDeleteShape: 'query' } });
    try {
      const driver = await openDriver(system);
      const preview = await driver.paste(taskUrl(1));
      expect(preview.state).toBe('card');
      await driver.remove(preview.id);
      expect(lastCall(sessionOf(driver).id, 'Unfurl DELETE')?.status).toBe(200);
    } finally {
      sim.configure({ client: { tokenAuth: 'client_secret_post', unfurlDeleteShape: 'json' } });
    }
  }, 20_000);
});

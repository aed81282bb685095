/**
 * Unfurl, DELETE and the deleted-token callback against the real local
 * system: embedded DynamoDB, the service handlers behind the local HTTP
 * server, the local IdP, the demo product and the Notion simulator driven
 * headlessly.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectionStore, documentClient, subscriptionStore } from '#adapters/dynamo/factory.js';
import type { ConnectionStore, SubscriptionStore } from '#core/ports.js';
import { snapshotAttributes } from '#core/unfurl/answers.js';
import { validateAttributes } from '#core/unfurl/attributes.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { type NotionSimulator, SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { getConfig, parseConfig } from '#shared/config.js';
import { editDemoTask } from '#test/helpers/playground.js';

let system: LocalSystem;
let sim: NotionSimulator;
let subscriptions: SubscriptionStore;
let connections: ConnectionStore;

const people = {
  alice: { login: 'alice', password: 'alice-password', decision: 'allow' },
  bob: { login: 'bob', password: 'bob-password', decision: 'allow' },
  carol: { login: 'carol', password: 'carol-password', decision: 'allow' },
};

beforeAll(async () => {
  system = await startLocalSystem({ port: 0, workerLoop: false, log: () => undefined });
  const found = simulatorFor(system.baseUrl);
  if (!found) throw new Error('the local system did not mount the Notion simulator');
  sim = found;
  const config = parseConfig(system.env);
  subscriptions = subscriptionStore(config);
  connections = connectionStore(config);
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const taskUrl = (id: number | string) => `${system.baseUrl}/demo/tasks/${id}`;

const signedIn = async (who: keyof typeof people) => {
  const driver = new NotionDriver({ baseUrl: system.baseUrl, formValues: people[who] });
  await driver.open();
  await driver.signIn();
  return driver;
};

/** The access token the simulator holds for a driver's session (what Notion would send us). */
const grantOf = (driver: NotionDriver) => {
  const cookie = driver.jar.header(new URL(`${system.baseUrl}/`)) ?? '';
  const id = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(cookie)?.[1] ?? '';
  const grant = sim.session(id)?.grant;
  if (!grant) throw new Error('no grant for this driver');
  return grant;
};

const apiRequests = async (): Promise<number> =>
  ((await (await fetch(`${system.baseUrl}/demo/api/stats`)).json()) as { apiRequests: number }).apiRequests;

const postUnfurl = (accessToken: string, uri: string) =>
  fetch(`${system.baseUrl}/unfurl`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ uri }),
  });

const connectionIdOf = (accessToken: string): string =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { cid: string }).cid;

describe('unfurl against the local system', () => {
  it('found: the card shows the task with every kind the tracker has, and the subscription is stored', async () => {
    const alice = await signedIn('alice');
    const preview = await alice.paste(taskUrl(1));
    expect(preview.state).toBe('card');
    expect(preview.validationError).toBeUndefined();
    expect(preview.card?.title).toBe('Ship link previews for task links');
    const kinds = new Set(preview.card?.items.map((i) => i.kind));
    for (const kind of ['title', 'plain_text', 'enum', 'date', 'datetime', 'color', 'image'])
      expect(kinds).toContain(kind);
    const html = await alice.paste(taskUrl(2));
    expect(html.card?.items.some((i) => i.kind === 'html')).toBe(true);
    const audio = await alice.paste(taskUrl(6));
    expect(audio.card?.items.some((i) => i.kind === 'audio')).toBe(true);

    const cid = connectionIdOf(grantOf(alice).accessToken);
    const sub = await subscriptions.get('task:1', cid, taskUrl(1));
    expect(sub?.contentHash).toMatch(/^v1:/);
    expect(typeof sub?.snapshot).toBe('string');
    expect(validateAttributes(snapshotAttributes(sub?.snapshot)).ok).toBe(true);
  }, 30_000);

  it('per-user rights: a private task is a card for its owner and a bare 403 for others', async () => {
    const alice = await signedIn('alice');
    expect((await alice.paste(taskUrl(3))).card?.title).toContain('salary');
    const bob = await signedIn('bob');
    const denied = await bob.paste(taskUrl(3));
    expect(denied.state).not.toBe('card');
    expect(denied.error).toEqual({ status: 403, message: 'You do not have access to this content' });
    expect(JSON.stringify(denied)).not.toMatch(/salary|Alice|private/i);
    // And the raw answer reveals nothing either.
    const raw = await (await postUnfurl(grantOf(bob).accessToken, taskUrl(3))).text();
    expect(raw).not.toMatch(/salary|Alice|private/i);
    // Carol sees task 5 (shared with bob and carol), alice does not.
    expect((await (await signedIn('carol')).paste(taskUrl(5))).card?.items.some((i) => i.kind === 'pdf')).toBe(true);
    expect((await alice.paste(taskUrl(5))).error?.status).toBe(403);
  }, 30_000);

  it('missing → 404 and archived → 410, as error operations', async () => {
    const carol = await signedIn('carol');
    expect((await carol.paste(taskUrl(999))).error).toEqual({ status: 404, message: 'Content not found' });
    expect((await carol.paste(taskUrl(4))).error).toEqual({
      status: 410,
      message: 'This content is no longer available',
    });
  }, 30_000);

  it('a uri outside every rule is never fetched: the demo product counts no request', async () => {
    const alice = await signedIn('alice');
    const token = grantOf(alice).accessToken;
    const before = await apiRequests();
    for (const uri of [
      `${system.baseUrl}/demo/api/tasks/1`,
      `${system.baseUrl}/demo/tasks/1/../../api/tasks/1`,
      'http://169.254.169.254/latest/meta-data/',
      `http://localhost:${system.port}/demo/tasks/1`,
    ]) {
      const r = await postUnfurl(token, uri);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({
        uri,
        operations: [{ path: ['error'], set: { status: 404, message: 'No preview is available for this link' } }],
      });
    }
    expect(await apiRequests()).toBe(before);
    // A matching uri is fetched exactly once.
    expect((await postUnfurl(token, taskUrl(1))).status).toBe(200);
    expect(await apiRequests()).toBe(before + 1);
  }, 30_000);

  it('DELETE /unfurl when the last preview of a link goes removes that subscription only', async () => {
    const alice = await signedIn('alice');
    const cid = connectionIdOf(grantOf(alice).accessToken);
    const one = await alice.paste(taskUrl(1));
    await alice.paste(taskUrl(2));
    expect(await subscriptions.get('task:1', cid, taskUrl(1))).toBeDefined();
    await alice.remove(one.id);
    await alice.waitFor(() => true);
    const left = (await subscriptions.listByConnection(cid)).map((s) => s.uri);
    expect(left).not.toContain(taskUrl(1));
    expect(left).toContain(taskUrl(2));
    // Idempotent: a second DELETE for the same uri is 200 with an empty body.
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${system.baseUrl}/unfurl?uri=${encodeURIComponent(taskUrl(1))}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${grantOf(alice).accessToken}` },
      });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('');
    }
  }, 30_000);

  it('a link of up to 2,000 characters, in any script, unfurls, is subscribed and is removed again', async () => {
    const alice = await signedIn('alice');
    const { accessToken } = grantOf(alice);
    const cid = connectionIdOf(accessToken);
    const base = `${taskUrl(2)}?view=`;
    const uris = [
      `${base}${'a'.repeat(2000 - base.length)}`, // 2,000 ASCII characters
      `${base}${'é'.repeat(600)}`, // under 1,000 characters, over 1,024 UTF-8 bytes with the connection id
    ];
    for (const uri of uris) {
      const answer = await postUnfurl(accessToken, uri);
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { uri: string; operations: Array<{ path: string[] }> };
      expect(body.uri).toBe(uri);
      expect(body.operations[0]?.path).toEqual(['attributes']);
      const stored = await subscriptions.get('task:2', cid, uri);
      expect(stored?.uri).toBe(uri);
      // Unfurled again: known, nothing written again.
      expect((await postUnfurl(accessToken, uri)).status).toBe(200);
      const removed = await fetch(`${system.baseUrl}/unfurl`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uri }),
      });
      expect(removed.status).toBe(200);
      expect(await subscriptions.get('task:2', cid, uri)).toBeUndefined();
    }
  }, 30_000);

  it('deleted-token: revokes the connection in one pass; the next unfurl is 401; repeating is harmless', async () => {
    const bob = await signedIn('bob');
    const { accessToken, refreshToken } = grantOf(bob);
    const cid = connectionIdOf(accessToken);
    await bob.paste(taskUrl(1));
    await bob.paste(taskUrl(2));
    expect(await subscriptions.listByConnection(cid)).toHaveLength(2);

    const body = new URLSearchParams({ refresh_token: refreshToken ?? '' }).toString();
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${system.baseUrl}/deleted-token`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(r.status).toBe(200);
    }
    const connection = await connections.get(cid);
    expect(connection?.status).toBe('revoked');
    expect(connection?.notionTokenCiphertext).toBeUndefined();
    expect(await subscriptions.listByConnection(cid)).toEqual([]);

    const r = await postUnfurl(accessToken, taskUrl(1));
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    // Unknown tokens get the same 200.
    const unknown = await fetch(`${system.baseUrl}/deleted-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"token":"nothing-of-ours"}',
    });
    expect(unknown.status).toBe(200);
  }, 30_000);

  it("a revoked or disconnected connection's well-signed token asks the product nothing and writes nothing", async () => {
    const carol = await signedIn('carol');
    const revoked = grantOf(carol);
    const revokedId = connectionIdOf(revoked.accessToken);
    const body = new URLSearchParams({ refresh_token: revoked.refreshToken ?? '' }).toString();
    const r = await fetch(`${system.baseUrl}/deleted-token`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(r.status).toBe(200);
    const alice = await signedIn('alice');
    const disconnected = grantOf(alice).accessToken;
    const disconnectedId = connectionIdOf(disconnected);
    await connections.end(disconnectedId, { status: 'disconnected', reason: 'test', now: Date.now() });

    const before = await apiRequests();
    for (const [token, cid] of [
      [revoked.accessToken, revokedId],
      [disconnected, disconnectedId],
    ] as const) {
      const answer = await postUnfurl(token, taskUrl(3));
      expect(answer.status).toBe(401);
      expect(await subscriptions.get('task:3', cid, taskUrl(3))).toBeUndefined();
    }
    expect(await apiRequests()).toBe(before);
  }, 30_000);

  it('a repeated unfurl with the same answer is one BatchGetItem and no write; an edited task is written again', async () => {
    const alice = await signedIn('alice');
    const token = grantOf(alice).accessToken;
    const cid = connectionIdOf(token);
    const uri = taskUrl(6);
    expect((await postUnfurl(token, uri)).status).toBe(200);
    const first = await subscriptions.get('task:6', cid, uri);
    expect(first?.contentHash).toMatch(/^v1:/);

    // Every DynamoDB command the handlers of this process send, by name.
    const commands: string[] = [];
    const doc = documentClient(getConfig());
    const name = 'unfurlTestCommandLog';
    doc.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      for (let i = 0; i < 3; i++) expect((await postUnfurl(token, uri)).status).toBe(200);
      expect(commands).toEqual(['BatchGetItemCommand', 'BatchGetItemCommand', 'BatchGetItemCommand']);
      expect(await subscriptions.get('task:6', cid, uri)).toEqual(first);

      commands.length = 0;
      await editDemoTask(system, 6, 'Renamed while previewed');
      commands.length = 0;
      const r = await postUnfurl(token, uri);
      expect(JSON.stringify(await r.json())).toContain('Renamed while previewed');
      expect(commands).toEqual(['BatchGetItemCommand', 'UpdateItemCommand']);
      const second = await subscriptions.get('task:6', cid, uri);
      expect(second?.contentHash).not.toBe(first?.contentHash);
      expect(second?.createdAt).toBe(first?.createdAt);
    } finally {
      doc.middlewareStack.remove(name);
    }
  }, 30_000);

  it('stale-while-revalidate: with the task API down or slow, the last snapshot is shown with its age', async () => {
    const alice = await signedIn('alice');
    const preview = await alice.paste(taskUrl(2));
    expect(preview.state).toBe('card');
    const outage = (mode: string) =>
      fetch(`${system.baseUrl}/demo/outage`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `mode=${mode}`,
      });
    try {
      for (const mode of ['down', 'slow']) {
        expect((await outage(mode)).status).toBe(303);
        await alice.refresh(preview.id);
        const again = await alice.preview(preview.id);
        expect(again.state).toBe('card');
        expect(again.card?.title).toBe(preview.card?.title);
        expect(again.card?.items.find((i) => i.id === 'freshness')?.text).toMatch(/^Last updated \d+ seconds? ago/);
      }
      // Without a snapshot there is nothing to fall back on: the service says so with a 503.
      const r = await postUnfurl(grantOf(alice).accessToken, taskUrl(6));
      expect(r.status).toBe(503);
    } finally {
      await outage('up');
    }
    await alice.refresh(preview.id);
    expect((await alice.preview(preview.id)).card?.items.some((i) => i.id === 'freshness')).toBe(false);
  }, 30_000);
});

/**
 * POST /unfurl writes its subscription only when that changes something
 * (docs/adr/0065): a repeated answer with the same content, confirmed within
 * the refresh window, reads and answers without a write; a changed answer, an
 * old confirmation or an unknown stored state writes; an error answer deletes
 * only what exists.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { httpEvent } from '#test/helpers/factories.js';
import { createUnfurlHandler } from '../../../functions/handlers/unfurl.js';
import { bearerFor, clock, context, found, makeConnection, type Result, TASK_URI, unfurlDeps } from './support.js';

const REFRESH_MS = 60_000;
let env: ReturnType<typeof unfurlDeps>;
let post: () => Promise<Result>;

const setUp = async (snapshotRefreshMs: number | undefined) => {
  env = unfurlDeps();
  const deps = snapshotRefreshMs === undefined ? env.deps : { ...env.deps, snapshotRefreshMs };
  const handler = createUnfurlHandler(() => deps);
  const connection = makeConnection('c-1');
  await env.connections.create(connection);
  const authorization = await bearerFor(connection);
  post = async () =>
    (await handler(
      httpEvent({ method: 'POST', path: '/unfurl', body: { uri: TASK_URI }, headers: { authorization } }),
      context,
    )) as Result;
};

const stored = async () => (await env.subscriptions.listByConnection('c-1'))[0];

describe('POST /unfurl: writing the subscription', () => {
  beforeEach(() => setUp(REFRESH_MS));

  it('an unchanged answer within the window is answered in full with one read and no write', async () => {
    expect((await post()).statusCode).toBe(200);
    expect(env.writes.upserts).toBe(1);
    const first = await stored();
    clock.t += REFRESH_MS - 1;
    const again = await post();
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body ?? '{}').operations[0].path).toEqual(['attributes']);
    expect(env.writes.upserts).toBe(1);
    expect(env.reads()).toBe(2);
    expect(await stored()).toEqual(first);
  });

  it('a changed answer is written at once, with the new hash and snapshot', async () => {
    await post();
    const first = await stored();
    env.source.next = async () => found('Task one, renamed');
    clock.t += 1;
    await post();
    expect(env.writes.upserts).toBe(2);
    const second = await stored();
    expect(second?.contentHash).not.toBe(first?.contentHash);
    expect(String(second?.snapshot)).toContain('Task one, renamed');
    expect(second?.createdAt).toBe(first?.createdAt);
  });

  it('an unchanged answer confirmed longer ago than the window refreshes the snapshot time', async () => {
    await post();
    clock.t += REFRESH_MS;
    await post();
    expect(env.writes.upserts).toBe(2);
    expect((await stored())?.snapshotAt).toBe(clock.now());
  });

  it('a subscription removed in between (DELETE /unfurl) is recorded again', async () => {
    await post();
    const first = await stored();
    if (!first) throw new Error('no subscription recorded');
    await env.subscriptions.delete(first.resourceKey, first.connectionId, first.uri);
    await post();
    expect(env.writes.upserts).toBe(2);
    expect((await stored())?.uri).toBe(TASK_URI);
  });

  it('an error answer deletes a stored subscription, and sends no delete when there is none', async () => {
    env.source.next = async () => ({ outcome: 'forbidden' });
    await post();
    expect(env.writes.deletes).toBe(0);
    env.source.next = async () => found('Task one');
    await post();
    env.source.next = async () => ({ outcome: 'not_found' });
    await post();
    expect(env.writes.deletes).toBe(1);
    expect(await stored()).toBeUndefined();
  });
});

describe('POST /unfurl without a refresh window', () => {
  it.each([
    ['absent', undefined],
    ['0', 0],
  ])('window %s: every found unfurl writes', async (_label, window) => {
    await setUp(window);
    await post();
    await post();
    expect(env.writes.upserts).toBe(2);
  });
});

/**
 * The whole system as `npm start` runs it (every local part mounted): the
 * Notion simulator's headless driver pastes a demo link, signs in at the local
 * identity provider, consents, and gets a rendered preview card.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectionStore } from '#adapters/dynamo/factory.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { parseConfig } from '#shared/config.js';
import { openDriver } from '#test/helpers/playground.js';

let system: LocalSystem;

beforeAll(async () => {
  system = await startLocalSystem({ port: 0, workerLoop: false, log: () => undefined });
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

describe('connecting from the Notion simulator', () => {
  it('paste → sign in at /idp → consent → card; the Notion side and ours agree on the connection', async () => {
    const driver = await openDriver(system);
    const preview = await driver.paste(`${system.baseUrl}/demo/tasks/1`);
    expect(preview.state).toBe('card');
    expect(preview.card?.title).toEqual(expect.any(String));

    const notionSide = simulatorFor(system.baseUrl)?.connectionByExternalKey('u-alice');
    expect(notionSide?.externalAccount.name).toBe('Alice Anderson');
    const [ours] = await connectionStore(parseConfig(system.env)).listBySubject('u-alice', Date.now());
    expect(ours).toMatchObject({ status: 'active', notion: { botId: notionSide?.botId } });
  });

  it('deny at the consent page: Notion shows the refusal and nothing is connected', async () => {
    const driver = await openDriver(system, { login: 'bob', password: 'bob-password', decision: 'deny' });
    const preview = await driver.paste(`${system.baseUrl}/demo/tasks/2`);
    expect(preview.state).not.toBe('card');
    const state = await driver.state();
    expect(JSON.stringify(state)).toMatch(/access_denied/);
    expect(await connectionStore(parseConfig(system.env)).listBySubject('u-bob', Date.now())).toHaveLength(0);
  });
});

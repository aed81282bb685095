/**
 * The service's access token at the end of its life, against the real local system (docs/protocol.md
 * §2.6): Notion refreshes it once `expires_in` has passed since it got it, not before, so it presents
 * the token up to its last moment; the service accepts it until then. Short-lived tokens (3 s) make
 * the test quick.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import type { NotionSimulator } from '#local/notion-simulator/simulator.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { runLogLevel } from '#test/helpers/output.js';
import { demoTaskUrl, openDriver } from '#test/helpers/playground.js';

const TTL_SECONDS = 3;
let system: LocalSystem;
let sim: NotionSimulator;

beforeAll(async () => {
  system = await startLocalSystem({
    port: 0,
    workerLoop: false,
    env: { LOG_LEVEL: runLogLevel(), ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) },
    log: () => undefined,
  });
  const mounted = simulatorFor(system.baseUrl);
  if (!mounted) throw new Error('the local system did not mount the Notion simulator');
  sim = mounted;
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const unfurlStatuses = () =>
  sim.log
    .all()
    .filter((e) => e.direction === 'to-service' && e.summary.startsWith('Unfurl callback'))
    .map((e) => e.status);

describe("the service's token until it expires (§2.6)", () => {
  it('is used until expires_in has passed, accepted by the service to the end, then refreshed once', async () => {
    const driver = await openDriver(system);
    const preview = await driver.paste(demoTaskUrl(system, 1));
    expect(preview.state).toBe('card');
    const connected = await driver.state();
    const expiresAt = connected.grant?.expiresAt ?? 0;
    expect(expiresAt).toBeGreaterThan(Date.now());
    expect(connected.grant?.refreshable).toBe(true);

    // Within its lifetime, however close to the end, Notion does not refresh: the service's token goes as it is.
    await sleep(Math.max(0, expiresAt - Date.now() - 400));
    const late = await driver.refresh(preview.id);
    expect(late.grant?.refreshCount).toBe(0);
    expect(late.previews.find((p) => p.id === preview.id)?.state).toBe('card');
    expect(unfurlStatuses().at(-1)).toBe(200);

    // Once it has expired, the next call refreshes first, once, and the unfurl goes through with the new token.
    await sleep(Math.max(0, expiresAt - Date.now() + 50));
    const after = await driver.refresh(preview.id);
    expect(after.grant?.refreshCount).toBe(1);
    expect(after.grant?.expiresAt).toBeGreaterThan(expiresAt);
    expect(after.previews.find((p) => p.id === preview.id)?.state).toBe('card');
    expect(unfurlStatuses().at(-1)).toBe(200);
    expect(unfurlStatuses()).not.toContain(401);
  }, 30_000);
});

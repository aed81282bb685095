/**
 * The local system's request log: one INFO line per request (method, path
 * without query string, status, ms) and one per push Notion receives, through
 * the log the system is given; never a token, code, cookie or query string.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { demoTaskUrl, editDemoTask, openDriver } from '#test/helpers/playground.js';
import { createWebhookPublisher } from '../../../functions/publish/index.js';

const lines: Array<{ level: string; message: string }> = [];
let system: LocalSystem;

beforeAll(async () => {
  system = await startLocalSystem({
    port: 0,
    workerWaitSeconds: 1,
    env: { LOG_LEVEL: 'ERROR' },
    log: (level, message) => {
      lines.push({ level, message });
    },
  });
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const waitForLine = async (pattern: RegExp, timeoutMs = 10_000): Promise<string> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = lines.find((l) => pattern.test(l.message));
    if (hit) return hit.message;
    if (Date.now() > deadline) throw new Error(`no log line matched ${pattern}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('request log of the local system', () => {
  it('logs each request and each push at INFO, without query strings, tokens, codes or cookies', async () => {
    const sim = simulatorFor(system.baseUrl);
    if (!sim) throw new Error('no simulator mounted');
    const health = await fetch(`${system.baseUrl}/healthz?token=should-not-appear`);
    expect(health.status).toBe(200);
    expect(await waitForLine(/^\[http\] GET \/healthz 200 \d+ms$/)).toBeTruthy();

    // A whole connect: authorize (code and state in the query), IdP, consent, token exchange, unfurl.
    const driver = await openDriver(system);
    const preview = await driver.paste(demoTaskUrl(system, 1));
    expect(preview.state).toBe('card');
    await waitForLine(/^\[http\] GET \/oauth\/authorize 302 \d+ms$/);
    await waitForLine(/^\[http\] POST \/oauth\/token 200 \d+ms$/);
    await waitForLine(/^\[http\] POST \/unfurl 200 \d+ms$/);

    // A push from the worker, received by the simulated Notion.
    const title = `Logged ${Date.now()}`;
    await editDemoTask(system, 1, title);
    await createWebhookPublisher({
      url: `${system.baseUrl}/changes`,
      secret: system.env.CHANGES_WEBHOOK_SECRET as string,
    }).publish({ resource: 'task:1', fields: ['title'] });
    const push = await waitForLine(/^\[notion\] PATCH \/v1\/external\/object uri=\S+ bot=[\w-]+ → 200$/, 15_000);
    expect(push).toContain(`uri=${demoTaskUrl(system, 1)} `);
    await waitForLine(/^\[http\] PATCH \/notion\/v1\/external\/object 200 \d+ms$/);

    const info = lines.filter((l) => l.level === 'info').map((l) => l.message);
    for (const line of info.filter((l) => l.startsWith('[http] ')))
      expect(line).toMatch(/^\[http\] [A-Z]+ \/\S* \d{3} \d+ms( \(client went away\))?$/);

    // Nothing secret in any line.
    const sessionId = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(
      driver.jar.header(new URL(`${system.baseUrl}/`)) ?? '',
    )?.[1] as string;
    const session = sim.session(sessionId);
    const connection = sim.connectionByExternalKey('u-alice');
    const secrets = [
      sessionId,
      session?.grant?.accessToken,
      session?.grant?.refreshToken,
      connection?.accessToken,
      system.env.OAUTH_CLIENT_SECRET,
      system.env.NOTION_CLIENT_SECRET,
      'should-not-appear',
    ].filter((s): s is string => typeof s === 'string' && s !== '');
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    const all = lines.map((l) => l.message).join('\n');
    for (const secret of secrets) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/[?&](code|state|token)=|Bearer|cookie/i);
  }, 40_000);
});

/**
 * The fuzzers of test/handlers/fuzz over real HTTP against the whole local
 * system: production wiring, DynamoDB adapters on dynalite, secrets from the
 * settings. No 5xx, no stack trace, no secret or minted token in an answer or
 * a log line. Seeded like the in-process suite (`FUZZ_SEED`); `FUZZ_RUNS`
 * scales it (default 40 per route here; `npm run fuzz:http` runs 2,000).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ROUTES, routeKey } from '#lib/routes.js';
import type { LocalSystem } from '#local/system.js';
import { logger } from '#shared/observability.js';
import { createHttpWorld } from '#test/fuzz/http-world.js';
import { captureOutput, fuzzSeed, logProblems, requestsFor, sendChecked } from '#test/fuzz/requests.js';
import type { World } from '#test/fuzz/world.js';
import { runLogLevel } from '#test/helpers/output.js';
import { startTestSystem } from '#test/helpers/system.js';

const runs = (): number => {
  const n = Number.parseInt(process.env.FUZZ_RUNS ?? '', 10);
  if (Number.isFinite(n) && n > 0) return n;
  return process.env.npm_lifecycle_event === 'fuzz:http' ? 2_000 : 40;
};
const RUNS = runs();
const SEED = fuzzSeed();

let system: LocalSystem;
let world: World;

beforeAll(async () => {
  process.stdout.write(
    `\nhttp fuzz: seed=${SEED} runs=${RUNS} per route (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})\n`,
  );
  system = await startTestSystem({ workerLoop: false, env: { LOG_LEVEL: 'DEBUG' } });
  world = await createHttpWorld(system);
}, 30_000);

afterAll(async () => {
  logger.setLogLevel(runLogLevel());
  await system?.stop();
});

describe.each(ROUTES.map(routeKey))('http fuzz %s', (key) => {
  it(
    'no 5xx, no stack trace, no secret in the answer or the logs',
    async () => {
      const capture = captureOutput();
      // Every level while the output is captured and scanned for secrets and stack traces.
      logger.setLogLevel('DEBUG');
      const failures: string[] = [];
      try {
        await fc.assert(
          fc.asyncProperty(requestsFor(world, key), async ({ event }) => {
            const { result, problems } = await sendChecked(world, key, event);
            if (problems.length > 0) {
              failures.push(
                `${problems.join('; ')} for ${JSON.stringify(event).slice(0, 400)}: ${(result.body ?? '').slice(0, 200)}`,
              );
              return false;
            }
            return true;
          }),
          { numRuns: RUNS, seed: SEED, endOnFailure: true },
        );
      } catch (error) {
        capture.stop();
        throw new Error(`${failures[0] ?? ''}\n${(error as Error).message}`);
      } finally {
        logger.setLogLevel(runLogLevel());
        capture.stop();
      }
      expect(logProblems(capture.lines, world.secrets).slice(0, 3)).toEqual([]);
    },
    20_000 + RUNS * 50,
  );
});

describe('input at DynamoDB key-size limits (2,048 bytes partition, 1,024 sort)', () => {
  const HUGE = '7'.repeat(3000);
  const post = (path: string, init: RequestInit) => fetch(`${system.baseUrl}${path}`, { method: 'POST', ...init });
  const form = (fields: Record<string, string>) => ({
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  it.each([
    [
      'unfurl of a task id of 3,000 digits',
      () =>
        post('/unfurl', {
          headers: { authorization: `Bearer ${world.minted.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ uri: `${system.baseUrl}/demo/tasks/${HUGE}` }),
        }),
    ],
    [
      'unfurl DELETE of such a uri',
      () =>
        fetch(`${system.baseUrl}/unfurl`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${world.minted.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ uri: `${system.baseUrl}/demo/tasks/${HUGE}` }),
        }),
    ],
    [
      'a refresh token naming a connection id of 3,000 characters',
      () =>
        post(
          '/oauth/token',
          form({
            grant_type: 'refresh_token',
            refresh_token: `${HUGE}.abc`,
            client_id: system.env.OAUTH_CLIENT_ID as string,
            client_secret: system.env.OAUTH_CLIENT_SECRET as string,
          }),
        ),
    ],
    [
      'an authorization code of 10,000 characters',
      () =>
        post(
          '/oauth/token',
          form({
            grant_type: 'authorization_code',
            code: HUGE.repeat(3).slice(0, 10_000),
            redirect_uri: 'https://www.notion.so/externalintegrationauthcallback',
            client_id: system.env.OAUTH_CLIENT_ID as string,
            client_secret: system.env.OAUTH_CLIENT_SECRET as string,
          }),
        ),
    ],
    [
      'a deleted-token callback with such a refresh token',
      () => post('/deleted-token', form({ refresh_token: `${HUGE}.x` })),
    ],
    [
      'a pending cookie of 3,000 characters',
      () =>
        fetch(`${system.baseUrl}/oauth/callback?code=ok&state=s`, {
          headers: { cookie: `nlp_oauth_pending=${HUGE}` },
          redirect: 'manual',
        }),
    ],
  ])('%s: no 5xx', async (_name, send) => {
    const res = await send();
    const text = await res.text();
    expect(res.status).toBeLessThan(500);
    expect(text).not.toMatch(/ValidationException|\n\s+at /);
  });
});

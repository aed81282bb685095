/**
 * npm run load: a bounded loopback load test of the unfurl callback and the
 * token endpoint against the whole local system (dynalite, the demo product,
 * real token signing), with autocannon. Prints throughput and latency per
 * target and exits non-zero on any error, timeout or non-2xx answer.
 *
 *   npm run load                       # about 60 s: 30 s unfurl, 30 s token
 *   npm run load -- --duration 20      # total seconds, split between the targets
 *   npm run load -- --connections 20   # concurrent connections per target (default 10)
 *   npm run load -- --json             # the figures as JSON on stdout
 *   LOAD_DURATION=20 npm run load
 *
 * Unfurl: POST /unfurl with a valid Bearer token for a demo task (a full
 * resolve through the demo product's API each time, the subscription upsert
 * included). Token: POST /oauth/token with grant_type=refresh_token, as Notion
 * refreshes; each answer's rotated refresh token is used by a later request,
 * so every request is a real, successful rotation.
 */

import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { connectionStore } from '#adapters/dynamo/factory.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { issueAccessToken } from '#core/oauth/access-token.js';
import { seededConnection, seedGrant } from '#local/seed-grant.js';
import { startLocalSystem } from '#local/system.js';
import { getConfig } from '#shared/config.js';
import { systemRandom } from '#shared/crypto.js';
import { type CliArgs, isEntryPoint, positiveInt, progress, runCli } from './cli.js';

/** The part of autocannon's API used here (the package ships no types). */
interface LoadRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: LoadRequest) => LoadRequest;
  onResponse?: (status: number, body: string) => void;
}
interface LoadOptions extends LoadRequest {
  url: string;
  connections: number;
  duration: number;
  requests?: LoadRequest[];
}
interface LoadResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number; average: number };
  latency: { p50: number; p90: number; p99: number; max: number };
}
type AutocannonInstance = {
  stop(): void;
  on(event: 'response', listener: () => void): void;
};
type Autocannon = (options: LoadOptions, done: (error: Error | null, result: LoadResult) => void) => AutocannonInstance;
const autocannonModule = 'autocannon';

export const CLI = {
  name: 'load',
  usage: ['npm run load -- [--duration <seconds>] [--connections <n>] [--json]'],
  description: `A bounded loopback load test of POST /unfurl and POST /oauth/token (refresh grant) against
the whole local system, started on an ephemeral 127.0.0.1 port for the run and stopped after.
Prints throughput and latency per target; exits 1 on any error, timeout or non-2xx answer.
Progress goes to stderr.`,
  options: {
    duration: {
      type: 'string',
      value: '<seconds>',
      description: 'total seconds, split between the two targets (default 60, or LOAD_DURATION)',
    },
    connections: {
      type: 'string',
      value: '<n>',
      description: 'concurrent connections per target (default 10, or LOAD_CONNECTIONS)',
    },
    json: { type: 'boolean', description: 'print the figures as JSON on stdout instead of a table' },
  },
  examples: ['npm run load', 'npm run load -- --duration 20 --connections 20', 'LOAD_DURATION=20 npm run load'],
  notes: ['Exit status: 0 all answers 2xx, 1 errors or non-2xx answers (or a failure), 2 wrong usage.'],
} as const;

interface Summary {
  readonly target: string;
  readonly seconds: number;
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}

const summarize = (target: string, r: LoadResult): Summary => ({
  target,
  seconds: r.duration,
  requests: r.requests.total,
  rps: r.requests.average,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  max: r.latency.max,
  errors: r.errors,
  timeouts: r.timeouts,
  non2xx: r.non2xx,
});

/** Runs one autocannon target, with a progress line on stderr every 5 seconds. */
const run = async (target: string, options: LoadOptions, say: (text: string) => void): Promise<LoadResult> => {
  const autocannon = ((await import(autocannonModule)) as { default: Autocannon }).default;
  say(`${target}: ${options.duration} s with ${options.connections} connections…`);
  const started = Date.now();
  let answered = 0;
  return new Promise((resolve, reject) => {
    const ticker = setInterval(() => {
      const seconds = Math.round((Date.now() - started) / 1000);
      say(`${target}: ${seconds}/${options.duration} s, ${answered} answers`);
    }, 5_000);
    const stopOnInterrupt = () => instance.stop();
    const instance = autocannon(options, (error, result) => {
      clearInterval(ticker);
      process.off('SIGINT', stopOnInterrupt);
      if (error) reject(error);
      else resolve(result);
    });
    instance.on('response', () => {
      answered += 1;
    });
    process.once('SIGINT', stopOnInterrupt);
  });
};

const settingOrOption = (option: string | undefined, name: string, envName: string): number | undefined =>
  option !== undefined
    ? positiveInt(option, `--${name}`)
    : positiveInt(process.env[envName] === '' ? undefined : process.env[envName], envName);

const main = async ({ values }: CliArgs<typeof CLI.options>): Promise<number> => {
  const totalSeconds = settingOrOption(values.duration, 'duration', 'LOAD_DURATION') ?? 60;
  const connections = settingOrOption(values.connections, 'connections', 'LOAD_CONNECTIONS') ?? 10;
  const perTarget = Math.max(2, Math.floor(totalSeconds / 2));
  const say = progress(CLI.name);
  say(`${perTarget} s per target, ${connections} connections, loopback only; starting the local system…`);
  const startedAt = Date.now();
  const system = await startLocalSystem({
    port: 0,
    workerLoop: false,
    env: { LOG_LEVEL: 'ERROR' },
    log: (level, message) => {
      if (level === 'error') process.stderr.write(`${message}\n`);
    },
  });
  say(`local system up on ${system.baseUrl} in ${Date.now() - startedAt} ms`);
  const summaries: Summary[] = [];
  try {
    const config = getConfig();
    // Unfurl: one connection of ours with a real access token.
    const unfurlConnection = seededConnection('load-unfurl', system.env.OAUTH_CLIENT_ID as string, 'Alice (load test)');
    await connectionStore(config).create(unfurlConnection);
    const { token } = await issueAccessToken(unfurlConnection, accessTokenSettings(config, loadSecret), {
      clock: { now: () => Date.now() },
      random: systemRandom,
    });
    const unfurl = await run(
      'POST /unfurl',
      {
        url: `${system.baseUrl}/unfurl`,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uri: `${system.baseUrl}/demo/tasks/1` }),
        connections,
        duration: perTarget,
      },
      say,
    );
    summaries.push(summarize('POST /unfurl', unfurl));

    // Token: a pool of grants; each request rotates one refresh token and returns the new one to the pool.
    say(`seeding ${connections + 2} grants for the token endpoint…`);
    const pool: string[] = [];
    for (let i = 0; i < connections + 2; i++)
      pool.push((await seedGrant(system, `load-token-${i}`, 'Alice (load test)')).refreshToken);
    const clientId = system.env.OAUTH_CLIENT_ID as string;
    const clientSecret = system.env.OAUTH_CLIENT_SECRET as string;
    const tokenRun = await run(
      'POST /oauth/token',
      {
        url: `${system.baseUrl}/oauth/token`,
        connections,
        duration: perTarget,
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const refresh = pool.shift() ?? 'pool-exhausted';
              return {
                ...request,
                headers: { ...request.headers, 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({
                  grant_type: 'refresh_token',
                  refresh_token: refresh,
                  client_id: clientId,
                  client_secret: clientSecret,
                }).toString(),
              };
            },
            onResponse: (status, body) => {
              if (status !== 200) return;
              const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
              if (next) pool.push(next);
            },
          },
        ],
      },
      say,
    );
    summaries.push(summarize('POST /oauth/token (refresh_token)', tokenRun));
  } finally {
    // Let the last in-flight requests finish their writes before the emulators close.
    await new Promise((r) => setTimeout(r, 1_000));
    say('stopping the local system…');
    await system.stop();
  }

  const failed = summaries.filter((s) => s.errors + s.timeouts + s.non2xx > 0);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ pass: failed.length === 0, summaries }, null, 2)}\n`);
    return failed.length > 0 ? 1 : 0;
  }

  const pad = (s: string | number, n: number) => String(s).padStart(n);
  process.stdout.write(
    `\n${'target'.padEnd(34)}${pad('req/s', 9)}${pad('requests', 10)}${pad('p50 ms', 8)}${pad('p90 ms', 8)}${pad('p99 ms', 8)}${pad('max ms', 8)}${pad('errors', 8)}${pad('non-2xx', 9)}\n`,
  );
  for (const s of summaries) {
    process.stdout.write(
      `${s.target.padEnd(34)}${pad(s.rps.toFixed(0), 9)}${pad(s.requests, 10)}${pad(s.p50, 8)}${pad(s.p90, 8)}${pad(s.p99, 8)}${pad(s.max, 8)}${pad(s.errors + s.timeouts, 8)}${pad(s.non2xx, 9)}\n`,
    );
  }
  if (failed.length > 0) {
    process.stdout.write(`\nload: FAILED (${failed.map((s) => s.target).join(', ')} had errors or non-2xx answers)\n`);
    return 1;
  }
  process.stdout.write('\nload: OK, 0 errors\n');
  return 0;
};

if (isEntryPoint(import.meta.url)) process.exitCode = await runCli(CLI, process.argv.slice(2), main);

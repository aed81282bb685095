/**
 * The request path figures, against the whole local system on 127.0.0.1
 * (dynalite, the demo product as the source, the Notion simulator, the local
 * IdP): unfurl in-process next to the minimal handler, DynamoDB reads per
 * unfurl, the HTTP path with autocannon, and the token endpoint's refresh
 * grant; the handlers run as deployed bundles in a handler host
 * (bench/handler-host.ts), which also counts their traffic.
 */
import { execFile } from 'node:child_process';
import { KeyObject } from 'node:crypto';
import path from 'node:path';
import { SignJWT } from 'jose';
import { demoApiAudience } from '#adapters/sources/demo-product.js';
import { parseSigningKeys } from '#core/oauth/signing-keys.js';
import { ENV } from '#lib/env-names.js';
import { forkUntilReady } from '#local/child-process.js';
import { MAX_CONCURRENCY_VARIABLE } from '#local/invocations.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import { startLocalSystem } from '#local/system.js';
import { getConfig } from '#shared/config.js';
import { httpEvent } from '#test/helpers/factories.js';
import { bundle, ROOT } from './build.js';
import { OUT_DIR } from './bundles.js';
import { type Placement, placeForMeasurement } from './cpus.js';
import type {
  CpuReply,
  HostReply,
  HostRequest,
  MeasuredReply,
  RefreshChainRequest,
  ServedReply,
  TrafficFigures,
} from './handler-host.js';
import { percentile, round } from './stats.js';

interface AutocannonResult {
  readonly requests: { readonly average: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
}

const runAutocannon = (args: readonly string[]): Promise<AutocannonResult> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'), ...args],
      { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (error, stdout) => {
        if (error) reject(error);
        else resolve(JSON.parse(stdout) as AutocannonResult);
      },
    );
  });

export interface HttpFigures {
  /** Seconds of the same load run first and discarded, so that the measured run finds the host warm. */
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly connections: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  /** The handler host's CPU time (every thread) per request of the measured run: what bounds req/s when its core is full. */
  readonly hostCpuMsPerRequest: number;
}

type Ask = <R extends HostReply>(request: HostRequest) => Promise<Extract<R, { ok: true }>>;

/**
 * autocannon against one POST route with a bearer token and a `{uri}` body:
 * a warm-up run (discarded; V8 takes thousands of requests to settle on a
 * path this size), then the measured run, with the handler host's CPU time
 * read before and after it.
 */
const loadOverHttp = async (
  options: Pick<ServiceOptions, 'httpSeconds' | 'httpConnections' | 'httpWarmupSeconds'>,
  ask: Ask,
  url: string,
  token: string,
  uri: string,
): Promise<HttpFigures> => {
  const run = (seconds: number) =>
    runAutocannon([
      '-j',
      '-n',
      '-c',
      String(options.httpConnections),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      `authorization=Bearer ${token}`,
      '-H',
      'content-type=application/json',
      '-b',
      JSON.stringify({ uri }),
      url,
    ]);
  if (options.httpWarmupSeconds > 0) await run(options.httpWarmupSeconds);
  const before = (await ask<CpuReply>({ kind: 'cpu' })).cpuMs;
  const r = await run(options.httpSeconds);
  const after = (await ask<CpuReply>({ kind: 'cpu' })).cpuMs;
  const requests = r['2xx'] + r.non2xx;
  return {
    warmupSeconds: options.httpWarmupSeconds,
    durationSeconds: options.httpSeconds,
    connections: options.httpConnections,
    requestsPerSecond: round(r.requests.average, 1),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    hostCpuMsPerRequest: requests > 0 ? round((after - before) / requests) : 0,
  };
};

export interface LatencyFigures {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

/** What one handler's timed calls sent, per call (bench/handler-host.ts counts it). */
export interface TrafficPerCall {
  /** Reads of the connections table per call (the token check). */
  readonly tokenCheckReadsPerCall: number;
  /** Every DynamoDB command per call, by name. */
  readonly dynamoCommandsPerCall: Readonly<Record<string, number>>;
  /** Mean time per call spent in DynamoDB requests (request sent to response read). */
  readonly dynamoMsPerCall: number;
  /** Requests to the source (the demo product's API) per call, and the mean time per call until their answer headers. */
  readonly sourceCallsPerCall: number;
  readonly sourceMsPerCall: number;
}

export interface ServiceFigures {
  readonly unfurl: LatencyFigures & TrafficPerCall;
  /** The floor, with the same counts: where the unfurl's time beyond it goes (DynamoDB, the source, the rest). */
  readonly minimal: LatencyFigures & TrafficPerCall;
  /** Where the in-process figures were taken: the handler host and whether it had a CPU of its own. */
  readonly inProcess: Placement & { readonly host: 'deployed bundles, plain node' };
  readonly http: HttpFigures;
  /** The minimal handler behind the same local API Gateway stand-in, loaded the same way. */
  readonly httpMinimal: HttpFigures;
  readonly token: LatencyFigures;
}

const figures = (samples: readonly number[]): LatencyFigures => ({
  calls: samples.length,
  p50Ms: round(percentile(samples, 50)),
  p99Ms: round(percentile(samples, 99)),
  meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
});

/** Forks bench/product-process.ts and waits for its base URL. */
const startProductProcess = async (): Promise<{
  baseUrl: string;
  /** Tells the product which service's assertions to accept (their issuer, whose JWKS it fetches). */
  trust(serviceIssuer: string): Promise<void>;
  stop(): Promise<void>;
}> => {
  const child = await forkUntilReady<{ baseUrl?: unknown }>(
    path.join(ROOT, 'bench', 'product-process.ts'),
    'the demo product process',
  );
  if (typeof child.message.baseUrl !== 'string') {
    await child.stop();
    throw new Error('the demo product process did not start: no base URL');
  }
  const trust = (serviceIssuer: string) =>
    new Promise<void>((resolve) => {
      child.process.once('message', () => resolve());
      child.process.send({ serviceIssuer });
    });
  return { baseUrl: child.message.baseUrl, trust, stop: child.stop };
};

/** What is measured is the code path; log lines to a terminal would dominate it. */
const quietHandlers = { LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' } as const;

/** The request path's bundles, built like the deployed ones (bench/build.ts), and the handler host. */
const buildRequestPathBundles = async () => {
  const dir = path.join(OUT_DIR, 'request-path');
  const built = async (name: string, entry: string) => (await bundle(name, entry, dir, { sdkExternal: true })).file;
  return {
    unfurl: await built('unfurl', 'functions/unfurl.ts'),
    token: await built('oauth-token', 'functions/oauth-token.ts'),
    minimal: await built('minimal', 'bench/minimal-handler.ts'),
    host: await built('handler-host', 'bench/handler-host.ts'),
  };
};

/**
 * Starts a fresh handler host (plain node, no TypeScript loader, the local
 * system's settings in its environment, a CPU of its own where that can be
 * arranged: bench/cpus.ts), lets `use` ask it, and ends it.
 */
const withHandlerHost = async <T>(
  hostFile: string,
  env: Record<string, string>,
  use: (ask: Ask, placement: Placement) => Promise<T>,
): Promise<T> => {
  // One invocation at a time, as the default Lambda runtime: not the local system's concurrent invocations
  // (its AWS_LAMBDA_MAX_CONCURRENCY is in this process's environment while it runs, ADR 0144).
  const host = await forkUntilReady(hostFile, 'the handler host', {
    env: { ...env, NODE_OPTIONS: '', [MAX_CONCURRENCY_VARIABLE]: undefined },
    execArgv: [],
  });
  const exited = new Promise<never>((_, reject) =>
    host.process.once('exit', (code) => reject(new Error(`the handler host exited (code ${code})`))),
  );
  exited.catch(() => undefined);
  const ask: Ask = async <R extends HostReply>(request: HostRequest): Promise<Extract<R, { ok: true }>> => {
    const reply = await Promise.race([
      new Promise<HostReply>((resolve) => {
        host.process.once('message', resolve);
        host.process.send(request);
      }),
      exited,
    ]);
    if (!reply.ok) throw new Error(`the handler host failed: ${reply.error}`);
    return reply as Extract<R, { ok: true }>;
  };
  const { placement, release } = placeForMeasurement(host.process.pid ?? 0);
  try {
    return await use(ask, placement);
  } finally {
    release();
    await host.stop();
  }
};

export interface ServiceOptions {
  readonly unfurlCalls: number;
  /** Untimed calls of each handler before the timed ones: V8 settles on optimised code only after a few thousand. */
  readonly unfurlWarmupCalls: number;
  readonly tokenCalls: number;
  readonly tokenWarmupCalls: number;
  readonly httpSeconds: number;
  readonly httpWarmupSeconds: number;
  readonly httpConnections: number;
}

export const measureService = async (options: ServiceOptions): Promise<ServiceFigures> => {
  const minimalSecret = 'bench-minimal-handler-secret-0123456789abcdef';
  // The source: the demo product in a process of its own, as a team's product runs elsewhere.
  const product = await startProductProcess();
  const system = await startLocalSystem({
    port: 0,
    workerLoop: false,
    // DynamoDB, too, works elsewhere than the function: dynalite on the other core.
    emulators: { dynamoProcess: 'child' },
    env: {
      ...quietHandlers,
      [ENV.SOURCE_BASE_URL]: product.baseUrl,
    },
    log: (level, message) => {
      if (level === 'error') process.stderr.write(`local system: ${message}\n`);
    },
  });
  await product.trust(system.env[ENV.PUBLIC_BASE_URL] ?? system.baseUrl);
  try {
    const sim = simulatorFor(system.baseUrl);
    if (!sim) throw new Error('the local system did not mount the Notion simulator');
    // A real connection, made as Notion makes it: sign-in, consent, code exchange.
    const driver = new NotionDriver({
      baseUrl: system.baseUrl,
      formValues: { login: 'alice', password: 'alice-password', decision: 'allow' },
    });
    await driver.open();
    await driver.signIn();
    const cookie = driver.jar.header(new URL(`${system.baseUrl}/`)) ?? '';
    const sessionId = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(cookie)?.[1] ?? '';
    const grant = sim.session(sessionId)?.grant;
    if (!grant?.refreshToken) throw new Error('the simulator holds no grant with a refresh token');
    const { accessToken, refreshToken } = grant;
    const connectionId = (
      JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { cid: string }
    ).cid;

    const minimalToken = await new SignJWT({ cid: connectionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(system.baseUrl)
      .setAudience(system.baseUrl)
      .setSubject('u-alice')
      .setIssuedAt()
      .setExpirationTime('2h')
      .setJti('bench')
      .sign(new TextEncoder().encode(minimalSecret));

    const uri = `${system.baseUrl}/demo/tasks/1`;
    const unfurlEvent = httpEvent({
      method: 'POST',
      path: '/unfurl',
      headers: { authorization: `Bearer ${accessToken}` },
      body: { uri },
    });
    const minimalEvent = httpEvent({
      method: 'POST',
      path: '/minimal',
      headers: { authorization: `Bearer ${minimalToken}` },
      body: { uri },
    });

    // In-process: the deployed bundles, called directly in a handler host (bench/handler-host.ts)
    // that holds nothing else, as a Lambda execution environment; a fresh host per measured pair.
    const files = await buildRequestPathBundles();
    const issuer = system.env[ENV.PUBLIC_BASE_URL] ?? system.baseUrl;
    const assertionKey = (await parseSigningKeys(system.env[ENV.TOKEN_SIGNING_KEY] ?? '')).assertion?.current;
    if (!assertionKey || !(assertionKey.signKey instanceof KeyObject) || assertionKey.alg !== 'EdDSA')
      throw new Error('the local TOKEN_SIGNING_KEY has no EdDSA service-assertion key');
    const hostEnv = {
      ...system.env,
      ...quietHandlers,
      [ENV.SOURCE_BASE_URL]: product.baseUrl,
      BENCH_MINIMAL_SECRET: minimalSecret,
      BENCH_MINIMAL_ISSUER: system.baseUrl,
      BENCH_MINIMAL_ASSERTION_ISSUER: issuer,
      // The minimal handler as the floor of an unfurl (ADR 0140): the same GET of the product, with an
      // assertion signed by the service's own assertion key, which the product verifies from the JWKS.
      BENCH_MINIMAL_SOURCE_URL: `${product.baseUrl}/api/tasks/1`,
      BENCH_MINIMAL_ASSERTION_KEY: assertionKey.signKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      BENCH_MINIMAL_ASSERTION_KID: assertionKey.kid,
      BENCH_MINIMAL_ASSERTION_AUDIENCE: demoApiAudience(product.baseUrl),
    };
    const alternated = await withHandlerHost(files.host, hostEnv, async (ask, placement) => ({
      ...(await ask<MeasuredReply>({
        kind: 'alternate',
        files: { measured: files.unfurl, baseline: files.minimal },
        events: { measured: unfurlEvent, baseline: minimalEvent },
        warmup: options.unfurlWarmupCalls,
        calls: options.unfurlCalls,
        connectionsTable: getConfig().tables.connections ?? '',
      })),
      placement,
    }));
    const perCall = (traffic: TrafficFigures | undefined): TrafficPerCall => {
      const per = (n: number) => round(n / options.unfurlCalls, 3);
      return {
        tokenCheckReadsPerCall: per(traffic?.tokenCheckReads ?? 0),
        dynamoCommandsPerCall: Object.fromEntries(
          // Three significant digits: a command sent once in 10,000 calls (the snapshot refresh) stays visible.
          Object.entries(traffic?.dynamoRequests ?? {}).map(([operation, n]) => [
            `${operation}Command`,
            Number((n / options.unfurlCalls).toPrecision(3)),
          ]),
        ),
        dynamoMsPerCall: per(traffic?.dynamoMs ?? 0),
        sourceCallsPerCall: per(traffic?.sourceRequests ?? 0),
        sourceMsPerCall: per(traffic?.sourceMs ?? 0),
      };
    };

    // The HTTP path: both bundles behind the local API Gateway stand-in, in a handler host,
    // each loaded in turn by autocannon in a process of its own.
    const { http, httpMinimal } = await withHandlerHost(files.host, hostEnv, async (ask) => {
      const { baseUrl } = await ask<ServedReply>({
        kind: 'serve',
        routes: [
          { method: 'POST', path: '/unfurl', file: files.unfurl },
          { method: 'POST', path: '/minimal', file: files.minimal },
        ],
      });
      return {
        http: await loadOverHttp(options, ask, `${baseUrl}/unfurl`, accessToken, uri),
        httpMinimal: await loadOverHttp(options, ask, `${baseUrl}/minimal`, minimalToken, uri),
      };
    });

    // The token endpoint: a chain of refresh grants, each with the refresh token the previous one returned.
    const refreshed = await withHandlerHost(files.host, hostEnv, (ask) =>
      ask<MeasuredReply>({
        kind: 'refresh-chain',
        file: files.token,
        event: httpEvent({
          method: 'POST',
          path: '/oauth/token',
          form: {
            grant_type: 'refresh_token',
            refresh_token: '__TOKEN__',
            client_id: system.env.OAUTH_CLIENT_ID ?? '',
            client_secret: system.env.OAUTH_CLIENT_SECRET ?? '',
          },
        }) as unknown as RefreshChainRequest['event'],
        refreshToken,
        warmup: options.tokenWarmupCalls,
        calls: options.tokenCalls,
      }),
    );

    return {
      unfurl: { ...figures(alternated.measured), ...perCall(alternated.traffic) },
      minimal: { ...figures(alternated.baseline), ...perCall(alternated.baselineTraffic) },
      inProcess: { host: 'deployed bundles, plain node', ...alternated.placement },
      http,
      httpMinimal,
      token: figures(refreshed.measured),
    };
  } finally {
    await system.stop();
    await product.stop();
  }
};

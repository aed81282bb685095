/**
 * The request path figures, against the whole local system on 127.0.0.1
 * (dynalite, the demo product as the source, the Notion simulator, the local
 * IdP): unfurl in-process next to the minimal handler, DynamoDB reads per
 * unfurl (counted by an SDK middleware), the HTTP path with autocannon, and
 * the token endpoint's refresh grant.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { SignJWT } from 'jose';
import { documentClient } from '#adapters/dynamo/factory.js';
import { ENV } from '#lib/env-names.js';
import { forkUntilReady } from '#local/child-process.js';
import { localDefaults } from '#local/defaults.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import { serveHandlers } from '#local/server.js';
import { startLocalSystem } from '#local/system.js';
import { getConfig } from '#shared/config.js';
import { httpEvent, lambdaContext } from '#test/helpers/factories.js';
import { ROOT } from './build.js';
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
  readonly durationSeconds: number;
  readonly connections: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** autocannon against one POST route with a bearer token and a `{uri}` body. */
const loadOverHttp = async (
  options: Pick<ServiceOptions, 'httpSeconds' | 'httpConnections'>,
  url: string,
  token: string,
  uri: string,
): Promise<HttpFigures> => {
  const r = await runAutocannon([
    '-j',
    '-n',
    '-c',
    String(options.httpConnections),
    '-d',
    String(options.httpSeconds),
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
  return {
    durationSeconds: options.httpSeconds,
    connections: options.httpConnections,
    requestsPerSecond: round(r.requests.average, 1),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r['2xx'] + r.non2xx,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
};

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LatencyFigures {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export interface ServiceFigures {
  readonly unfurl: LatencyFigures & {
    /** Reads of the connections table per unfurl (the token check). */
    readonly tokenCheckReadsPerCall: number;
    /** Every DynamoDB command per unfurl, by name. */
    readonly dynamoCommandsPerCall: Readonly<Record<string, number>>;
    /** Mean time per unfurl spent in DynamoDB commands (SDK call to answer). */
    readonly dynamoMsPerCall: number;
    /** Requests to the source (the demo product's API) per unfurl, and the mean time per unfurl until their answer headers. */
    readonly sourceCallsPerCall: number;
    readonly sourceMsPerCall: number;
  };
  readonly minimal: LatencyFigures;
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

const time = async (fn: () => Promise<APIGatewayProxyStructuredResultV2>, expect: number): Promise<number> => {
  const start = performance.now();
  const result = await fn();
  const ms = performance.now() - start;
  if (result.statusCode !== expect) throw new Error(`expected ${expect}, got ${result.statusCode}: ${result.body}`);
  return ms;
};

/** Forks bench/product-process.ts and waits for its base URL. */
const startProductProcess = async (serviceSecret: string): Promise<{ baseUrl: string; stop(): Promise<void> }> => {
  const child = await forkUntilReady<{ baseUrl?: unknown }>(
    path.join(ROOT, 'bench', 'product-process.ts'),
    'the demo product process',
    { env: { [ENV.SOURCE_SERVICE_SECRET]: serviceSecret } },
  );
  if (typeof child.message.baseUrl !== 'string') {
    await child.stop();
    throw new Error('the demo product process did not start: no base URL');
  }
  return { baseUrl: child.message.baseUrl, stop: child.stop };
};

export interface ServiceOptions {
  readonly unfurlCalls: number;
  readonly tokenCalls: number;
  readonly httpSeconds: number;
  readonly httpConnections: number;
}

export const measureService = async (options: ServiceOptions): Promise<ServiceFigures> => {
  const minimalSecret = 'bench-minimal-handler-secret-0123456789abcdef';
  // The source: the demo product in a process of its own, as a team's product runs elsewhere.
  const product = await startProductProcess(localDefaults(0)[ENV.SOURCE_SERVICE_SECRET] ?? '');
  const system = await startLocalSystem({
    port: 0,
    workerLoop: false,
    // DynamoDB, too, works elsewhere than the function: dynalite on the other core.
    emulators: { dynamoProcess: 'child' },
    // What is measured is the code path; log lines to a terminal would dominate it.
    env: {
      LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      [ENV.SOURCE_BASE_URL]: product.baseUrl,
    },
    log: (level, message) => {
      if (level === 'error') process.stderr.write(`local system: ${message}\n`);
    },
  });
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
    const accessToken = grant.accessToken;
    const connectionId = (
      JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { cid: string }
    ).cid;

    const unfurl = (await import('../functions/unfurl.js')).handler as unknown as Handler;
    const tokenHandler = (await import('../functions/oauth-token.js')).handler as unknown as Handler;
    process.env.BENCH_MINIMAL_SECRET = minimalSecret;
    process.env.BENCH_MINIMAL_ISSUER = system.baseUrl;
    const minimal = (await import('./minimal-handler.js')).handler as unknown as Handler;
    const minimalToken = await new SignJWT({ cid: connectionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(system.baseUrl)
      .setAudience(system.baseUrl)
      .setSubject('u-alice')
      .setIssuedAt()
      .setExpirationTime('2h')
      .setJti('bench')
      .sign(new TextEncoder().encode(minimalSecret));

    const context = lambdaContext();
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

    // Every DynamoDB command the handlers in this process send through the shared client.
    const config = getConfig();
    const commands = new Map<string, number>();
    let tokenCheckReads = 0;
    let dynamoMs = 0;
    documentClient(config).middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'unknown';
        commands.set(name, (commands.get(name) ?? 0) + 1);
        const input = args.input as { TableName?: string; RequestItems?: object };
        const tables = input.TableName ? [input.TableName] : Object.keys(input.RequestItems ?? {});
        if (/^(GetItem|Query|BatchGetItem)Command$/.test(name) && tables.includes(config.tables.connections ?? ''))
          tokenCheckReads++;
        const start = performance.now();
        try {
          return await next(args);
        } finally {
          dynamoMs += performance.now() - start;
        }
      },
      { step: 'initialize', name: 'benchCommandCounter' },
    );

    // Warm both (connections, JIT, the source's cache), then alternate so drift hits both alike.
    for (let i = 0; i < 200; i++) {
      await time(() => unfurl(unfurlEvent, context), 200);
      await time(() => minimal(minimalEvent, context), 200);
    }
    commands.clear();
    tokenCheckReads = 0;
    dynamoMs = 0;
    const unfurlSamples: number[] = [];
    const minimalSamples: number[] = [];
    // Time until the source's answer headers (the demo adapter calls the global fetch).
    const realFetch = globalThis.fetch;
    let sourceMs = 0;
    let sourceCalls = 0;
    globalThis.fetch = async (input, init) => {
      const start = performance.now();
      try {
        return await realFetch(input, init);
      } finally {
        sourceMs += performance.now() - start;
        sourceCalls++;
      }
    };
    try {
      for (let i = 0; i < options.unfurlCalls; i++) {
        unfurlSamples.push(await time(() => unfurl(unfurlEvent, context), 200));
        minimalSamples.push(await time(() => minimal(minimalEvent, context), 200));
      }
    } finally {
      globalThis.fetch = realFetch;
    }
    const perCall = Object.fromEntries(
      [...commands.entries()].sort().map(([name, n]) => [name, round(n / options.unfurlCalls, 3)]),
    );
    const tokenCheckReadsPerCall = round(tokenCheckReads / options.unfurlCalls, 3);
    const dynamoMsPerCall = round(dynamoMs / options.unfurlCalls, 3);
    const source = {
      sourceCallsPerCall: round(sourceCalls / options.unfurlCalls, 3),
      sourceMsPerCall: round(sourceMs / options.unfurlCalls, 3),
    };

    // The HTTP path: the local API Gateway stand-in on loopback, loaded by autocannon in a process of its own;
    // then the minimal handler behind the same stand-in (its own listener in this process), loaded alike.
    const http = await loadOverHttp(options, `${system.baseUrl}/unfurl`, accessToken, uri);
    const minimalServer = await serveHandlers([{ method: 'POST', path: '/minimal', handler: minimal }]);
    let httpMinimal: HttpFigures;
    try {
      httpMinimal = await loadOverHttp(options, `${minimalServer.baseUrl}/minimal`, minimalToken, uri);
    } finally {
      await minimalServer.close();
    }

    // The token endpoint: a chain of refresh grants, each with the refresh token the previous one returned.
    const clientForm = {
      client_id: system.env.OAUTH_CLIENT_ID ?? '',
      client_secret: system.env.OAUTH_CLIENT_SECRET ?? '',
    };
    let refreshToken = grant.refreshToken;
    const refresh = async (): Promise<APIGatewayProxyStructuredResultV2> => {
      const result = await tokenHandler(
        httpEvent({
          method: 'POST',
          path: '/oauth/token',
          form: { grant_type: 'refresh_token', refresh_token: refreshToken, ...clientForm },
        }),
        context,
      );
      if (result.statusCode === 200)
        refreshToken = (JSON.parse(String(result.body)) as { refresh_token: string }).refresh_token;
      return result;
    };
    for (let i = 0; i < 20; i++) await time(refresh, 200);
    const tokenSamples: number[] = [];
    for (let i = 0; i < options.tokenCalls; i++) tokenSamples.push(await time(refresh, 200));

    return {
      unfurl: {
        ...figures(unfurlSamples),
        tokenCheckReadsPerCall,
        dynamoCommandsPerCall: perCall,
        dynamoMsPerCall,
        ...source,
      },
      minimal: figures(minimalSamples),
      http,
      httpMinimal,
      token: figures(tokenSamples),
    };
  } finally {
    await system.stop();
    await product.stop();
  }
};

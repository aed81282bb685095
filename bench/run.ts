/**
 * `npm run bench`: builds the production bundles, measures the request path
 * and the update worker against the local parts on 127.0.0.1, prints one
 * report with a PASS/MISS per budget (docs/architecture.md §8) and writes the figures
 * to bench/results/latest.json (keys: bench/README.md).
 *
 *   npm run bench               full run (a few minutes on 2 cores)
 *   npm run bench -- --quick    reduced counts, for a smoke check; figures are noisier
 *   npm run bench -- --json     the figures as JSON on stdout instead of the report
 *   npm run bench -- --only cost,scale   some sections only (bundles, service, worker, cost, scale)
 *
 * Progress goes to stderr. Exit status: 0 done (the report says which budgets
 * were missed), 1 a failure, 2 wrong usage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { logger } from '#shared/observability.js';
import { type CliArgs, isEntryPoint, runCli, UsageError } from '../scripts/cli.js';
import { ROOT } from './build.js';
import { type BundleFigures, measureBundles } from './bundles.js';
import { type CostFigures, measureCost } from './cost.js';
import { readPriceTable } from './prices.js';
import { measureScale, type ScaleFigures } from './scale.js';
import { type HttpFigures, measureService, type ServiceFigures } from './service.js';
import { ratio, round } from './stats.js';
import { measureWorker, type WorkerFigures } from './worker.js';

export const CLI = {
  name: 'bench',
  usage: ['npm run bench -- [--quick] [--json] [--only <sections>] [--scale-subscribers <n>]'],
  description: `Builds the production bundles, measures the request path and the update worker against the local
parts on 127.0.0.1 (ephemeral ports), prints one report with a PASS/MISS per budget
(docs/architecture.md §8) and writes the figures to bench/results/latest.json (untracked; keys in
bench/README.md). A full run takes about 10 minutes on 2 cores (scale alone 6–7); progress goes to stderr.`,
  options: {
    quick: { type: 'boolean', description: 'reduced counts, for a smoke check; the figures are noisier' },
    json: { type: 'boolean', description: 'print the figures as JSON on stdout instead of the report' },
    only: {
      type: 'string',
      value: '<sections>',
      description: `run only these sections, comma-separated: ${'bundles, service, worker, cost, scale'}
(default: all). bundles: sizes and import times; service: the request path in-process and
over loopback HTTP, the token endpoint; worker: rate use, 429s, fan-out, coalescing; cost: AWS
operations and dollars per operation; scale: one change to 10,000 subscribers on 1,000 connections`,
    },
    'scale-subscribers': {
      type: 'string',
      value: '<n>',
      description: 'subscribers of the scale section, 10 per connection (default 10000; 1000 with --quick)',
    },
  },
  examples: [
    'npm run bench',
    'npm run bench -- --quick',
    'npm run bench -- --json > figures.json',
    'npm run bench -- --only cost,scale',
    'npm run bench -- --only scale --scale-subscribers 2000',
  ],
  notes: ['Exit status: 0 done (the report says which budgets were missed), 1 a failure, 2 wrong usage.'],
} as const;

const countsFor = (quick: boolean) =>
  quick
    ? {
        importRuns: 5,
        unfurlCalls: 500,
        unfurlWarmupCalls: 200,
        tokenCalls: 100,
        tokenWarmupCalls: 20,
        httpSeconds: 3,
        httpWarmupSeconds: 3,
        httpConnections: 10,
        subscribers: 200,
        scaleSubscribers: 1000,
        changeSubscribers: [1, 10, 100],
      }
    : {
        importRuns: 25,
        unfurlCalls: 10000,
        unfurlWarmupCalls: 2000,
        tokenCalls: 500,
        tokenWarmupCalls: 200,
        httpSeconds: 10,
        httpWarmupSeconds: 10,
        httpConnections: 10,
        subscribers: 1000,
        scaleSubscribers: 10000,
        changeSubscribers: [1, 10, 100],
      };

/** 1 KB = 1,000 bytes. */
const BUNDLE_LIMIT_BYTES = 350_000;
const RATE_PER_MINUTE = 180;
const SCALE_PER_CONNECTION = 10;

export interface Budget {
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly limit: number;
  /** How `value` must compare with `limit`. */
  readonly rule: '<=' | '>=' | '==';
  readonly unit: string;
  readonly pass: boolean;
}

const budget = (
  id: string,
  label: string,
  value: number,
  rule: Budget['rule'],
  limit: number,
  unit: string,
): Budget => ({
  id,
  label,
  value,
  limit,
  rule,
  unit,
  pass: rule === '<=' ? value <= limit : rule === '>=' ? value >= limit : value === limit,
});

/** The largest change measured (its size in subscribers). */
const top100 = (cost: CostFigures): number =>
  Math.max(
    ...cost.operations.flatMap((o) => {
      const m = /^change → (\d+) subscribers on/.exec(o.scenario);
      return m ? [Number(m[1])] : [];
    }),
  );

const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} KB`;
const ms = (v: number): string => `${v.toFixed(2)} ms`;
const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);

const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const start = Date.now();
  process.stderr.write(`bench: ${label}…\n`);
  const result = await fn();
  process.stderr.write(`bench: ${label} done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  return result;
};

const SECTIONS = ['bundles', 'service', 'worker', 'cost', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

/** `--only a,b`: the sections to run, all when absent. */
export const sectionsFrom = (only: string | undefined): ReadonlySet<Section> => {
  if (only === undefined) return new Set(SECTIONS);
  const names = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const wrong = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (names.length === 0 || wrong.length > 0)
    throw new UsageError(`--only takes ${SECTIONS.join(', ')} (comma-separated); got "${only}"`);
  return new Set(names as Section[]);
};

const positiveInt = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10) throw new UsageError(`--${name} must be a whole number of at least 10`);
  return n;
};

const main = async ({ values }: CliArgs<typeof CLI.options>): Promise<number> => {
  // The handlers run in this process for some sections: their JSON log lines would mix with the report
  // (or the --json document) on stdout. Only their errors are of interest here.
  logger.setLogLevel('ERROR');
  const quick = values.quick === true;
  const sections = sectionsFrom(values.only);
  const COUNTS = {
    ...countsFor(quick),
    ...(values['scale-subscribers'] !== undefined
      ? { scaleSubscribers: positiveInt('scale-subscribers', values['scale-subscribers'], 10000) }
      : {}),
  };
  // Read first: a malformed price table fails before minutes of measuring.
  const prices = sections.has('cost') ? readPriceTable() : undefined;
  const startedAt = new Date();
  const loadStart = os.loadavg();

  const bundles = sections.has('bundles')
    ? await step('bundles and import times', () => measureBundles({ importRuns: COUNTS.importRuns }))
    : undefined;
  const service: ServiceFigures | undefined = sections.has('service')
    ? await step('request path (local system)', () =>
        measureService({
          unfurlCalls: COUNTS.unfurlCalls,
          unfurlWarmupCalls: COUNTS.unfurlWarmupCalls,
          tokenCalls: COUNTS.tokenCalls,
          tokenWarmupCalls: COUNTS.tokenWarmupCalls,
          httpSeconds: COUNTS.httpSeconds,
          httpWarmupSeconds: COUNTS.httpWarmupSeconds,
          httpConnections: COUNTS.httpConnections,
        }),
      )
    : undefined;
  const worker: WorkerFigures | undefined = sections.has('worker')
    ? await step('update worker (Notion simulator, fake clock)', () =>
        measureWorker({ subscribers: COUNTS.subscribers, ratePerMinute: RATE_PER_MINUTE }),
      )
    : undefined;
  const cost: CostFigures | undefined = prices
    ? await step('cost (AWS operations per operation, local system)', () =>
        measureCost({ changeSubscribers: COUNTS.changeSubscribers, prices }),
      )
    : undefined;
  const scale: ScaleFigures | undefined = sections.has('scale')
    ? await step(`scale (one change to ${COUNTS.scaleSubscribers} subscribers, fake clock, local DynamoDB)`, () =>
        measureScale({
          subscribers: COUNTS.scaleSubscribers,
          connections: Math.ceil(COUNTS.scaleSubscribers / SCALE_PER_CONNECTION),
          ratePerMinute: RATE_PER_MINUTE,
        }),
      )
    : undefined;

  const minimal = bundles?.find((b) => b.name === 'minimal') as BundleFigures | undefined;
  // Each handler against its floor: the minimal handler plus the SDK clients its declared needs require
  // (bench/bundles.ts, ADR 0135). The floors are listed after the handlers, against the minimal handler.
  const byName = new Map((bundles ?? []).map((b) => [b.name, b]));
  const against = (b: BundleFigures, reference: BundleFigures | undefined) => ({
    ...b,
    reference: reference?.name ?? '',
    importRatio: reference ? ratio(b.importMs, reference.importMs) : 0,
    importCpuRatio: reference ? ratio(b.importCpuMs, reference.importCpuMs) : 0,
  });
  const handlers = (bundles ?? []).filter((b) => b.floor).map((b) => against(b, byName.get(b.floor ?? '')));
  const floors = (bundles ?? []).filter((b) => b.name.startsWith('floor+')).map((b) => against(b, minimal));

  const budgets: Budget[] = [
    ...handlers.map((h) =>
      budget(`bundle.${h.name}`, `bundle ${h.name} (minified ESM)`, h.bytes, '<=', BUNDLE_LIMIT_BYTES, 'bytes'),
    ),
    ...handlers.map((h) =>
      budget(`import.${h.name}`, `import ${h.name} / ${h.reference}`, h.importRatio, '<=', 1.2, '×'),
    ),
  ];
  if (service)
    budgets.push(
      budget('unfurl.p50', 'unfurl in-process p50', service.unfurl.p50Ms, '<=', 2, 'ms'),
      budget('unfurl.p99', 'unfurl in-process p99', service.unfurl.p99Ms, '<=', 10, 'ms'),
      budget(
        'unfurl.p99Ratio',
        'unfurl p99 / floor p99 (minimal + product GET)',
        ratio(service.unfurl.p99Ms, service.minimal.p99Ms),
        '<=',
        1.3,
        '×',
      ),
      budget(
        'unfurl.tokenCheckReads',
        'DynamoDB reads per unfurl (token check)',
        service.unfurl.tokenCheckReadsPerCall,
        '==',
        1,
        'reads',
      ),
      // Throughput and p99 over loopback HTTP are figures, not budgets: on two cores they measure the
      // emulators and the product as much as the handler (bench/README.md). Errors stay a budget.
      budget(
        'http.errors',
        'HTTP unfurl errors + non-2xx',
        service.http.errors + service.http.non2xx,
        '==',
        0,
        'requests',
      ),
    );
  if (worker)
    budgets.push(
      budget('worker.rateShare', 'share of Notion rate used', worker.fanOut.rateShareUsed, '>=', 0.95, ''),
      budget('worker.429Share', 'share of calls answered 429', worker.fanOut.rateLimitedShare, '<=', 0.005, ''),
      budget(
        'worker.fanOutTime',
        `time to notify ${worker.fanOut.subscribers} / floor`,
        worker.fanOut.timeToFloorRatio,
        '<=',
        1.05,
        '×',
      ),
      budget(
        'worker.pushesPerSubscriber',
        `pushes per subscriber, ${worker.coalescing.changes} changes in one window`,
        worker.coalescing.minPushesPerSubscriber === worker.coalescing.maxPushesPerSubscriber
          ? worker.coalescing.maxPushesPerSubscriber
          : Number.NaN,
        '==',
        1,
        'pushes',
      ),
    );
  if (scale)
    budgets.push(
      budget(
        'scale.ratio',
        `time to notify ${scale.subscribers} on ${scale.connections} connections / floor`,
        scale.timeToFloorRatio,
        '<=',
        1.05,
        '×',
      ),
      budget(
        'scale.notifiedOnce',
        `of ${scale.subscribers} subscribers notified exactly once`,
        scale.subscribersNotifiedOnce,
        '==',
        scale.subscribers,
        'subscribers',
      ),
    );

  // The architecture's cost budgets (docs/architecture.md §8), counted by bench/cost.ts.
  if (cost) {
    const op = (prefix: string) => cost.operations.find((o) => o.scenario.startsWith(prefix));
    const top = Math.max(...COUNTS.changeSubscribers);
    const spread = op(`change → ${top} subscribers on ${top} connections`);
    const revoked = op('unfurl with a revoked token');
    const deleteOne = op('DELETE /unfurl');
    const deleteMany = op('DELETE /unfurl, connection with 200');
    budgets.push(
      budget(
        'cost.repeatUnfurlDynamo',
        'DynamoDB requests per repeat unfurl',
        op('repeat unfurl')?.dynamoRequests ?? NaN,
        '<=',
        1,
        '',
      ),
      budget(
        'cost.invalidTokenDynamo',
        'DynamoDB requests, unfurl with an invalid token',
        op('unfurl with an invalid token')?.dynamoRequests ?? NaN,
        '==',
        0,
        '',
      ),
      budget(
        'cost.revokedTokenReads',
        'DynamoDB reads, unfurl with a revoked token',
        revoked?.dynamoRequests ?? NaN,
        '==',
        1,
        '',
      ),
      budget(
        'cost.revokedTokenProductCalls',
        'product calls, unfurl with a revoked token',
        revoked?.productCalls ?? NaN,
        '==',
        0,
        '',
      ),
      budget(
        'cost.connectDynamo',
        'DynamoDB requests per OAuth connect',
        op('oauth connect')?.dynamoRequests ?? NaN,
        '<=',
        10,
        '',
      ),
      budget(
        'cost.deleteUnfurlConstant',
        'DELETE /unfurl with 200 subscriptions, DynamoDB requests − with 1',
        (deleteMany?.dynamoRequests ?? NaN) - (deleteOne?.dynamoRequests ?? NaN),
        '==',
        0,
        '',
      ),
      budget(
        'cost.changeDynamoPerSubscriber',
        `DynamoDB requests per subscriber, change to ${top} on ${top} connections`,
        spread ? round(spread.dynamoRequests / top, 3) : NaN,
        '<=',
        3,
        '',
      ),
      budget(
        'cost.changeFloorRatio',
        `DynamoDB requests, change to ${top} on ${top} connections / floor (${cost.changeFloorAt100})`,
        cost.changeFloorRatioAt100,
        '<=',
        1.3,
        '×',
      ),
    );
  }

  const finishedAt = new Date();
  const result = {
    schema: 2,
    quick,
    sections: [...sections],
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    environment: {
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      loadAverageStart: loadStart.map((v) => round(v, 2)),
      loadAverageEnd: os.loadavg().map((v) => round(v, 2)),
    },
    counts: COUNTS,
    ...(bundles
      ? {
          bundles: {
            build: {
              format: 'esm',
              target: 'node24',
              platform: 'node',
              minify: true,
              mainFields: ['module', 'main'],
              banner: 'createRequire',
              external: ['@aws-sdk/*'],
            },
            minimal,
            handlers,
            floors,
          },
        }
      : {}),
    ...(service
      ? {
          unfurl: {
            ...service.unfurl,
            p50RatioToMinimal: ratio(service.unfurl.p50Ms, service.minimal.p50Ms),
            p99RatioToMinimal: ratio(service.unfurl.p99Ms, service.minimal.p99Ms),
          },
          minimal: service.minimal,
          inProcess: service.inProcess,
          http: {
            ...service.http,
            rpsRatioToMinimal: ratio(service.http.requestsPerSecond, service.httpMinimal.requestsPerSecond),
            p99RatioToMinimal: ratio(service.http.p99Ms, service.httpMinimal.p99Ms),
            hostCpuRatioToMinimal: ratio(service.http.hostCpuMsPerRequest, service.httpMinimal.hostCpuMsPerRequest),
          },
          httpMinimal: service.httpMinimal,
          token: {
            ...service.token,
            p50RatioToMinimal: ratio(service.token.p50Ms, service.minimal.p50Ms),
            p99RatioToMinimal: ratio(service.token.p99Ms, service.minimal.p99Ms),
          },
        }
      : {}),
    ...(worker ? { worker } : {}),
    ...(cost ? { cost } : {}),
    ...(scale ? { scale } : {}),
    budgets,
    pass: budgets.every((b) => b.pass),
  };

  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }

  // ---- The report.
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  line(`notion-link-preview benchmark${quick ? ' (quick: reduced counts)' : ''}`);
  line(
    `${result.environment.node} ${result.environment.platform}, ${result.environment.cpus} CPUs, load ${loadStart
      .map((v) => v.toFixed(2))
      .join(' ')} → ${result.environment.loadAverageEnd.join(' ')}, ${result.durationSeconds} s`,
  );
  line();
  if (bundles && minimal) {
    line(`Bundles (as lib/constructs/node-function.ts builds them; @aws-sdk/* external) and fresh-process import`);
    line(
      `  ${pad('handler', 22)}${lpad('minified', 10)}${lpad('gzip', 10)}${lpad('with SDK', 11)}${lpad('import', 11)}${lpad('ratio', 7)}${lpad('CPU', 11)}${lpad('ratio', 7)}  largest parts`,
    );
    for (const b of [...handlers, ...floors, { ...minimal, importRatio: 1, importCpuRatio: 1 }]) {
      line(
        `  ${pad(b.name, 22)}${lpad(kb(b.bytes), 10)}${lpad(kb(b.gzipBytes), 10)}${lpad(kb(b.bytesWithSdk), 11)}${lpad(ms(b.importMs), 11)}${lpad(`${b.importRatio.toFixed(2)}×`, 7)}${lpad(ms(b.importCpuMs), 11)}${lpad(`${b.importCpuRatio.toFixed(2)}×`, 7)}  ${b.top
          .slice(0, 3)
          .map((t) => `${t.module} ${(t.bytes / 1000).toFixed(0)}K`)
          .join(', ')}`,
      );
    }
    line(
      `  (import: median wall time of ${COUNTS.importRuns} fresh processes, and their median CPU time; each handler's ratio against its floor, the minimal handler plus the SDK clients its declared needs require, ADR 0135)`,
    );
    line();
  }
  if (service) {
    line(
      `Unfurl in-process, warm, demo source, local DynamoDB (${service.unfurl.calls} calls after ${COUNTS.unfurlWarmupCalls} untimed ones each, alternating with minimal)`,
    );
    line(
      `  the deployed bundles in a handler host of their own (plain node), ${
        service.inProcess.pinned
          ? `on CPU ${service.inProcess.functionCpus}; DynamoDB, the product and the rest on CPU ${service.inProcess.servicesCpus}`
          : 'not pinned to a CPU (no taskset, or one CPU)'
      }`,
    );
    line(
      `  unfurl   p50 ${ms(service.unfurl.p50Ms)}  p99 ${ms(service.unfurl.p99Ms)}  mean ${ms(service.unfurl.meanMs)}`,
    );
    line(
      `  minimal  p50 ${ms(service.minimal.p50Ms)}  p99 ${ms(service.minimal.p99Ms)}  mean ${ms(service.minimal.meanMs)}`,
    );
    line(`  ratio    p50 ${result.unfurl?.p50RatioToMinimal}×  p99 ${result.unfurl?.p99RatioToMinimal}×`);
    line(
      `  DynamoDB per unfurl: ${service.unfurl.tokenCheckReadsPerCall} read(s) for the token check; all commands ${JSON.stringify(service.unfurl.dynamoCommandsPerCall)}, ${ms(service.unfurl.dynamoMsPerCall)} mean in DynamoDB`,
    );
    line(
      `  source (demo product API over loopback): ${service.unfurl.sourceCallsPerCall} request(s) per unfurl, ${ms(service.unfurl.sourceMsPerCall)} mean until its answer`,
    );
    // The same counts for the floor: where the unfurl's mean beyond the minimal handler's goes.
    const u = service.unfurl;
    const f = service.minimal;
    const diff = (a: number, b: number) => `${a - b >= 0 ? '+' : '−'}${ms(Math.abs(round(a - b, 3)))}`;
    line(
      `  minimal: DynamoDB ${JSON.stringify(f.dynamoCommandsPerCall)}, ${ms(f.dynamoMsPerCall)} mean; source ${ms(f.sourceMsPerCall)} mean`,
    );
    line(
      `  unfurl − minimal, mean per call: ${diff(u.meanMs, f.meanMs)} = DynamoDB ${diff(u.dynamoMsPerCall, f.dynamoMsPerCall)}, source ${diff(u.sourceMsPerCall, f.sourceMsPerCall)}, in the handler ${diff(u.meanMs - u.dynamoMsPerCall - u.sourceMsPerCall, f.meanMs - f.dynamoMsPerCall - f.sourceMsPerCall)}`,
    );
    line();
    const httpLine = (h: HttpFigures) =>
      `${h.requestsPerSecond} req/s, p50 ${h.p50Ms} ms, p99 ${h.p99Ms} ms, ${h.requests} requests, ${h.errors} errors, ${h.non2xx} non-2xx, host CPU ${ms(h.hostCpuMsPerRequest)}/request`;
    line(
      `HTTP path on loopback through the local API Gateway stand-in, figures only (autocannon, ${service.http.connections} connections, ${service.http.durationSeconds} s each after ${service.http.warmupSeconds} s of warm-up)`,
    );
    line(`  unfurl   ${httpLine(service.http)}`);
    line(`  minimal  ${httpLine(service.httpMinimal)}`);
    line(
      `  ratio    req/s ${result.http?.rpsRatioToMinimal}×  p99 ${result.http?.p99RatioToMinimal}×  host CPU per request ${result.http?.hostCpuRatioToMinimal}×`,
    );
    line();
    line(
      `Token endpoint, refresh grant in-process (${service.token.calls} calls after ${COUNTS.tokenWarmupCalls} untimed): p50 ${ms(service.token.p50Ms)} (${result.token?.p50RatioToMinimal}× minimal)  p99 ${ms(service.token.p99Ms)} (${result.token?.p99RatioToMinimal}× minimal)`,
    );
    line();
  }
  if (worker) {
    line(`Update worker against the Notion simulator, fake clock, ${RATE_PER_MINUTE} requests/min per connection`);
    const f = worker.fanOut;
    line(
      `  fan-out to ${f.subscribers} subscribers of one connection: ${f.pushesAccepted} accepted of ${f.patchCalls} calls, ${f.rateLimited} answered 429 (${(f.rateLimitedShare * 100).toFixed(2)} %)`,
    );
    line(
      `  simulated time ${(f.timeToNotifyMs / 1000).toFixed(1)} s vs floor ${(f.floorMs / 1000).toFixed(1)} s (${f.timeToFloorRatio}×); rate used ${(f.rateShareUsed * 100).toFixed(1)} %; notified exactly once: ${f.subscribersNotifiedOnce}`,
    );
    const c = worker.coalescing;
    line(
      `  coalescing: ${c.changes} changes within one ${c.windowSeconds} s window → ${c.minPushesPerSubscriber}..${c.maxPushesPerSubscriber} push(es) per subscriber (${c.subscribers} subscribers)`,
    );
    const o = worker.overhead;
    line(
      `  worker overhead: ${ms(o.perRecordMs)} per queue record, ${ms(o.perPushMs)} per push (${o.records} records, ${o.pushes} pushes; PATCH round trip ${ms(o.patchRoundTripMs)})`,
    );
    line();
  }
  if (cost) {
    line(
      `Cost per operation (local system: handlers' own SDK clients against dynalite and fauxqs; prices of ${cost.prices.asOf}, ${cost.prices.region}, from bench/README.md; Lambda at ${cost.memoryMb} MB)`,
    );
    line(
      `  ${pad('operation', 46)}${lpad('DDB req', 8)}${lpad('RRU', 7)}${lpad('WRU', 7)}${lpad('SQS', 6)}${lpad('λ inv', 7)}${lpad('λ ms', 8)}${lpad('APIGW', 7)}${lpad('KMS≤', 6)}${lpad('USD', 12)}`,
    );
    for (const o of cost.operations) {
      line(
        `  ${pad(o.scenario.replace(/ \(authorize.*\)$/, ''), 46)}${lpad(String(o.dynamoRequests), 8)}${lpad(String(o.readUnits), 7)}${lpad(String(o.writeUnits), 7)}${lpad(String(o.sqsBilledRequests), 6)}${lpad(String(Object.values(o.lambdaInvocations).reduce((a, b) => a + b, 0)), 7)}${lpad(String(o.lambdaMs), 8)}${lpad(String(o.apiGatewayRequests), 7)}${lpad(String(o.kmsRequests), 6)}${lpad(o.usd.toExponential(2), 12)}`,
      );
    }
    line(
      `  per million first unfurls $${cost.usdPerMillionFirstUnfurls}, repeat unfurls $${cost.usdPerMillionRepeatUnfurls}; per thousand changes × 100 subscribers $${cost.usdPerThousandChangesTo100} (on 100 connections), $${cost.usdPerThousandChangesTo100OnOneConnection} (on one)`,
    );
    const x = cost.changeTo10000;
    line(
      `  change → ${top100(cost)} on as many connections: ${cost.dynamoRequestsPerSubscriberAt100} DynamoDB requests per subscriber, floor ${cost.changeFloorAt100} (${cost.changeFloorRatioAt100}×); change → ${x.subscribers.toLocaleString('en-US')} on as many connections (extrapolated, not measured): ${x.dynamoRequests} DynamoDB requests (${x.dynamoRequestsPerSubscriber} per subscriber, floor ${x.floor}), $${x.usd}`,
    );
    line(
      '  (DynamoDB requests by operation and product calls in the JSON; λ ms: local wall time; KMS: one per token-cipher call, an upper bound; Secrets Manager: 0 on warm paths, estimated)',
    );
    line();
  }
  if (scale) {
    line(
      `Scale: one change to ${scale.subscribers} subscribers on ${scale.connections} connections (${scale.subscribersPerConnection} each), fake clock, ${scale.ratePerMinute} requests/min per connection, DynamoDB stores on dynalite`,
    );
    line(
      `  simulated time ${(scale.timeToNotifyMs / 1000).toFixed(1)} s vs floor ${(scale.floorMs / 1000).toFixed(1)} s (${scale.timeToFloorRatio}×); ${scale.pushesAccepted} accepted of ${scale.patchCalls} calls, ${scale.rateLimited} answered 429; notified exactly once: ${scale.subscribersNotifiedOnce}`,
    );
    line(
      `  ${scale.workerInvocations} worker invocations (batches of ≤ 10) for ${scale.queueRecords} queue records; ${scale.dynamoRequests} DynamoDB requests (${scale.dynamoRequestsPerSubscriber} per subscriber: ${JSON.stringify(scale.dynamoRequestsByOperation)}), ${scale.readUnits} RRU, ${scale.writeUnits} WRU; ${scale.wallSeconds} s of wall time`,
    );
    line();
  }
  line('Budgets');
  for (const b of budgets) {
    const value = b.unit === 'bytes' ? kb(b.value) : `${b.value}${b.unit && b.unit !== '×' ? ` ${b.unit}` : b.unit}`;
    const limit = b.unit === 'bytes' ? kb(b.limit) : `${b.limit}${b.unit && b.unit !== '×' ? ` ${b.unit}` : b.unit}`;
    line(`  ${b.pass ? 'PASS' : 'MISS'}  ${pad(b.label, 48)} ${lpad(value, 14)}  ${b.rule} ${limit}`);
  }
  line();
  line(`${budgets.filter((b) => b.pass).length}/${budgets.length} budgets met. Figures: ${path.relative(ROOT, file)}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
};

if (isEntryPoint(import.meta.url)) {
  // Bounded: a part that hangs (a port, an emulator) ends the run instead of blocking a terminal or CI.
  const LIMIT_MS = 30 * 60_000;
  setTimeout(() => {
    process.stderr.write(`bench: gave up after ${LIMIT_MS / 60_000} minutes\n`);
    process.exit(1);
  }, LIMIT_MS).unref();
  // Exit explicitly: the measured parts may leave handles behind.
  process.exit(await runCli(CLI, process.argv.slice(2), main));
}

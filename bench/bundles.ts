/**
 * Bundle sizes and fresh-process import times of every handler and of the
 * minimal handler, built as the house Lambda construct builds them.
 *
 * Each handler's import is compared with its floor (ADR 0135): the minimal
 * handler plus the AWS SDK clients the function's declared needs make it load
 * at init (lib/functions.ts), each constructed once, as composition does. What
 * the handler takes beyond that is the project's own code.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { needsOf } from '#lib/functions.js';
import { type FunctionName, HANDLERS, WORKER_HANDLER } from '#lib/routes.js';
import { localDefaults } from '#local/defaults.js';
import { type BundleResult, bundle, contributions, ROOT } from './build.js';
import { median, round } from './stats.js';

const run = promisify(execFile);

/** Bundles go under node_modules so that the external `@aws-sdk/*` resolves as in the Lambda runtime. */
export const OUT_DIR = path.join(ROOT, 'node_modules', '.cache', 'notion-link-preview-bench');

export interface BundleFigures {
  readonly name: string;
  /** Minified ESM, `@aws-sdk/*` external (as deployed). */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** The same with the AWS SDK bundled in. */
  readonly bytesWithSdk: number;
  readonly gzipBytesWithSdk: number;
  /** Median of fresh-process `await import()` of the deployed bundle, in ms. */
  readonly importMs: number;
  readonly importSamplesMs: readonly number[];
  /** Median CPU time (user + system) of the same imports: less sensitive to other load on the machine. */
  readonly importCpuMs: number;
  /** The floor it is compared with (`minimal`, or `floor+<clients>`); none for the minimal handler and the floors. */
  readonly floor?: string;
  /** Biggest contributors to the deployed bundle. */
  readonly top: ReadonlyArray<{ readonly module: string; readonly bytes: number }>;
}

const IMPORT_SCRIPT = [
  'const c = process.cpuUsage(); const t = performance.now();',
  'await import(process.argv[1]);',
  'const wall = performance.now() - t; const cpu = process.cpuUsage(c);',
  'process.stdout.write(JSON.stringify([wall, (cpu.user + cpu.system) / 1000]));',
].join(' ');

const importOnce = async (file: string, env: NodeJS.ProcessEnv): Promise<readonly [number, number]> => {
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(file).href],
    {
      env,
      cwd: ROOT,
      timeout: 30_000,
    },
  );
  const [wall, cpu] = JSON.parse(stdout) as [number, number];
  if (!Number.isFinite(wall) || !Number.isFinite(cpu)) throw new Error(`import of ${file} printed ${stdout}`);
  return [wall, cpu];
};

/** Handler names served by routes or queues (functions/<name>.ts), plus the minimal handler. */
export const handlerEntries = (): Array<{ name: string; entry: string }> => [
  ...[...Object.keys(HANDLERS), WORKER_HANDLER]
    .filter((name) => existsSync(path.join(ROOT, 'functions', `${name}.ts`)))
    .sort()
    .map((name) => ({ name, entry: `functions/${name}.ts` })),
  { name: 'minimal', entry: 'bench/minimal-handler.ts' },
];

/**
 * The SDK clients a function loads at init beyond the minimal handler's DynamoDB client, by its declared
 * needs: the SQS client when it sends to a queue. The Secrets Manager and KMS clients are imported on first
 * use (functions/adapters/oidc/secrets.ts, functions/adapters/crypto/token-cipher.ts), by the handlers as
 * by nothing in an import, so no floor counts them.
 */
export const floorClients = (
  fn: FunctionName,
): Array<{ readonly short: string; readonly name: string; readonly pkg: string }> =>
  needsOf(fn).queues?.length ? [{ short: 'sqs', name: 'SQSClient', pkg: '@aws-sdk/client-sqs' }] : [];

/** Writes the floor entry of a function: the minimal handler, plus one constructed client per extra SDK need. */
const floorEntry = (fn: FunctionName): string => {
  const dir = path.join(OUT_DIR, 'floor-src');
  mkdirSync(dir, { recursive: true });
  const clients = floorClients(fn);
  const lines = [
    `export { handler } from ${JSON.stringify(path.join(ROOT, 'bench', 'minimal-handler.ts'))};`,
    ...clients.map(({ name, pkg }) => `import { ${name} } from '${pkg}';`),
    `export const clients = [${clients.map(({ name }) => `new ${name}({})`).join(', ')}];`,
  ];
  const file = path.join(dir, `${fn}.ts`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return path.relative(ROOT, file);
};

export const measureBundles = async (options: { readonly importRuns: number }): Promise<BundleFigures[]> => {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const handlers = handlerEntries();
  const floorOf = new Map<string, string>();
  const floors: Array<{ name: string; entry: string }> = [];
  for (const { name } of handlers) {
    if (name === 'minimal') continue;
    const fn = name as FunctionName;
    const extra = floorClients(fn).map((c) => c.short);
    const floorName = extra.length ? `floor+${extra.join('+')}` : 'minimal';
    floorOf.set(name, floorName);
    if (floorName !== 'minimal' && !floors.some((f) => f.name === floorName))
      floors.push({ name: floorName, entry: floorEntry(fn) });
  }
  const entries = [...handlers, ...floors];
  const deployed = new Map<string, BundleResult>();
  const withSdk = new Map<string, BundleResult>();
  for (const { name, entry } of entries) {
    deployed.set(name, await bundle(name, entry, path.join(OUT_DIR, 'deployed'), { sdkExternal: true }));
    withSdk.set(name, await bundle(name, entry, path.join(OUT_DIR, 'with-sdk'), { sdkExternal: false }));
  }
  // A cold Lambda has its settings in the environment (the stack names its tables and queues); an entry
  // module composes its dependencies at import, from them, and must not need anything else.
  const env = {
    PATH: process.env.PATH,
    ...localDefaults(3000),
    CONNECTIONS_TABLE: 'connections',
    AUTH_STATE_TABLE: 'auth-state',
    SUBSCRIPTIONS_TABLE: 'subscriptions',
    RATE_LIMITS_TABLE: 'rate-limits',
    DELIVERY_LOG_TABLE: 'delivery-log',
    UPDATE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/updates',
    UPDATE_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/updates-dlq',
    AWS_REGION: 'us-east-1',
    // As the template: the house construct sets no NODE_OPTIONS (no --enable-source-maps, ADR 0143).
    NODE_OPTIONS: '',
  } as NodeJS.ProcessEnv;
  const samples = new Map<string, number[]>(entries.map((e) => [e.name, []]));
  const cpuSamples = new Map<string, number[]>(entries.map((e) => [e.name, []]));
  // Interleaved, so that drift of the machine's load affects every handler alike.
  await importOnce((deployed.get('minimal') as BundleResult).file, env); // warms the file cache
  for (let i = 0; i < options.importRuns; i++) {
    for (const { name } of entries) {
      const [wall, cpu] = await importOnce((deployed.get(name) as BundleResult).file, env);
      (samples.get(name) as number[]).push(wall);
      (cpuSamples.get(name) as number[]).push(cpu);
    }
  }
  return entries.map(({ name }) => {
    const d = deployed.get(name) as BundleResult;
    const s = withSdk.get(name) as BundleResult;
    const importSamplesMs = (samples.get(name) as number[]).map((v) => round(v, 2));
    return {
      name,
      bytes: d.bytes,
      gzipBytes: d.gzipBytes,
      bytesWithSdk: s.bytes,
      gzipBytesWithSdk: s.gzipBytes,
      importMs: round(median(importSamplesMs), 2),
      importSamplesMs,
      importCpuMs: round(median(cpuSamples.get(name) as number[]), 2),
      ...(floorOf.has(name) ? { floor: floorOf.get(name) as string } : {}),
      top: contributions(d.metafile).slice(0, 5),
    };
  });
};

/**
 * The whole local system in one process: embedded DynamoDB- and SQS-compatible
 * emulators, the HTTP adapter with every service route, the mounted local
 * parts (Notion simulator, IdP, demo product) and the update worker loop.
 *
 * `npm start` (local/start.ts) runs it on port 3000; integration tests run it
 * on an OS-assigned port with `startLocalSystem({ port: 0 })`.
 *
 * One system per process at a time: the handlers read their settings from
 * process.env, which is shared.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadSourceAdapterModule } from '#adapters/sources/load-module.js';
import { registerSourceAdapter } from '#adapters/sources/registry.js';
import { ENV } from '#lib/env-names.js';
import { LOOPBACK_HOSTS } from '#lib/loopback.js';
import { type FunctionName, HANDLERS, ROUTES, type RouteDefinition, WORKER_HANDLER } from '#lib/routes.js';
import { resetConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';
import { DEFAULT_PORT, LOCAL_HOST, localDefaults } from './defaults.js';
import { type EmulatorOptions, type Emulators, startEmulators } from './emulators.js';
import { concurrentInvocations, LOCAL_MAX_CONCURRENCY, MAX_CONCURRENCY_VARIABLE } from './invocations.js';
import type { LocalMount } from './mount.js';
import { closeMounts, MOUNTS, type MountEntry, startMounts } from './mounts.js';
import {
  createLocalServer,
  type HealthReport,
  hostnameOf,
  type LambdaHttpHandler,
  type LocalServer,
} from './server.js';
import { openDataDir, probeDataDir, readJsonFile, statePaths, writeJsonFile } from './state-dir.js';
import { startWorkerLoop, type WorkerHandler, type WorkerLoop } from './worker-loop.js';

export interface LocalSystemOptions {
  /** Port on 127.0.0.1 (0 = OS-assigned; default 3000). */
  port?: number;
  /** Settings on top of the local defaults (e.g. process.env's for `npm start`). */
  env?: Record<string, string>;
  /** Start the parts listed in local/mounts.ts (default true). */
  mounts?: boolean;
  /** Start the update worker loop (default true). */
  workerLoop?: boolean;
  /** Emulator tuning, e.g. short visibility timeouts in tests. */
  emulators?: Omit<EmulatorOptions, 'host'>;
  /** Worker handler to run instead of functions/update-worker.ts (tests). */
  workerHandler?: WorkerHandler;
  /**
   * Wraps each function's handler as it is loaded (tests: running each call in a context that names the
   * function, to attribute its AWS calls).
   */
  wrapHandler?: <H extends (...args: never[]) => unknown>(name: string, handler: H) => H;
  /** Long-poll wait of the worker loop in seconds (default 20). */
  workerWaitSeconds?: number;
  /** Mount list to use instead of local/mounts.ts (tests). */
  mountEntries?: readonly MountEntry[];
  /**
   * Keep the state of the emulators, the Notion simulator and the demo product
   * under this directory and find it there at the next start (`npm start`:
   * `.local-data/`; see local/state-dir.ts). Absent (the default, as in
   * tests): everything lives in memory and goes with stop().
   */
  dataDir?: string;
  /** With `dataDir`: remove what it keeps before starting (`npm start -- --fresh`). */
  fresh?: boolean;
  /** The runtime's log: info (a line per request and per push to Notion), warnings, errors (default: console, warnings and errors only). */
  log?: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
}

export interface LocalSystem {
  readonly baseUrl: string;
  /** The effective settings handed to the handlers. */
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
  readonly routes: readonly RouteDefinition[];
  readonly mounts: readonly LocalMount[];
  /** Parts listed in local/mounts.ts whose module is not present. */
  readonly skippedMounts: readonly MountEntry[];
  readonly emulators: { readonly dynamodbEndpoint: string; readonly sqsEndpoint: string };
  readonly workerLoop: WorkerLoop | undefined;
  /** Where the state is kept (LocalSystemOptions.dataDir), if anywhere. */
  readonly dataDir?: string | undefined;
  /** The origin the kept state was made on, when it is not this run's (a warning said so at start). */
  readonly keptOrigin?: string | undefined;
  /**
   * The handler of `functions/<name>.ts`, run as the system runs its own: its module's initialization and
   * each invocation in a context of their own (local/invocations.ts). For a test or bench that calls a
   * handler directly while the system runs.
   */
  handler<H extends (...args: never[]) => unknown>(name: FunctionName): Promise<H>;
  /** Stops everything, in reverse start order, and restores process.env. */
  stop(): Promise<void>;
}

/** The port is taken by another process. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(readonly port: number) {
    super(`Port ${port} on ${LOCAL_HOST} is already in use`);
  }
}

let running = false;

const defaultLog: NonNullable<LocalSystemOptions['log']> = (level, message, detail) => {
  const print = level === 'error' ? console.error : level === 'warn' ? console.warn : undefined;
  if (print) detail === undefined ? print(message) : print(message, detail);
};

/** Imports `functions/<name>.ts` and returns its `handler` export. */
const importHandler = async <H>(name: string): Promise<H> => {
  const mod = (await import(`../functions/${name}.js`)) as { handler?: unknown };
  if (typeof mod.handler !== 'function') throw new TypeError(`functions/${name}.ts does not export a handler function`);
  return mod.handler as H;
};

const withTimeout = async (check: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
};

export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  if (running) throw new Error('A local system is already running in this process; stop it first');
  running = true;
  const log = options.log ?? defaultLog;
  const cleanups: Array<() => Promise<void>> = [];
  const savedEnv = new Map<string, string | undefined>();
  const restoreEnv = () => {
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    savedEnv.clear();
    resetConfig();
  };

  const handlers = new Map<string, LambdaHttpHandler>();
  let mounts: readonly LocalMount[] = [];
  let ready = false;
  let emulators: Emulators | undefined;
  let loop: WorkerLoop | undefined;
  let dynamo: DynamoDBClient | undefined;
  let sqs: SQSClient | undefined;

  const health = async (): Promise<HealthReport> => {
    const parts: Record<string, 'up' | 'down' | 'starting'> = { http: 'up' };
    if (!ready || !emulators || !dynamo || !sqs) {
      parts.system = 'starting';
      return { status: 'down', parts };
    }
    const queueUrl = emulators.env[ENV.UPDATE_QUEUE_URL];
    const [ddbUp, sqsUp, ...mountUp] = await Promise.all([
      withTimeout(dynamo.send(new ListTablesCommand({ Limit: 1 })), 2_000),
      withTimeout(sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })), 2_000),
      ...mounts.map((m) =>
        m.health
          ? withTimeout(
              m.health().then((ok) => (ok ? true : Promise.reject())),
              2_000,
            )
          : Promise.resolve(true),
      ),
    ]);
    parts.dynamodb = ddbUp ? 'up' : 'down';
    parts.sqs = sqsUp ? 'up' : 'down';
    for (const name of Object.keys(HANDLERS)) parts[`handler:${name}`] = handlers.has(name) ? 'up' : 'down';
    if (options.workerLoop !== false) parts['worker-loop'] = loop?.polling ? 'up' : 'down';
    mounts.forEach((m, i) => {
      parts[`mount:${m.name}`] = mountUp[i] ? 'up' : 'down';
    });
    // The kept state: a full disk or a directory gone read-only (or removed) fails every save from now on.
    if (options.dataDir) parts.state = probeDataDir(options.dataDir) === undefined ? 'up' : 'down';
    return { status: Object.values(parts).every((p) => p === 'up') ? 'up' : 'down', parts };
  };

  /** The host of PUBLIC_BASE_URL (a tunnel's, when set so), served beside the loopback names; known in step 3. */
  let publicHost: string | undefined;
  const server: LocalServer = createLocalServer({
    allowedHost: (name) => LOOPBACK_HOSTS.has(name) || name === publicHost,
    routes: ROUTES,
    handlerFor: (name) => handlers.get(name),
    mounts: () => mounts,
    health,
    starting: () => !ready,
    onError: (message, error) => log('error', message, error),
    requestLog: (line) => log('info', `[http] ${line}`),
  });

  try {
    // 0. The data directory, if state is kept: locked for this process (and emptied when fresh).
    if (options.dataDir) {
      const lock = openDataDir(options.dataDir, { fresh: options.fresh === true });
      cleanups.push(async () => lock.release());
    }

    // 1. The port first: its number is part of the settings (PUBLIC_BASE_URL, redirect URIs).
    const requested = options.port ?? DEFAULT_PORT;
    let port: number;
    try {
      port = await server.listen(requested, LOCAL_HOST);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(requested);
      throw error;
    }
    cleanups.push(() => server.close());
    const baseUrl = `http://${LOCAL_HOST}:${port}`;
    const origin = options.dataDir ? keptOrigin(options.dataDir, baseUrl) : undefined;
    if (origin?.warning) log('warn', origin.warning);

    // 2. Emulators, with tables and queues from lib/data-model.ts.
    emulators = await startEmulators({
      ...options.emulators,
      host: LOCAL_HOST,
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    });
    const started = emulators;
    cleanups.push(() => started.stop());

    // 3. Settings: local defaults < given settings < the emulators' wiring (and PORT is the port actually bound);
    //    into process.env before any handler loads.
    const env: Record<string, string> = {
      ...localDefaults(port),
      ...options.env,
      ...emulators.env,
      [ENV.PORT]: String(port),
    };
    const publicBase = env[ENV.PUBLIC_BASE_URL] ?? baseUrl;
    publicHost = URL.canParse(publicBase) ? hostnameOf(new URL(publicBase).host) : undefined;
    // A source adapter module of the team's own (SOURCE_ADAPTER_MODULE): registered before any handler
    // composes, and selected unless SOURCE_ADAPTER names another adapter.
    const adapterModule = env[ENV.SOURCE_ADAPTER_MODULE];
    if (adapterModule) {
      const { definition } = await loadSourceAdapterModule(adapterModule).catch((error: unknown) => {
        // The module is named by a setting: say which, as for every other setting.
        if (error instanceof ConfigError) throw new ConfigError(`${ENV.SOURCE_ADAPTER_MODULE}: ${error.message}`);
        throw error;
      });
      const unregister = registerSourceAdapter(definition);
      cleanups.push(async () => unregister());
      if (!options.env?.[ENV.SOURCE_ADAPTER]) env[ENV.SOURCE_ADAPTER] = definition.name;
    }
    // The handlers run as in a Lambda environment that takes several invocations at once (local/invocations.ts).
    const invocations = concurrentInvocations();
    if (!invocations)
      log('warn', 'the handlers run without a context per invocation: log lines of concurrent requests may mix');
    const runtimeEnv = invocations ? { [MAX_CONCURRENCY_VARIABLE]: LOCAL_MAX_CONCURRENCY } : {};
    for (const [k, v] of Object.entries({ ...env, ...runtimeEnv })) {
      if (!savedEnv.has(k)) savedEnv.set(k, process.env[k]);
      process.env[k] = v;
    }
    resetConfig();
    const init = <T>(load: () => Promise<T>): Promise<T> => (invocations ? invocations.init(load) : load());
    const clientConfig = {
      region: env.AWS_REGION ?? 'us-east-1',
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local',
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local',
      },
    };
    const dynamoClient = new DynamoDBClient({ ...clientConfig, endpoint: emulators.dynamodbEndpoint });
    const sqsClient = new SQSClient({ ...clientConfig, endpoint: emulators.sqsEndpoint });
    dynamo = dynamoClient;
    sqs = sqsClient;
    cleanups.push(async () => {
      dynamoClient.destroy();
      sqsClient.destroy();
    });

    // 4. The handler modules, once each, by the names in lib/routes.ts; each invocation in a context of its own.
    const wrap = <H extends (...args: never[]) => unknown>(name: string, handler: H): H => {
      const wrapped = options.wrapHandler ? options.wrapHandler(name, handler) : handler;
      return invocations ? invocations.isolate(wrapped) : wrapped;
    };
    for (const name of Object.keys(HANDLERS)) {
      handlers.set(name, wrap(name, await init(() => importHandler<LambdaHttpHandler>(name))));
    }

    // 5. Mounted parts.
    let skipped: readonly MountEntry[] = [];
    if (options.mounts !== false) {
      const context = { baseUrl, env, log, ...(options.dataDir ? { dataDir: options.dataDir } : {}) };
      const loaded = await startMounts(options.mountEntries ?? MOUNTS, context, (m) => log('warn', m));
      mounts = loaded.mounts;
      skipped = loaded.skipped;
      const started = loaded.mounts;
      cleanups.push(async () => {
        mounts = [];
        await closeMounts(started);
      });
    }

    // Stopping, the HTTP server is closed after the worker loop (whose batch may still push to the simulator
    // over HTTP) and before the parts and emulators: no request is taken after the stop began, and one in
    // flight finishes against running parts instead of failing with a 500.
    cleanups.push(() => server.close());

    // 6. The worker loop on the update queue.
    if (options.workerLoop !== false) {
      const queueUrl = env[ENV.UPDATE_QUEUE_URL];
      if (!queueUrl) throw new Error(`${ENV.UPDATE_QUEUE_URL} is not set`);
      const handler = wrap(
        WORKER_HANDLER,
        options.workerHandler ?? (await init(() => importHandler<WorkerHandler>(WORKER_HANDLER))),
      );
      loop = await startWorkerLoop({
        sqs: sqsClient,
        queueUrl,
        handler,
        waitTimeSeconds: options.workerWaitSeconds ?? 20,
        log: (level, message, detail) => log(level, `[worker-loop] ${message}`, detail),
      });
      const startedLoop = loop;
      cleanups.push(() => startedLoop.stop());
    }

    // The origin is recorded once the system is up: a start that fails (a bad setting) leaves no record that
    // would make the next start on another port warn about state that was never made.
    if (origin?.record) await writeJsonFile(origin.record.file, { baseUrl: origin.record.baseUrl });
    ready = true;
    let stopped: Promise<void> | undefined;
    return {
      baseUrl,
      env,
      port,
      routes: ROUTES,
      mounts,
      skippedMounts: skipped,
      emulators: { dynamodbEndpoint: emulators.dynamodbEndpoint, sqsEndpoint: emulators.sqsEndpoint },
      workerLoop: loop,
      dataDir: options.dataDir,
      keptOrigin: origin?.previous,
      handler: async <H extends (...args: never[]) => unknown>(name: FunctionName) =>
        wrap(name, await init(() => importHandler<H>(name))),
      stop() {
        stopped ??= (async () => {
          ready = false;
          try {
            await runCleanups(cleanups);
          } finally {
            restoreEnv();
            running = false;
          }
        })();
        return stopped;
      },
    };
  } catch (error) {
    try {
      await runCleanups(cleanups);
    } catch (cleanupError) {
      log('error', 'stopping after a failed start also failed', cleanupError);
    }
    restoreEnv();
    running = false;
    throw error;
  }
}

/**
 * Which base URL the state in the data directory belongs to (the first run's; --fresh starts a new record):
 * a warning when it was made on another one (links pasted then, subscriptions and the service's tokens name
 * that origin), and the record to write once the system is up when there is none yet.
 */
const keptOrigin = (
  dataDir: string,
  baseUrl: string,
): {
  readonly warning?: string;
  readonly previous?: string;
  readonly record?: { readonly file: string; readonly baseUrl: string };
} => {
  const file = statePaths(dataDir).system;
  let before: unknown;
  try {
    before = readJsonFile(file);
  } catch {
    before = undefined;
  }
  const previous = (before as { baseUrl?: unknown } | undefined)?.baseUrl;
  // The origin is the one the state was first made on: a run on another port does not change it.
  if (typeof previous !== 'string') return { record: { file, baseUrl } };
  if (previous === baseUrl) return {};
  return {
    previous,
    warning: `The state kept in ${dataDir} was made on ${previous}; links and connections made there name that origin. Start on the same port (PORT=${new URL(previous).port}) or start clean with \`npm start -- --fresh\`.`,
  };
};

/** Runs clean-ups in reverse order; every one runs even if an earlier one fails. */
const runCleanups = async (cleanups: Array<() => Promise<void>>): Promise<void> => {
  const failures: unknown[] = [];
  while (cleanups.length > 0) {
    const next = cleanups.pop() as () => Promise<void>;
    try {
      await next();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, 'Stopping the local system failed');
};

/**
 * `npm start`: the whole system on 127.0.0.1:$PORT (default 3000) with safe
 * local defaults for every setting not given in the environment (or in `.env`
 * at the repository root, if there is one; the environment wins).
 *
 * State is kept in `.local-data/` (LOCAL_DATA_DIR) across restarts;
 * `npm start -- --fresh` starts clean (ADR 0101).
 *
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP stops everything cleanly, saving what is
 * kept, and exits 0; so does the parent process going away. A second signal
 * while stopping exits at once (130).
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ENV } from '#lib/env-names.js';
import { consoleLog } from './console-log.js';
import { DEFAULT_PORT } from './defaults.js';
import { clearRuntimeInfo, runtimeInfoFile, writeRuntimeInfo } from './runtime-info.js';
import { DataDirInUseError, dataDirFromEnvironment, REPO_ROOT, readDotEnv } from './state-dir.js';
import { type LocalSystem, PortInUseError, startLocalSystem } from './system.js';

const SETTING_NAMES = new Set<string>(Object.values(ENV));

/** Settings named in lib/env-names.ts that the environment sets (empty values count as unset). */
export const settingsFromEnvironment = (env: NodeJS.ProcessEnv): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (SETTING_NAMES.has(k) && v !== undefined && v !== '') out[k] = v;
  return out;
};

/** Parses PORT; undefined when it is not a valid TCP port. */
export const parsePort = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 && n <= 65_535 ? n : undefined;
};

/**
 * Loads `file` (default: `.env` at the repository root) into `env` if it
 * exists, with Node's own parser (the syntax of `node --env-file`). Variables
 * already set in `env` win over the file, as with `process.loadEnvFile()`.
 * Returns whether a file was loaded.
 */
export const loadDotEnv = (file = join(REPO_ROOT, '.env'), env: NodeJS.ProcessEnv = process.env): boolean => {
  const variables = readDotEnv(file);
  if (!variables) return false;
  for (const [name, value] of Object.entries(variables))
    if (env[name] === undefined && value !== undefined) env[name] = value;
  return true;
};

export interface StartArguments {
  /** Remove the kept state before starting. */
  readonly fresh: boolean;
  readonly help: boolean;
}

/** Parses `npm start -- [--fresh]`; throws on anything else. */
export const parseStartArguments = (args: readonly string[]): StartArguments => {
  const { values } = parseArgs({
    args: [...args],
    options: { fresh: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
    allowPositionals: false,
  });
  return { fresh: values.fresh === true, help: values.help === true };
};

const USAGE = `Usage: npm start [-- --fresh]

Starts the local system on 127.0.0.1:$PORT (default ${DEFAULT_PORT}).
State (tables, queues, the Notion simulator's connections and previews, the demo tasks)
is kept in LOCAL_DATA_DIR (default .local-data/) across restarts.

  --fresh   remove the kept state first and start clean
  --help    show this text`;

/** Where `npm start` keeps its state (local/state-dir.ts). */
export { dataDirFromEnvironment } from './state-dir.js';

/** Names whose values are never printed. */
export const isSecretName = (name: string): boolean => /SECRET(?!_ARN)|PASSWORD|_KEYS?$|ACCESS_KEY/.test(name);

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

/** The start-up banner: every URL the system serves and the effective non-secret settings. */
export const banner = (system: LocalSystem, given: Readonly<Record<string, string>>, startMs: number): string => {
  const b = system.baseUrl;
  const lines: string[] = [];
  lines.push(`notion-link-preview local system is up on ${b} (started in ${startMs} ms)`);
  lines.push('');
  lines.push('Service routes (the handlers Lambda runs, behind an API Gateway v2 stand-in)');
  for (const r of system.routes) {
    const field = r.dashboardField ? `  → Notion dashboard: ${r.dashboardField}` : '';
    lines.push(`  ${pad(r.method, 7)}${pad(`${b}${r.path}`, 62)}${field}`.trimEnd());
  }
  lines.push('');
  lines.push('Local parts');
  lines.push(`  ${pad('Health', 34)}${b}/healthz`);
  for (const m of system.mounts) {
    const urls = m.urls && m.urls.length > 0 ? m.urls : [{ label: m.name, path: m.prefix || '/' }];
    for (const u of urls) lines.push(`  ${pad(u.label, 34)}${b}${u.path}`);
  }
  for (const s of system.skippedMounts)
    lines.push(`  ${pad(s.name, 34)}${b}${s.prefix || '/'}  (not available in this build)`);
  lines.push('');
  lines.push('Emulators (reached through the AWS SDK v3 clients)');
  lines.push(`  ${pad('DynamoDB (dynalite)', 34)}${system.emulators.dynamodbEndpoint}`);
  lines.push(`  ${pad('SQS (fauxqs)', 34)}${system.emulators.sqsEndpoint}`);
  for (const name of [
    ENV.CONNECTIONS_TABLE,
    ENV.AUTH_STATE_TABLE,
    ENV.SUBSCRIPTIONS_TABLE,
    ENV.RATE_LIMITS_TABLE,
    ENV.DELIVERY_LOG_TABLE,
    ENV.UPDATE_QUEUE_URL,
    ENV.UPDATE_DLQ_URL,
  ]) {
    const v = system.env[name];
    if (v) lines.push(`    ${pad(name, 32)}${v}`);
  }
  lines.push(`  Worker loop: ${system.workerLoop ? 'polling the update queue' : 'off'}`);
  lines.push('');
  if (system.dataDir) {
    lines.push(`State kept across restarts in ${system.dataDir} (npm start -- --fresh starts clean)`);
    lines.push('');
  }
  lines.push('Settings (* = from the environment; secrets hidden)');
  for (const name of Object.values(ENV)) {
    const v = system.env[name];
    if (v === undefined || isSecretName(name)) continue;
    lines.push(`  ${given[name] !== undefined ? '*' : ' '} ${pad(name, 42)}${v}`);
  }
  const secrets = Object.values(ENV).filter((n) => isSecretName(n) && system.env[n] !== undefined);
  lines.push(`    secrets set: ${secrets.map((n) => `${n}${given[n] !== undefined ? '*' : ''}`).join(', ')}`);
  lines.push('');
  lines.push('Press Ctrl-C to stop.');
  return lines.join('\n');
};

/** `npm start` (and `npx notion-link-preview-local` in a team's repository): parses the arguments and runs until stopped. */
export const runFromCommandLine = async (): Promise<void> => {
  let args: StartArguments;
  try {
    args = parseStartArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(1);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  try {
    loadDotEnv();
  } catch (error) {
    console.error(`.env could not be read: ${(error as Error).message}`);
    process.exit(1);
  }
  const given = settingsFromEnvironment(process.env);
  const port = parsePort(process.env.PORT);
  if (port === undefined) {
    console.error(`PORT must be a TCP port number (0–65535), not ${JSON.stringify(process.env.PORT)}`);
    process.exit(1);
  }
  // Signals are handled from here on, so that one arriving while the system starts is not fatal:
  // the system then stops as soon as it is up.
  let system: LocalSystem | undefined;
  let stopping = false;
  const dataDir = dataDirFromEnvironment(process.env);
  const stopAndExit = (running: LocalSystem) =>
    running.stop().then(
      () => {
        clearRuntimeInfo(runtimeInfoFile(dataDir));
        console.log('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('Stopping failed:', error);
        process.exit(1);
      },
    );
  // A Ctrl-C in a terminal reaches this process twice at once: from the terminal, and passed on by npm.
  // A second signal counts as "force" only when it comes a moment after the first.
  let firstSignalAt = 0;
  const shutdown = (reason: string) => {
    if (stopping && Date.now() - firstSignalAt < 1_000) return;
    if (stopping) {
      console.error(`\n${reason} again: exiting without a clean stop.`);
      process.exit(130);
    }
    stopping = true;
    firstSignalAt = Date.now();
    clearInterval(parentWatch);
    // Only a terminal's Ctrl-C can be repeated by the person who sent it.
    const force = reason === 'SIGINT' ? ' (press Ctrl-C again to force)' : '';
    console.log(`\n${reason}: stopping…${force}`);
    if (system) void stopAndExit(system);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
  // Orphaned (the parent was killed without passing a signal on): stop too, rather than hold the port.
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid !== parent) shutdown('The parent process exited');
  }, 1_000);
  parentWatch.unref();

  const t0 = Date.now();
  if (args.fresh) console.log('--fresh: the kept state is removed; starting clean.');
  try {
    system = await startLocalSystem({
      port,
      env: given,
      dataDir,
      fresh: args.fresh,
      log: consoleLog({ level: process.env.LOG_LEVEL }),
    });
  } catch (error) {
    if (error instanceof PortInUseError) {
      console.error(
        `${error.message}. Stop whatever is listening there, or choose another port, e.g. PORT=${port + 1} npm start`,
      );
    } else if (error instanceof DataDirInUseError) {
      console.error(
        `${error.message}. Stop it first, or give this one its own directory, e.g. LOCAL_DATA_DIR=.local-data-2 npm start`,
      );
    } else {
      console.error('The local system failed to start:', error);
    }
    process.exit(1);
  }
  if (stopping) {
    await stopAndExit(system);
    return;
  }
  console.log(banner(system, given, Date.now() - t0));
  writeRuntimeInfo(system, runtimeInfoFile(dataDir)); // <data dir>/local-server.json: where the scripts find it
};

// Run only as the entry point (`tsx local/start.ts`), so the helpers above can be imported by tests.
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(resolve(entry)).href) await runFromCommandLine();

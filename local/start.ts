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
 * while stopping exits at once (130). A part that fails while the system runs
 * (an error nothing caught, e.g. the embedded DynamoDB on a full disk) is
 * reported in one line and stops everything as cleanly, with exit status 1;
 * so is a last save that fails while it stops (every other part still stops).
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { ENV } from '#lib/env-names.js';
import { parseConfig } from '#shared/config.js';
import { consoleLog } from './console-log.js';
import { DEFAULT_PORT } from './defaults.js';
import { DEMO_USERS } from './demo-users.js';
import { LOG_FORMATS, parseLogFormat, showHandlerRecordsAsText } from './handler-log.js';
import {
  clearRuntimeInfo,
  type RuntimeInfo,
  readRuntimeInfo,
  runtimeInfoFile,
  writeRuntimeInfo,
} from './runtime-info.js';
import { DataDirInUseError, dataDirFromEnvironment, REPO_ROOT, readDotEnv, stateDirProblem } from './state-dir.js';
import { type LocalSystem, PortInUseError, startLocalSystem } from './system.js';
import { usageProblem } from './usage.js';

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

/** A wrong command line: one line on stderr and exit status 2, as every script of the project (ADR 0102). */
export class StartUsageError extends Error {
  override readonly name = 'StartUsageError';
}

/** Parses `npm start -- [--fresh]`; throws StartUsageError, in the scripts' words, on anything else. */
export const parseStartArguments = (args: readonly string[]): StartArguments => {
  let values: { fresh?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { fresh: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // `--help` wins over any other mistake on the same command line.
    if (args.includes('--help') || args.includes('-h')) return { fresh: false, help: true };
    throw new StartUsageError(usageProblem(error));
  }
  return { fresh: values.fresh === true, help: values.help === true };
};

/**
 * `npm start --fresh`, without the `--`: npm keeps the option for itself (with a warning) and passes it on
 * only as `npm_config_fresh`. Whoever typed it wants a clean start, so it counts.
 */
export const freshGivenToNpm = (env: Readonly<Record<string, string | undefined>>): boolean =>
  env.npm_lifecycle_event === 'start' && env.npm_config_fresh === 'true';

/** Names of settings (`UPPER_CASE` words) that `text` mentions, in order, each once. */
const settingNamesIn = (text: string): string[] => [
  ...new Set(text.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\bPORT\b|\bSTAGE\b/g) ?? []),
];

/**
 * The one line `npm start` prints when a setting stops it: the problem as the configuration reports it, and
 * where each setting it names was set (`.env` or the environment), so that the value to fix is found at once.
 * Undefined when the failure is not about a setting (a crash, printed with its stack).
 */
export const settingProblem = (
  error: unknown,
  origin: {
    /** Names `.env` set. */
    readonly dotEnv: ReadonlySet<string>;
    /** The environment after `.env` was read. */
    readonly env: Readonly<Record<string, string | undefined>>;
    /** How to call the .env file in the message. */
    readonly dotEnvFile?: string;
  },
): string | undefined => {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (typeof message !== 'string') return undefined;
  const text = message.split('\n', 1)[0]?.trim() ?? '';
  const named = settingNamesIn(text).filter((n) => SETTING_NAMES.has(n) || origin.env[n] !== undefined);
  if (name !== 'ConfigError' && named.length === 0) return undefined;
  const fromFile = named.filter((n) => origin.dotEnv.has(n));
  const fromEnvironment = named.filter((n) => !origin.dotEnv.has(n) && origin.env[n] !== undefined);
  const where = [
    ...(fromFile.length > 0 ? [`${fromFile.join(', ')} set in ${origin.dotEnvFile ?? '.env'}`] : []),
    ...(fromEnvironment.length > 0 ? [`${fromEnvironment.join(', ')} set in the environment`] : []),
  ];
  return `npm start: ${text}${where.length > 0 ? ` (${where.join('; ')})` : ''}`;
};

/**
 * One line per part that failed to stop (a failed stop gathers them into nested AggregateErrors): the kept
 * state's problem and what to do when it is one (stateDirProblem), else the error's first line.
 */
export const stopFailureLines = (error: unknown, dataDir: string): string[] => {
  if (error instanceof AggregateError) return error.errors.flatMap((e) => stopFailureLines(e, dataDir));
  const problem = stateDirProblem(error, dataDir);
  if (problem !== undefined) return [problem];
  const message = error instanceof Error ? error.message : String(error);
  return [`a part of the local system failed to stop: ${message.split('\n', 1)[0]}`];
};

const USAGE = `Usage: npm start [-- --fresh]

Starts the local system on 127.0.0.1:$PORT (default ${DEFAULT_PORT}).
State (tables, queues, the Notion simulator's connections and previews, the demo tasks)
is kept in LOCAL_DATA_DIR (default .local-data/) across restarts.
Settings come from the environment, then .env, then the local defaults (README, "Settings").

  --fresh   remove the kept state first and start clean
  --help    show this text

Exit status: 0 stopped cleanly, 1 it could not start or a part failed while it ran (one line;
DEBUG=1 adds the stack trace), 2 wrong usage, 130 stopped at once by a second Ctrl-C.`;

/** Where `npm start` keeps its state (local/state-dir.ts). */
export { dataDirFromEnvironment } from './state-dir.js';

/** Names whose values are never printed. */
export const isSecretName = (name: string): boolean => /SECRET(?!_ARN)|PASSWORD|_KEYS?$|ACCESS_KEY/.test(name);

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

/**
 * What a second `npm start` says when another one holds the state directory: where that one is up (its record,
 * when it has written one) and how to run a second one beside it, with a port of its own when the first one has
 * the port asked for (a second directory alone would only be refused next for the port).
 */
export const dataDirInUseMessage = (
  error: DataDirInUseError,
  port: number,
  running: Pick<RuntimeInfo, 'pid' | 'baseUrl' | 'port'> | undefined,
): string => {
  const other = running?.pid === error.pid ? running : undefined;
  const where = other ? `, already up on ${other.baseUrl}` : '';
  const needsPort = port !== 0 && (other === undefined || other.port === port);
  const suggestion = `${needsPort ? `PORT=${port + 1} ` : ''}LOCAL_DATA_DIR=.local-data-2 npm start`;
  return `${error.message}${where}. Use that one, or stop it first (Ctrl-C in its terminal); to run a second one beside it: ${suggestion}`;
};

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
    // The warning printed at start is above the banner, out of sight: repeated where the state is named.
    if (system.keptOrigin)
      lines.push(
        `  made on ${system.keptOrigin}, not here: its links and connections name that origin (PORT=${new URL(system.keptOrigin).port}, or --fresh)`,
      );
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
  const next = nextStep(system);
  if (next) lines.push(next, '');
  lines.push('Press Ctrl-C to stop.');
  return lines.join('\n');
};

/**
 * What to do first, as the README's first screen says it: open the playground, paste a link the rules
 * match (their first sample URL: a demo task, or the team's own link), and sign in (with the local
 * provider's first account when it is the one in use). Undefined without the playground.
 */
export const nextStep = (system: Pick<LocalSystem, 'baseUrl' | 'env' | 'mounts'>): string | undefined => {
  const b = system.baseUrl;
  if (!system.mounts.some((m) => m.prefix === '')) return undefined;
  let sample: string | undefined;
  try {
    sample = rulesFromConfig(parseConfig(system.env)).rules[0]?.sampleUrls[0];
  } catch {
    sample = undefined;
  }
  const localLogin = system.env[ENV.OIDC_ISSUER] === `${b}/idp` && system.mounts.some((m) => m.prefix === '/idp');
  const [login] = DEMO_USERS;
  return [
    `Next: open ${b}/ (the playground), paste ${sample ?? 'a link your UNFURL_RULES match'},`,
    `  press "Paste as preview", then "Connect"${
      localLogin && login ? ` and sign in as ${login.login} / ${login.password}` : ' and sign in'
    }.`,
  ].join('\n');
};

/** `npm start` (and `npx notion-link-preview-local` in a team's repository): parses the arguments and runs until stopped. */
export const runFromCommandLine = async (): Promise<void> => {
  let args: StartArguments;
  try {
    args = parseStartArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`npm start: ${(error as Error).message} (see --help)`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (!args.fresh && freshGivenToNpm(process.env)) {
    console.log(
      '--fresh reached npm, not the start script (the documented form is npm start -- --fresh); taken as given.',
    );
    args = { ...args, fresh: true };
  }
  const setBefore = new Set(Object.keys(process.env));
  try {
    loadDotEnv();
  } catch (error) {
    console.error(`npm start: .env could not be read: ${(error as Error).message}`);
    process.exit(1);
  }
  const dotEnv = new Set(Object.keys(process.env).filter((name) => !setBefore.has(name)));
  const given = settingsFromEnvironment(process.env);
  const port = parsePort(process.env.PORT);
  if (port === undefined) {
    console.error(
      `npm start: PORT must be a TCP port number (0–65535), not ${JSON.stringify(process.env.PORT)}${
        dotEnv.has('PORT') ? ' (PORT set in .env)' : ' (PORT set in the environment)'
      }`,
    );
    process.exit(1);
  }
  const logFormat = parseLogFormat(process.env.LOG_FORMAT);
  if (logFormat === undefined) {
    console.error(
      `npm start: LOG_FORMAT must be ${LOG_FORMATS.join(' or ')}, not ${JSON.stringify(process.env.LOG_FORMAT)}${
        dotEnv.has('LOG_FORMAT') ? ' (LOG_FORMAT set in .env)' : ' (LOG_FORMAT set in the environment)'
      }`,
    );
    process.exit(1);
  }
  // The handlers' Powertools records as one short line each, among the runtime's own (ADR 0161).
  if (logFormat === 'text') showHandlerRecordsAsText();
  // Signals are handled from here on, so that one arriving while the system starts is not fatal:
  // the system then stops as soon as it is up.
  let system: LocalSystem | undefined;
  let stopping = false;
  const dataDir = dataDirFromEnvironment(process.env);
  /**
   * Stops the system and exits: 0, or `failedCode` when it stops after a failure. A part that fails to stop
   * (a last save on a full disk) is named in one line and the exit status is 1: every part was still asked to
   * stop, so nothing listens and the directory is not locked, but what that part held is not saved.
   */
  const stopAndExit = (running: LocalSystem, failedCode: 0 | 1 = 0) =>
    running.stop().then(
      () => {
        clearRuntimeInfo(runtimeInfoFile(dataDir));
        console.log('Stopped.');
        process.exit(failedCode);
      },
      (error: unknown) => {
        for (const line of new Set(stopFailureLines(error, dataDir))) console.error(`npm start: ${line}`);
        if (process.env.DEBUG) console.error(error);
        clearRuntimeInfo(runtimeInfoFile(dataDir));
        console.error('Stopped, but not everything was saved (above).');
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
  // An error nothing caught (the embedded DynamoDB throws its storage errors out of its request handler): say
  // what failed in one line, stop what runs as a signal would, and exit 1, rather than die with a stack trace,
  // the port held until the process is gone and the kept state's record left behind.
  let crashed = false;
  process.on('uncaughtException', (error) => {
    if (crashed) return;
    crashed = true;
    const problem = stateDirProblem(error, dataDir);
    console.error(
      `npm start: ${problem ?? `a part of the local system failed: ${(error as Error)?.message ?? String(error)}`} Stopping.`,
    );
    if (problem === undefined || process.env.DEBUG) console.error(error);
    const running = system;
    if (!running || stopping) process.exit(1);
    stopping = true;
    clearInterval(parentWatch);
    // The stop may meet the same failure; it has a few seconds to save what it can.
    setTimeout(() => process.exit(1), 5_000).unref();
    void stopAndExit(running, 1);
  });
  // Orphaned (the parent was killed without passing a signal on): stop too, rather than hold the port.
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid !== parent) shutdown('The parent process exited');
  }, 1_000);
  parentWatch.unref();

  const t0 = Date.now();
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
      console.error(dataDirInUseMessage(error, port, readRuntimeInfo(runtimeInfoFile(dataDir))));
    } else {
      // The state directory, else a setting: one line saying what to do (a probe write tells the first).
      const stateProblem = stateDirProblem(error, dataDir);
      const problem =
        stateProblem === undefined ? settingProblem(error, { dotEnv, env: process.env }) : `npm start: ${stateProblem}`;
      if (problem) {
        console.error(problem);
        if (process.env.DEBUG) console.error(error);
      } else console.error('The local system failed to start:', error);
    }
    process.exit(1);
  }
  if (stopping) {
    await stopAndExit(system);
    return;
  }
  // Said once it is true: a start refused (the directory in use by another one) removes nothing.
  if (args.fresh) console.log('--fresh: the kept state was removed; started clean.');
  console.log(banner(system, given, Date.now() - t0));
  writeRuntimeInfo(system, runtimeInfoFile(dataDir)); // <data dir>/local-server.json: where the scripts find it
};

// Run only as the entry point (`tsx local/start.ts`), so the helpers above can be imported by tests.
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(resolve(entry)).href) await runFromCommandLine();

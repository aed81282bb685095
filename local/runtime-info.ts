/**
 * Where the running `npm start` can be reached, for the project's scripts
 * (`npm run dashboard`, `deliveries`, `connections`, `redrive`): npm start
 * writes `local-server.json` into its state directory (`.local-data/`, or
 * LOCAL_DATA_DIR) once it is up and removes it when it stops; the scripts look
 * in the directory npm start would use, from the environment or `.env`. Two
 * systems with state directories of their own each keep their own record. A
 * file left behind by a killed process is ignored (its pid is gone).
 *
 * Only addresses on 127.0.0.1 and non-secret settings are written.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ENV } from '#lib/env-names.js';
import { LOCAL_HOST } from './defaults.js';
import { DEFAULT_DATA_DIR, dataDirFromEnvironment, readDotEnv } from './state-dir.js';

/** The record of a system kept in the default state directory. */
export const RUNTIME_INFO_FILE = path.join(DEFAULT_DATA_DIR, 'local-server.json');

/**
 * The record in `dataDir`; by default in the state directory `npm start` would use here: LOCAL_DATA_DIR from
 * the environment, else from `.env` at the repository root (as npm start loads it), else `.local-data/`.
 */
export const runtimeInfoFile = (dataDir = dataDirFromEnvironment({ ...dotEnvDataDir(), ...process.env })): string =>
  path.join(dataDir, 'local-server.json');

const dotEnvDataDir = (): Record<string, string> => {
  try {
    const value = readDotEnv()?.[ENV.LOCAL_DATA_DIR];
    return value === undefined ? {} : { [ENV.LOCAL_DATA_DIR]: value };
  } catch {
    return {};
  }
};

export interface RuntimeInfo {
  readonly pid: number;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly port: number;
  /** PUBLIC_BASE_URL of the running system (the base URL unless set otherwise). */
  readonly publicBaseUrl: string;
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly startedAt: string;
}

/** What the running system is: the parts of a LocalSystem this file records. */
export interface RunningSystem {
  readonly baseUrl: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly emulators: { readonly dynamodbEndpoint: string; readonly sqsEndpoint: string };
}

export const runtimeInfoOf = (system: RunningSystem, pid = process.pid, now = Date.now()): RuntimeInfo => ({
  pid,
  baseUrl: system.baseUrl,
  port: system.port,
  publicBaseUrl: system.env[ENV.PUBLIC_BASE_URL] ?? system.baseUrl,
  dynamodbEndpoint: system.emulators.dynamodbEndpoint,
  sqsEndpoint: system.emulators.sqsEndpoint,
  startedAt: new Date(now).toISOString(),
});

/** Records the running system; a failure to write is reported, never fatal. */
export const writeRuntimeInfo = (system: RunningSystem, file = runtimeInfoFile()): boolean => {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, `${JSON.stringify(runtimeInfoOf(system), null, 2)}\n`);
    renameSync(partial, file);
    return true;
  } catch (error) {
    process.stderr.write(`could not record the local server in ${file}: ${(error as Error).message}\n`);
    return false;
  }
};

const isLoopbackUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && url.hostname === LOCAL_HOST;
  } catch {
    return false;
  }
};

/** True when a process with this id exists (EPERM: it exists, owned by someone else). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The running local system, or undefined (no file, not a valid record, or its process is gone). */
export const readRuntimeInfo = (
  file = runtimeInfoFile(),
  alive: (pid: number) => boolean = processAlive,
): RuntimeInfo | undefined => {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== 'object') return undefined;
  const { pid, port, baseUrl, publicBaseUrl, dynamodbEndpoint, sqsEndpoint, startedAt } = data;
  if (!Number.isInteger(pid) || (pid as number) <= 0) return undefined;
  if (!Number.isInteger(port) || (port as number) <= 0 || (port as number) > 65_535) return undefined;
  if (![baseUrl, dynamodbEndpoint, sqsEndpoint].every(isLoopbackUrl)) return undefined;
  if (baseUrl !== `http://${LOCAL_HOST}:${port}`) return undefined;
  if (typeof publicBaseUrl !== 'string' || typeof startedAt !== 'string') return undefined;
  if (!alive(pid as number)) return undefined;
  return {
    pid: pid as number,
    port: port as number,
    baseUrl: baseUrl as string,
    publicBaseUrl,
    dynamodbEndpoint: dynamodbEndpoint as string,
    sqsEndpoint: sqsEndpoint as string,
    startedAt,
  };
};

/** Removes the record if this process wrote it (another npm start may have replaced it). */
export const clearRuntimeInfo = (file = runtimeInfoFile(), pid = process.pid): void => {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    if (data.pid === pid) rmSync(file, { force: true });
  } catch {
    // Nothing recorded, or not readable: nothing to clear.
  }
};

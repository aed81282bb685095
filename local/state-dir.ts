/**
 * The local system's kept state: `npm start` keeps tables, queues, the Notion
 * simulator's world and the demo product's tasks under one directory
 * (`.local-data/` at the repository root, or LOCAL_DATA_DIR), so that a
 * restart finds them again; `npm start -- --fresh` empties it first.
 *
 * Layout (each part owns its entry):
 *   dynamodb/          dynalite's LevelDB
 *   sqs/               fauxqs's SQLite database (queues and their messages)
 *   notion-simulator.json, demo-product.json   JSON snapshots
 *   system.json        which base URL the state was made on
 *   lock               the pid of the process using the directory
 *
 * In-process users (tests, benchmarks) pass no directory and keep everything
 * in memory.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { ENV } from '#lib/env-names.js';

/** Where this package lives (this file is in local/). */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The repository root: this package's own checkout, or, where it is installed as a dependency of a team's
 * repository (under node_modules), the directory it runs in.
 */
export const REPO_ROOT = PACKAGE_ROOT.split(sep).includes('node_modules') ? process.cwd() : PACKAGE_ROOT;
export const DEFAULT_DATA_DIR = join(REPO_ROOT, '.local-data');

/**
 * The variables of `file` (default: `.env` at the repository root), parsed with Node's own parser (the
 * syntax of `node --env-file`); undefined when there is no such file. A file that cannot be read throws.
 */
export const readDotEnv = (file = join(REPO_ROOT, '.env')): Record<string, string | undefined> | undefined =>
  existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : undefined;

/** Where `npm start` keeps its state: LOCAL_DATA_DIR, else `.local-data/` at the repository root. */
export const dataDirFromEnvironment = (env: Readonly<Record<string, string | undefined>>): string => {
  const value = env[ENV.LOCAL_DATA_DIR];
  return value === undefined || value.trim() === '' ? DEFAULT_DATA_DIR : resolve(value);
};

/** Where a part of the system keeps its state inside the data directory. */
export const statePaths = (dataDir: string) => ({
  dynamodb: join(dataDir, 'dynamodb'),
  sqs: join(dataDir, 'sqs'),
  notionSimulator: join(dataDir, 'notion-simulator.json'),
  demoProduct: join(dataDir, 'demo-product.json'),
  system: join(dataDir, 'system.json'),
  lock: join(dataDir, 'lock'),
});

/** Another live process holds the data directory. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`Another local system (pid ${pid}) is using ${dataDir}`);
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export interface DataDirLock {
  release(): void;
}

/**
 * Creates the directory (emptied first when `fresh`) and takes its lock: a
 * file with this process's pid, created exclusively. A lock left by a process
 * that no longer runs is taken over; one held by a live process throws
 * DataDirInUseError (LevelDB would refuse the second opener anyway, less clearly).
 */
export const openDataDir = (dataDir: string, options: { readonly fresh?: boolean } = {}): DataDirLock => {
  const paths = statePaths(dataDir);
  // mkdirSync names the first directory it made: this start's, to remove again if it leaves it empty.
  const made = mkdirSync(dataDir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(paths.lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const pid = Number.parseInt(readFileSync(paths.lock, 'utf8').trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
        throw new DataDirInUseError(dataDir, pid);
      unlinkSync(paths.lock);
    }
  }
  if (options.fresh) {
    for (const path of [paths.dynamodb, paths.sqs, paths.notionSimulator, paths.demoProduct, paths.system])
      rmSync(path, { recursive: true, force: true });
  }
  removeLeftTemporaryFiles(dataDir);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        if (readFileSync(paths.lock, 'utf8').trim() === String(process.pid)) unlinkSync(paths.lock);
      } catch {
        // Already gone.
      }
      // A start that failed before keeping anything (the port was taken) leaves no directory behind.
      if (made !== undefined) {
        try {
          rmdirSync(dataDir);
        } catch {
          // Not empty: the state stays.
        }
      }
    },
  };
};

/** `<file>.<pid>.<hex>.tmp` (writeAtomic) and `<file>.<pid>.tmp` (the runtime record): a write's temporary file. */
const TEMPORARY_FILE = /\.(\d+)(?:\.[0-9a-f]{8})?\.tmp$/;

/**
 * Removes the temporary files of writes a killed process never finished (kill -9 between write and rename):
 * only ours, only at the top of the directory, and only those of processes that no longer run.
 */
const removeLeftTemporaryFiles = (dataDir: string): void => {
  for (const name of readdirSync(dataDir)) {
    const pid = Number(TEMPORARY_FILE.exec(name)?.[1] ?? 0);
    if (pid > 0 && (pid === process.pid || !isAlive(pid))) rmSync(join(dataDir, name), { force: true });
  }
};

/**
 * Whether the data directory takes a write now: undefined when it does, else why not (e.g. `ENOSPC: no space
 * left on device`). Writes a small file of this process's own and removes it (GET /healthz; a crash's message).
 */
export const probeDataDir = (dataDir: string): string | undefined => {
  const probe = join(dataDir, `.probe.${process.pid}.tmp`);
  try {
    writeFileSync(probe, Buffer.alloc(4096));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    try {
      rmSync(probe, { force: true });
    } catch {
      // Nothing was made.
    }
  }
};

/** File-system error codes that mean the directory, not the program, is the problem. */
const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'EIO']);

/** What the state's storage reports as broken: an emulator's database, or a file system error on the directory. */
const storageFailure = (
  error: unknown,
  dataDir: string,
): { readonly code: string; readonly message: string } | undefined => {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, path } = error as { code?: unknown; message?: unknown; path?: unknown };
  if (typeof message !== 'string') return undefined;
  // dynalite rewrites LevelDB's LEVEL_DATABASE_NOT_OPEN (it could not open its files) into a bare error.
  if (code === undefined && message === 'Database is closed') return { code: 'LEVEL_DATABASE_NOT_OPEN', message };
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('LEVEL_') || code === 'ERR_SQLITE_ERROR') return { code, message };
  const inside = typeof path === 'string' && (path === dataDir || path.startsWith(`${dataDir}${sep}`));
  if (inside || (STORAGE_CODES.has(code) && typeof path === 'string' && dataDir.startsWith(path)))
    return { code, message };
  return undefined;
};

/**
 * The one line `npm start` prints when the state directory stops it, at start or while it runs: which store
 * failed, why (a probe write says it when the store's own error does not), and what to do. Undefined when the
 * failure is not about the kept state.
 */
export const stateDirProblem = (error: unknown, dataDir: string): string | undefined => {
  const failure = storageFailure(error, dataDir);
  if (!failure) return undefined;
  const paths = statePaths(dataDir);
  const text = failure.message.split('\n', 1)[0]?.trim() ?? '';
  const where = failure.code.startsWith('LEVEL_')
    ? `DynamoDB's tables in ${paths.dynamodb}`
    : failure.code === 'ERR_SQLITE_ERROR'
      ? `the queues in ${paths.sqs}`
      : `the state directory ${dataDir}`;
  const unwritable = probeDataDir(dataDir);
  const corrupt = /not a database|malformed|corrupt/i.test(text);
  if (unwritable)
    return `${where} cannot be written (${unwritable}). Free some space or make the directory writable, or set LOCAL_DATA_DIR to another directory; what was saved before is kept.`;
  if (corrupt)
    return `${where} cannot be read (${text}). Move that directory aside, or start clean with npm start -- --fresh.`;
  return `${where} failed (${text}). Check the directory, or set LOCAL_DATA_DIR to another one; npm start -- --fresh starts clean.`;
};

/** Reads a JSON file; undefined when it does not exist. A file that is not JSON throws. */
export const readJsonFile = (path: string): unknown => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as unknown;
};

/** Writes a file atomically: a temporary file in the same directory, then rename over the target. */
const writeAtomic = async (path: string, text: string): Promise<void> => {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    // A full disk fails the write after the file was made: it must not stay behind, one per attempt.
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
};

/** Writes JSON atomically (see writeAtomic). */
export const writeJsonFile = (path: string, value: unknown): Promise<void> =>
  writeAtomic(path, `${JSON.stringify(value)}\n`);

export interface Snapshotter {
  /** Asks for a write after the debounce delay (writes coalesce). */
  schedule(): void;
  /** Writes now if anything changed since the last write; resolves when written. */
  flush(): Promise<void>;
  /** Stops scheduling and writes what changed; rejects when that last write fails (after onError saw it). */
  close(): Promise<void>;
}

/**
 * Keeps a JSON snapshot of some in-memory state on disk: `schedule()` after a
 * change writes `take()` after `delayMs` (debounced); an unchanged snapshot is
 * not written again; writes never overlap; `close()` writes the last one.
 */
export const jsonSnapshotter = (
  path: string,
  take: () => unknown,
  options: {
    readonly delayMs?: number;
    readonly onError?: (error: unknown) => void;
  } = {},
): Snapshotter => {
  const delayMs = options.delayMs ?? 250;
  const onError = options.onError ?? ((error) => console.error(`Could not save ${path}:`, error));
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let last: string | undefined;
  let closed = false;

  /** Writes the snapshot if it changed; resolves with the failure, if any, after reporting it to onError. */
  const write = (): Promise<unknown> => {
    const attempt = writing.then(async (): Promise<unknown> => {
      let text: string;
      try {
        text = JSON.stringify(take());
      } catch (error) {
        onError(error);
        return error;
      }
      if (text === last) return undefined;
      try {
        await writeAtomic(path, `${text}\n`);
        last = text;
        return undefined;
      } catch (error) {
        onError(error);
        return error;
      }
    });
    writing = attempt.then(() => undefined);
    return attempt;
  };

  const cancelScheduled = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
  };

  return {
    schedule() {
      if (closed || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void write();
      }, delayMs);
      timer.unref();
    },
    async flush() {
      cancelScheduled();
      await write();
    },
    async close() {
      closed = true;
      cancelScheduled();
      // The last write is the one nothing comes after: its failure is the caller's to report (npm start exits 1).
      const failure = await write();
      if (failure !== undefined) throw failure;
    },
  };
};

/**
 * fauxqs with its queues and messages kept on disk, served on an interface we
 * choose. fauxqs 2 keeps state in SQLite (`node:sqlite`) when started with
 * `startFauxqs({ dataDir })`, but that function binds 0.0.0.0; `buildApp()`
 * binds where we say but takes no `dataDir`, only ready-made stores. So this
 * module builds the stores and fauxqs's PersistenceManager the way
 * `startFauxqs()` does and hands them to `buildApp()`.
 *
 * Those classes are not in the package's `exports`; they are imported by file
 * from the installed package (fauxqs is pinned in package.json). If a new
 * version moves them, starting with a data directory fails with a message
 * saying so; starting in memory does not use this module.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { buildApp } from 'fauxqs';

type Stores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;

interface PersistenceManager {
  load(sqsStore: unknown, snsStore: unknown, s3Store: unknown): void;
  close(): void;
}

interface Internals {
  readonly SqsStore: new () => Stores['sqsStore'];
  readonly SnsStore: new () => Stores['snsStore'];
  readonly S3Store: new () => Stores['s3Store'];
  readonly PersistenceManager: new (dataDir: string) => PersistenceManager;
}

const FILES = {
  SqsStore: 'sqs/sqsStore.js',
  SnsStore: 'sns/snsStore.js',
  S3Store: 's3/s3Store.js',
  PersistenceManager: 'persistence.js',
} as const;

/** dist/ of the installed fauxqs (found through the resolver's search path; its `exports` hide package.json). */
const fauxqsDist = (): string => {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const dist = join(dir, 'fauxqs', 'dist');
    if (existsSync(join(dist, FILES.PersistenceManager))) return dist;
  }
  throw new Error('fauxqs is not installed (run npm install)');
};

let internals: Promise<Internals> | undefined;

const loadInternals = (): Promise<Internals> => {
  internals ??= (async () => {
    const dist = fauxqsDist();
    const out: Record<string, unknown> = {};
    for (const [name, file] of Object.entries(FILES)) {
      const mod = (await import(pathToFileURL(join(dist, file)).href)) as Record<string, unknown>;
      if (typeof mod[name] !== 'function')
        throw new Error(
          `This fauxqs version has no ${name} in dist/${file}; keeping queues on disk needs the version pinned in package.json`,
        );
      out[name] = mod[name];
    }
    return out as unknown as Internals;
  })();
  return internals;
};

export interface PersistentStores {
  readonly stores: Stores;
  /** Closes the SQLite database (after the app has closed). */
  close(): void;
}

/**
 * Stores for `buildApp({ stores })` loaded from `dataDir`, whose every later
 * change is written through to it — as `startFauxqs({ dataDir })` wires them.
 */
export const persistentStores = async (dataDir: string): Promise<PersistentStores> => {
  const { SqsStore, SnsStore, S3Store, PersistenceManager } = await loadInternals();
  const sqsStore = new SqsStore();
  const snsStore = new SnsStore();
  const s3Store = new S3Store();
  const persistence = new PersistenceManager(dataDir);
  try {
    // Load first, then attach: attaching first would write every loaded row back.
    persistence.load(sqsStore, snsStore, s3Store);
    const attach = (store: object) => Object.assign(store, { persistence });
    attach(sqsStore);
    attach(snsStore);
    attach(s3Store);
    for (const queue of (sqsStore as unknown as { allQueues(): Iterable<object> }).allQueues()) attach(queue);
  } catch (error) {
    persistence.close();
    throw error;
  }
  let closed = false;
  return {
    stores: { sqsStore, snsStore, s3Store },
    close() {
      if (closed) return;
      closed = true;
      persistence.close();
    },
  };
};

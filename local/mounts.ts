/**
 * The parts of the local runtime served under a path prefix, in the order they
 * start. Each entry imports its module lazily, so a part costs nothing until
 * the local system starts it.
 *
 * A part whose module is not present in this checkout is skipped with a
 * warning; any other failure to load or start a part stops the start-up.
 */
import type { LocalMount, MountContext, MountFactory } from './mount.js';

export interface MountEntry {
  /** Human name, for the banner and warnings. */
  readonly name: string;
  /** The path prefix the part serves ("" = what nothing else takes). */
  readonly prefix: string;
  /** Module specifier relative to this file, as passed to import(). */
  readonly module: string;
  /** Imports the module and returns its factory. */
  load(): Promise<MountFactory>;
}

export const MOUNTS: readonly MountEntry[] = [
  {
    name: 'local OpenID Connect provider',
    prefix: '/idp',
    module: './idp/mount.js',
    load: async () => (await import('./idp/mount.js')).createMount,
  },
  {
    name: 'demo product',
    prefix: '/demo',
    module: './demo-product/mount.js',
    load: async () => (await import('./demo-product/mount.js')).createMount,
  },
  {
    name: 'Notion simulator (API and redirect target)',
    prefix: '/notion',
    module: './notion-simulator/mount.js',
    load: async () => (await import('./notion-simulator/mount.js')).createMount,
  },
  {
    name: 'Notion simulator playground',
    prefix: '',
    module: './notion-simulator/mount.js',
    load: async () => (await import('./notion-simulator/mount.js')).createPlaygroundMount,
  },
];

/** Whether `error` says that `specifier` itself (not one of its imports) could not be found. */
export const isMissingModule = (error: unknown, specifier: string): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  if (typeof message !== 'string') return false;
  const stem = specifier.replace(/^\.\//, '').replace(/\.(js|ts)$/, '');
  // Node: "Cannot find module '/abs/local/idp/mount.ts' imported from …"; jest: "Cannot find module './idp/mount.js' from …".
  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(message)?.[1] ?? '';
  return missing.replace(/\.(js|ts)$/, '').endsWith(stem);
};

export interface LoadedMounts {
  readonly mounts: readonly LocalMount[];
  readonly skipped: readonly MountEntry[];
}

/**
 * Loads and starts every entry. Missing modules are skipped (reported through
 * `warn`); any other error closes what already started and is rethrown.
 */
export const startMounts = async (
  entries: readonly MountEntry[],
  context: MountContext,
  warn: (message: string) => void = (m) => console.warn(m),
): Promise<LoadedMounts> => {
  const mounts: LocalMount[] = [];
  const skipped: MountEntry[] = [];
  try {
    for (const entry of entries) {
      let factory: MountFactory;
      try {
        factory = await entry.load();
      } catch (error) {
        if (!isMissingModule(error, entry.module)) throw error;
        warn(`Skipping ${entry.name} (${entry.prefix || '/'}): ${entry.module} is not present`);
        skipped.push(entry);
        continue;
      }
      if (typeof factory !== 'function') throw new TypeError(`${entry.module} does not export a mount factory`);
      mounts.push(await factory(context));
    }
  } catch (error) {
    await closeMounts(mounts);
    throw error;
  }
  return { mounts, skipped };
};

/** Closes mounts in reverse start order; one failing close does not keep the others open. */
export const closeMounts = async (mounts: readonly LocalMount[]): Promise<void> => {
  const failures: unknown[] = [];
  for (const mount of [...mounts].reverse()) {
    try {
      await mount.close?.();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, 'Some local parts failed to close');
};

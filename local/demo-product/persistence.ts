/**
 * The demo product's tasks kept across restarts of `npm start`: a JSON
 * snapshot (written atomically, see local/state-dir.ts) shortly after every
 * applied edit and when the product stops, read back at start. The change log,
 * counters and the outage switch start afresh.
 */
import { renameSync } from 'node:fs';
import { jsonSnapshotter, readJsonFile, type Snapshotter } from '../state-dir.js';
import type { DemoProduct } from './app.js';
import { STATUSES, type Task } from './tasks.js';

const VERSION = 1;

interface TasksSnapshot {
  readonly version: typeof VERSION;
  readonly tasks: readonly Task[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';

/** A structural check of one kept task. */
export const isTask = (v: unknown): v is Task => {
  if (!isObject(v)) return false;
  const embed = v.embed;
  return (
    typeof v.id === 'string' &&
    /^\d{1,12}$/.test(v.id) &&
    typeof v.title === 'string' &&
    typeof v.status === 'string' &&
    Object.hasOwn(STATUSES, v.status) &&
    stringOrNull(v.assignee) &&
    stringOrNull(v.due) &&
    (v.priority === 'low' || v.priority === 'medium' || v.priority === 'high') &&
    typeof v.description === 'string' &&
    (embed === null || (isObject(embed) && typeof embed.kind === 'string' && typeof embed.path === 'string')) &&
    (v.visibleTo === 'everyone' || (Array.isArray(v.visibleTo) && v.visibleTo.every((s) => typeof s === 'string'))) &&
    typeof v.archived === 'boolean' &&
    typeof v.updatedAt === 'number'
  );
};

const isSnapshot = (v: unknown): v is TasksSnapshot =>
  isObject(v) && v.version === VERSION && Array.isArray(v.tasks) && v.tasks.every(isTask);

/**
 * Loads the tasks kept at `path` into the product (when there are any) and
 * keeps that file up to date after every edit until `close()`. A file that is
 * not a snapshot is moved aside (`<path>.unreadable`) with a warning.
 */
export const keepTasks = (
  product: DemoProduct,
  path: string,
  warn: (message: string) => void = console.warn,
): Snapshotter => {
  try {
    const kept = readJsonFile(path);
    if (kept !== undefined) {
      if (!isSnapshot(kept)) throw new Error('not a snapshot of the demo tasks');
      product.store.replaceAll(kept.tasks);
    }
  } catch (error) {
    const aside = `${path}.unreadable`;
    renameSync(path, aside);
    warn(`Demo product: ignoring its kept tasks (${(error as Error).message}); moved them to ${aside}`);
  }
  const keeper = jsonSnapshotter(path, (): TasksSnapshot => ({ version: VERSION, tasks: product.store.list() }), {
    onError: (error) => warn(`Demo product: could not save its tasks to ${path}: ${(error as Error).message}`),
  });
  const stopListening = product.onTaskChange(() => keeper.schedule());
  return {
    schedule: () => keeper.schedule(),
    flush: () => keeper.flush(),
    async close() {
      stopListening();
      await keeper.close();
    },
  };
};

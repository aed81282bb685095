/**
 * Mounts the demo task tracker at /demo on the local server.
 *
 * Edits made through the task pages reach the rest of the system through
 * `DemoProduct.onTaskChange`: `createDemoMount` accepts listeners to register,
 * and `createMount` (what local/mounts.ts lists) registers those in
 * `taskChangeListeners(context)`.
 */

import { ENV } from '#lib/env-names.js';
import type { LocalMount, MountContext, MountFactory } from '#local/mount.js';
import { statePaths } from '#local/state-dir.js';
import { DemoProduct, type TaskChangeListener } from './app.js';
import { keepTasks } from './persistence.js';

export const DEMO_PREFIX = '/demo';

/**
 * The listeners the local runtime attaches to the demo product's edits: each
 * applied edit is published as a change event through the service's signed
 * webhook (POST /changes), exactly as a team's product would publish it, so
 * that open previews update. Edits also appear in GET /demo/api/changes.
 */
export const taskChangeListeners = async (context: MountContext): Promise<TaskChangeListener[]> => {
  const { demoChangeListener } = await import('../../functions/publish/demo-hook.js');
  return [demoChangeListener(context)];
};

export const createDemoMount = async (
  context: MountContext,
  listeners: readonly TaskChangeListener[] = [],
): Promise<LocalMount & { readonly product: DemoProduct }> => {
  // It accepts the service's assertions, verified with the service's published keys (GET /.well-known/jwks.json).
  const serviceIssuer = (context.env[ENV.PUBLIC_BASE_URL] ?? context.baseUrl).replace(/\/+$/, '');
  const product = new DemoProduct({ baseUrl: `${context.baseUrl}${DEMO_PREFIX}`, serviceIssuer });
  // With a data directory, the tasks of the last run come back and every edit is kept.
  const kept = context.dataDir ? keepTasks(product, statePaths(context.dataDir).demoProduct) : undefined;
  for (const listener of listeners) product.onTaskChange(listener);
  return {
    name: 'demo product',
    prefix: DEMO_PREFIX,
    product,
    handle: (req, res) => product.handle(req, res),
    urls: [
      { label: 'Demo product (task tracker)', path: `${DEMO_PREFIX}/` },
      { label: 'Demo task page', path: `${DEMO_PREFIX}/tasks/1` },
    ],
    health: async () => true,
    close: async () => {
      await kept?.close();
    },
  };
};

export const createMount: MountFactory = async (context) =>
  createDemoMount(context, await taskChangeListeners(context));

/**
 * The demo product's edit hook: every applied edit of a task is published as
 * a change event through the signed webhook POST /changes of the local
 * service, exactly as a team's product would publish it.
 *
 * local/demo-product/mount.ts registers `demoChangeListener(context)` with
 * `DemoProduct.onTaskChange`.
 */
import { createWebhookPublisher } from './index.js';

/** The fields of the demo product's TaskChange this hook reads. */
export interface DemoTaskChange {
  readonly resource: string;
  readonly changedAt: string;
  readonly fields: readonly string[];
}

export interface DemoHookContext {
  /** The local server, e.g. http://127.0.0.1:3000 */
  readonly baseUrl: string;
  /** Effective settings; CHANGES_WEBHOOK_SECRET signs the events. */
  readonly env: Readonly<Record<string, string>>;
}

export const demoChangeListener = (context: DemoHookContext, fetchFn?: typeof fetch) => {
  const secret = context.env.CHANGES_WEBHOOK_SECRET;
  if (!secret) throw new Error('The demo product edit hook needs CHANGES_WEBHOOK_SECRET');
  const publisher = createWebhookPublisher({
    url: `${context.baseUrl.replace(/\/+$/, '')}/changes`,
    secret,
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });
  return async (change: DemoTaskChange): Promise<void> => {
    await publisher.publish({ resource: change.resource, changedAt: change.changedAt, fields: change.fields });
  };
};

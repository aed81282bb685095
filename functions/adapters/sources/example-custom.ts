/**
 * Example of a custom source adapter (SOURCE_ADAPTER=example): code instead of
 * a declarative mapping, for previews that need logic.
 *
 * It reads tasks from the demo product with the product's own client and
 * renders a personal view: whether the task is assigned to the person looking
 * at it, and whether it is overdue. Use it as a template (an adapter of your
 * own lives in your own repository and imports `notion-link-preview/source`
 * instead: docs/connect-your-product.md, path 3; a built-in one lives here):
 *
 *  1. Copy this file to <your-name>.ts and implement
 *     `resolve(match, identity, credentials, context)`:
 *       - `match.groups` / `match.resourceKey` come from your unfurl rule;
 *       - `identity.subject` is the user's upstream subject; apply *their*
 *         access rights, and answer `forbidden` (never the resource) when they
 *         may not see it;
 *       - `credentials.accessToken()` gives the user's upstream access token
 *         if your API wants it;
 *       - pass `context.signal` to every I/O call; throw (or let fetch throw)
 *         when the source cannot answer: the service then serves the last
 *         snapshot instead of an error. `sourceGet()` (./http-get.ts) is the
 *         built-in adapters' GET: the global fetch, no redirects, size-capped,
 *         and it throws SourceUnavailableError for you.
 *  2. Declare it at the end of the module with defineSourceAdapter (its name,
 *     settings of its own, its factory; `serviceAssertions` in the factory's
 *     environment signs per-user JWTs for a product that verifies them),
 *     as `exampleSource` below; in your repository make it the default export
 *     and name the file in SOURCE_ADAPTER_MODULE and the stack's `source`
 *     prop, here add it to BUILT_IN_SOURCES in registry.ts.
 *  3. Set SOURCE_ADAPTER=<your-name> (a module of your own sets it itself).
 *
 * Keep the module free of storage and of AWS SDK imports: the unfurl callback
 * and the update worker both call it.
 */

import type { ResolveOutcome, SourceAdapter } from '#core/sources/source-adapter.js';
import { attr, type UnfurlAttribute } from '#core/unfurl/attributes.js';
import { defineSourceAdapter } from './define.js';
import { type DemoAdapterOptions, demoOptions, demoTaskClient, taskIdOf } from './demo-product.js';

const OVERDUE = { r: 217, g: 48, b: 37 };
const ON_TRACK = { r: 24, g: 128, b: 56 };

export const exampleCustomAdapter = (options: DemoAdapterOptions): SourceAdapter => {
  const client = demoTaskClient(options);
  const now = options.now ?? Date.now;
  return {
    name: 'example',
    async resolve(match, identity, _credentials, context): Promise<ResolveOutcome> {
      const id = taskIdOf(match);
      if (id === undefined) return { outcome: 'not_found' };
      const lookup = await client.getTask(id, identity, context.signal);
      if (lookup.outcome !== 'found') return lookup;
      const task = lookup.task;
      const today = new Date(now()).toISOString().slice(0, 10);
      const done = task.status.name.includes('Done');
      const overdue = !done && task.due !== null && task.due < today;
      const mine = task.assignee?.subject === identity.subject;
      const attributes: (UnfurlAttribute | undefined)[] = [
        attr.plainText('identifier', 'Task', `#${task.id}`, 'identifier'),
        attr.enum(
          'schedule',
          'Schedule',
          overdue ? 'Overdue' : done ? 'Done' : 'On track',
          overdue ? OVERDUE : ON_TRACK,
        ),
        attr.plainText(
          'assignee',
          'Assignee',
          mine ? 'Assigned to you' : (task.assignee?.name ?? 'Unassigned'),
          'secondary',
        ),
        task.due ? attr.date('due', 'Due', task.due) : undefined,
      ];
      return { outcome: 'found', model: { title: task.title, attributes } };
    },
  };
};

/** SOURCE_ADAPTER=example: the custom-code example over the demo product. */
export const exampleSource = defineSourceAdapter({
  name: 'example',
  description: 'A custom adapter written as code: a personal view of demo tasks',
  create: (env) => exampleCustomAdapter(demoOptions(env)),
});

/**
 * The update worker: one queue message at a time.
 *
 *   change ──► open (or join) the resource's coalescing window   coalesce.ts
 *   flush  ──► at the window's end: first page of subscriptions   fan-out.ts
 *              (+ a `page` message for the rest)
 *   page   ──► one further page                                   fan-out.ts
 *   push   ──► named subscriptions deferred earlier               fan-out.ts
 *              (rate limit, Retry-After, backoff, time)
 *
 * For each subscription (push.ts): render with the subscriber's rights, skip
 * when the content hash equals the last pushed one, hold a short lease so two
 * workers never push the same state at once, take a token from the
 * connection's bucket (decide-push.ts, lease.ts); PATCH Notion; act on the
 * answer (apply-answer.ts, classify.ts). Waiting is always a delayed message,
 * never a sleep (defer.ts); what is given up goes to the dead-letter queue
 * with its reason (dead-letter.ts). Marker and lease values: markers.ts.
 * See docs/adr/0070..0074 and 0108.
 */
import { coalesce } from './coalesce.js';
import { deadLetter, describeError } from './dead-letter.js';
import { type RecordInfo, type RecordOutcome, resolveStepDeps, type StepDeps, type WorkerDeps } from './deps.js';
import { fanOutPage, pushTargets } from './fan-out.js';
import { parseWorkMessage } from './messages.js';

export { renderedHash } from './decide-push.js';
export {
  DEFAULT_WORKER_SETTINGS,
  type RecordInfo,
  type RecordOutcome,
  type WorkerDeps,
  type WorkerSettings,
} from './deps.js';
export { coalesceMarkerKey } from './markers.js';
export { toUpdate } from './push.js';

/** Processes one message body. Throws to have the message delivered again (until maxReceiveCount). */
export const processRecord = async (deps: StepDeps, body: string, info: RecordInfo): Promise<RecordOutcome> => {
  const parsed = parseWorkMessage(body);
  if (!parsed.ok) {
    let original: unknown = body;
    try {
      original = JSON.parse(body);
    } catch {
      // keep the raw text
    }
    await deadLetter(deps, 'invalid_message', parsed.problem, original, info.receiveCount, body);
    return 'dead-lettered';
  }
  const message = parsed.message;
  try {
    switch (message.type) {
      case 'change':
        return await coalesce(deps, message, info);
      case 'flush':
      case 'page':
        await fanOutPage(deps, message, info);
        return 'processed';
      case 'push':
        await pushTargets(
          deps,
          { resource: message.resource, window: message.window, items: message.targets.map((target) => ({ target })) },
          info,
          { tokenFirst: true },
        );
        return 'processed';
    }
  } catch (error) {
    if (info.receiveCount >= deps.settings.maxReceiveCount) {
      await deadLetter(deps, 'failed_repeatedly', describeError(error), message, info.receiveCount);
      return 'dead-lettered';
    }
    throw error;
  }
};

export const createUpdateWorker = (workerDeps: WorkerDeps) => {
  const deps = resolveStepDeps(workerDeps);
  return {
    processRecord: (body: string, info: RecordInfo): Promise<RecordOutcome> => processRecord(deps, body, info),
    settings: deps.settings,
    bucket: deps.bucket,
  };
};

export type UpdateWorker = ReturnType<typeof createUpdateWorker>;

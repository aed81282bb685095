/**
 * Acting on Notion's answer to one PATCH (the decision comes from
 * classify.ts): record it in the delivery log (docs/adr/0090), then record
 * the pushed hash, disconnect, drop the subscription, record a rejection, or
 * wait (Retry-After, backoff) through a delayed message.
 */
import { endConnection } from '#core/connection-end.js';
import type { BatchState } from './batch.js';
import { classifyAnswer, type NotionAnswer } from './classify.js';
import { describeError } from './dead-letter.js';
import { dropSubscription, type ReadyPush, releasePush } from './decide-push.js';
import { retryCounted, retryRateLimited, retryWithBackoff } from './defer.js';
import type { StepDeps } from './deps.js';
import type { PushTarget } from './messages.js';
import { connectionPauseKey, workspacePauseKey } from './policy.js';

export type AnswerDeps = Pick<
  StepDeps,
  'clock' | 'random' | 'subscriptions' | 'connections' | 'rateLimits' | 'markers' | 'deliveries' | 'settings' | 'emit'
>;

/** Adds Notion's answer to one PATCH, and what was done about it, to the work item's delivery-log entries. */
export const logAnswer = (
  deps: Pick<StepDeps, 'clock' | 'deliveries'>,
  state: BatchState,
  resource: string,
  { connectionId, uri }: PushTarget,
  answer: NotionAnswer,
  action: string,
): void => {
  if (!deps.deliveries) return;
  // Written with the rest of the work item's entries when it is done (flushDeliveries).
  state.deliveries.push({
    connectionId,
    at: deps.clock.now(),
    resource,
    uri,
    status: answer.kind === 'response' ? answer.status : answer.kind,
    action,
    ...(answer.kind === 'response' && answer.code !== undefined ? { code: answer.code } : {}),
    ...(answer.kind === 'response' && answer.message !== undefined ? { message: answer.message } : {}),
    ...(answer.kind === 'response' && answer.requestId !== undefined ? { requestId: answer.requestId } : {}),
  });
};

export const applyAnswer = async (
  deps: AnswerDeps,
  state: BatchState,
  resource: string,
  target: PushTarget,
  push: ReadyPush,
  answer: NotionAnswer,
): Promise<void> => {
  const { connectionId } = target;
  const { connection } = push;
  const decision = classifyAnswer(answer);
  const now = deps.clock.now();
  const status = answer.kind === 'response' ? answer.status : answer.kind;
  logAnswer(deps, state, resource, target, answer, decision.action);
  switch (decision.action) {
    case 'done':
      // The claim already recorded the hash and the snapshot; the delivery lists the push when its item is done.
      state.pushed.push(push.id);
      deps.emit('pushed', { resource, connectionId, status });
      return;
    case 'disconnect': {
      // The one way a connection ends (#core/connection-end.js): Notion token and subscriptions go. The other pushes
      // of this connection in the work item wait for it: once it has ended they find no connection; should it fail
      // (throttled), they read the connection again (batch.ts) and this subscription alone tries again later:
      // Notion will refuse the token again. None is dropped while the connection may still be active.
      const ending = endConnection(
        {
          connections: deps.connections,
          clock: deps.clock,
          endings: {
            subscriptions: deps.subscriptions,
            deliveries: deps.deliveries ?? { record: async () => undefined },
            onEnded: (ended) => deps.emit('connection_ended', { ...ended }),
          },
        },
        connectionId,
        'notion_unauthorized',
      );
      const gone = ending.then(() => undefined);
      gone.catch(() => undefined);
      state.connections.set(connectionId, gone);
      let ended: Awaited<typeof ending>;
      try {
        ended = await ending;
      } catch (error) {
        if (state.connections.get(connectionId) === gone) state.connections.delete(connectionId);
        // Notion did not take the push: its claim goes, so that the retry pushes (and meets the 401) at once.
        await releasePush(deps, resource, target, push);
        retryWithBackoff(deps, state, target, 'store_unavailable', describeError(error));
        return;
      }
      state.blockedUntil.set(connectionId, Number.MAX_SAFE_INTEGER);
      deps.emit('connection_disconnected', {
        connectionId,
        code: decision.code,
        subscriptionsRemoved: ended.subscriptionsRemoved,
      });
      return;
    }
    case 'drop':
      try {
        await dropSubscription(deps, resource, target, decision.code);
      } catch (error) {
        // The subscription stays: its claim goes, so that the retry pushes (and meets the 404) at once.
        await releasePush(deps, resource, target, push);
        retryWithBackoff(deps, state, target, 'store_unavailable', describeError(error));
      }
      return;
    case 'reject':
      await releasePush(deps, resource, target, push);
      deps.emit('push_rejected', {
        resource,
        connectionId,
        status: decision.status,
        code: decision.code,
        message: decision.message,
      });
      return;
    case 'blocked':
      await releasePush(deps, resource, target, push);
      deps.emit('push_blocked', { resource, connectionId, code: decision.code });
      return;
    case 'retry-after': {
      // The pause first (Retry-After, at most 15 min: classify.ts): a pause that cannot be stored fails the work
      // item, and its redelivery, which takes the claim over, meets Notion's 429 again (docs/adr/0137, 0176).
      const until = now + decision.delayMs;
      const pauseKey =
        decision.scope === 'workspace'
          ? workspacePauseKey(connection.notion.workspaceId)
          : connectionPauseKey(connectionId);
      if (decision.scope === 'workspace') state.blockedUntil.set(pauseKey, until);
      state.blockedUntil.set(connectionId, until);
      await deps.rateLimits.pause(pauseKey, until);
      deps.emit('push_rate_limited', {
        connectionId,
        scope: decision.scope,
        retryAfterMs: decision.delayMs,
        status,
      });
      await releasePush(deps, resource, target, push);
      // A 529 (overload) counts towards the attempts; a 429 does not, but a run of them backs off and ends.
      if (decision.overload) {
        retryCounted(deps.settings, state, target, () => decision.delayMs, 'notion_overloaded', `HTTP ${status}`);
      } else {
        retryRateLimited(deps, state, target, decision.delayMs, status);
      }
      return;
    }
    case 'backoff':
      await releasePush(deps, resource, target, push);
      retryWithBackoff(deps, state, target, 'notion_unavailable', decision.reason, decision.retryAfterMs);
      return;
  }
};

/** Writes the work item's delivery-log entries in one go (BatchWriteItem); a failure never fails a push. */
export const flushDeliveries = async (
  deps: Pick<StepDeps, 'deliveries' | 'emit'>,
  state: BatchState,
): Promise<void> => {
  const log = deps.deliveries;
  if (!log || state.deliveries.length === 0) return;
  const entries = state.deliveries.splice(0);
  try {
    if (log.recordMany) await log.recordMany(entries);
    else for (const entry of entries) await log.record(entry);
  } catch (error) {
    for (const connectionId of new Set(entries.map((e) => e.connectionId)))
      deps.emit('delivery_log_failed', { connectionId, detail: describeError(error) });
  }
};

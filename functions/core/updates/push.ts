/**
 * One subscription, start to end: decide (decide-push.ts), send the PATCH
 * with the connection's Notion token (after a 401, refreshed once when the
 * connection holds a refresh token: notion-token.ts), act on the answer
 * (apply-answer.ts).
 */
import { notionTokenContext } from '#core/oauth/cipher-contexts.js';
import type { Subscription } from '#core/ports.js';
import { type AnswerDeps, applyAnswer } from './apply-answer.js';
import type { BatchState } from './batch.js';
import { describeError } from './dead-letter.js';
import { type DecideDeps, decidePush, type Pushable, type ReadyPush, releasePush } from './decide-push.js';
import { retryWithBackoff } from './defer.js';
import type { StepDeps } from './deps.js';
import type { PushTarget } from './messages.js';
import { afterUnauthorized, refreshesAfter } from './notion-token.js';
import type { ExternalObjectUpdate } from './ports.js';

export type PushDeps = DecideDeps & AnswerDeps & Pick<StepDeps, 'cipher' | 'notion' | 'notionTokens'>;

/** The external-object update that shows `rendered`: the full attribute list, or the error to show instead. */
export const toUpdate = (uri: string, rendered: Pushable): ExternalObjectUpdate => ({
  uri,
  operations:
    rendered.kind === 'attributes'
      ? [{ path: ['attributes'], set: rendered.attributes }]
      : [{ path: ['error'], set: { status: rendered.status, message: rendered.message } }],
});

/** Pushes one subscription if it should be pushed now; a token that cannot be decrypted is retried with backoff. */
export const pushOne = async (
  deps: PushDeps,
  state: BatchState,
  resource: string,
  target: PushTarget,
  known: Subscription | null | undefined,
): Promise<void> => {
  let push: ReadyPush | undefined;
  try {
    push = await decidePush(deps, state, resource, target, known);
  } catch (error) {
    // A store failed before anything was sent (a connection, pause, subscription or marker read, the bucket's
    // token, the claim): only this subscription backs off, and after the last attempt it alone is dead-lettered;
    // the rest of its work item goes on. A claim that may have been written stays one to take over (docs/adr/0176).
    retryWithBackoff(deps, state, target, 'store_unavailable', describeError(error));
    return;
  }
  if (!push) return;
  let token: string;
  try {
    token = await deps.cipher.decrypt(push.tokenCiphertext, notionTokenContext(target.connectionId));
  } catch (error) {
    // Only this subscription waits (KMS throttled, or a token that will never decrypt: then, after the last
    // attempt, it alone reaches the dead-letter queue); the rest of its work item goes on.
    await releasePush(deps, resource, target, push);
    retryWithBackoff(deps, state, target, 'notion_token_unreadable', describeError(error));
    return;
  }
  const update = toUpdate(push.subscription.uri, push.rendered);
  let answer = await deps.notion.patch(token, update);
  const keeping = deps.notionTokens;
  if (keeping && refreshesAfter(answer, push.connection)) {
    // One refresh of the Notion token, then one more push with it (notion-token.ts, docs/adr/0151).
    const next = await afterUnauthorized({ ...deps, notionTokens: keeping }, state, resource, target, push, {
      token,
      answer,
      again: (renewed) => deps.notion.patch(renewed, update),
    });
    if (next === undefined) return;
    answer = next;
  }
  await applyAnswer(deps, state, resource, target, push, answer);
};

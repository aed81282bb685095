/**
 * A 401 to a push, when the connection holds a Notion refresh token
 * (docs/protocol.md §6.6, docs/adr/0151): refresh once, store the new tokens
 * (encrypted), push once more with the new access token. Only a refused
 * refresh disconnects; one that gets no answer is retried with backoff.
 *
 * Notion's refresh tokens are single use, and several worker invocations may
 * meet the same connection's 401 at once, so the refresh is spent once per
 * token version through conditional writes on the connection (as the upstream
 * tokens are, docs/adr/0127):
 *
 *  1. claim the refresh at the version read (`notionRefreshUntil`);
 *  2. the winner asks Notion and saves both tokens at version + 1;
 *  3. a loser re-reads the connection: a new version's access token is used at
 *     once; a claim still held elsewhere defers the push (never a sleep).
 *
 * Pushes of one connection within a work item share one refresh (BatchState's
 * `renewals`). Nothing here costs a request while Notion answers 2xx.
 */
import { notionRefreshTokenContext, notionTokenContext } from '#core/oauth/cipher-contexts.js';
import { NotionExchangeError } from '#core/oauth/ports.js';
import type { Connection } from '#core/ports.js';
import { logAnswer } from './apply-answer.js';
import type { BatchState, Renewal } from './batch.js';
import { type NotionAnswer, retryAfterMs } from './classify.js';
import { describeError } from './dead-letter.js';
import { BUSY_RETRY_MS, type ReadyPush, releasePush } from './decide-push.js';
import { defer, retryWithBackoff } from './defer.js';
import type { StepDeps } from './deps.js';
import type { PushTarget } from './messages.js';
import { connectionPauseKey } from './policy.js';
import type { NotionTokenKeeping } from './ports.js';

/** How long a claim to refresh holds: the worker's 30 s timeout and one Notion request (10 s) more, with a margin. */
export const DEFAULT_NOTION_REFRESH_CLAIM_MS = 45_000;
/** Notion's default request timeout (NOTION_TIMEOUT_MS). */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Attempts at storing the refreshed tokens: once Notion has rotated them, losing them costs the connection. */
const SAVE_ATTEMPTS = 3;

export type RenewDeps = Pick<
  StepDeps,
  'clock' | 'cipher' | 'emit' | 'random' | 'settings' | 'subscriptions' | 'deliveries'
> & {
  readonly notionTokens: NotionTokenKeeping;
};

/** Whether a push answered `answer` gets a refresh first: a 401, and the connection holds a refresh token. */
export const refreshesAfter = (answer: NotionAnswer, connection: Connection): boolean =>
  answer.kind === 'response' && answer.status === 401 && connection.notionRefreshTokenCiphertext !== undefined;

const emitRefresh = (deps: Pick<StepDeps, 'emit'>, connectionId: string, outcome: string, extra = {}): void =>
  deps.emit('notion_token_refresh', { connectionId, outcome, ...extra });

/** The winner of the claim asks Notion and stores both tokens at version + 1. */
const spend = async (
  deps: RenewDeps,
  state: BatchState,
  connection: Connection,
  refresh: { readonly token: string; readonly ciphertext: string },
  claim: { readonly version: number; readonly until: number },
): Promise<Renewal> => {
  const k = deps.notionTokens;
  const { id } = connection;
  const { version, until } = claim;
  let answer: Awaited<ReturnType<NotionTokenKeeping['refresher']['refresh']>>;
  try {
    answer = await k.refresher.refresh(refresh.token);
  } catch (error) {
    // No answer about the refresh token (or it could not be read): it is not spent, the claim goes.
    await k.store.releaseNotionRefresh(id, { version, until }).catch(() => undefined);
    emitRefresh(deps, id, 'failed', { detail: describeError(error) });
    // A 429 or 503 may say how long to wait (at most 15 min, as after a PATCH): the retry waits at least that.
    const wait = retryAfterMs(error instanceof NotionExchangeError ? error.details.retryAfterSeconds : undefined);
    return { kind: 'unavailable', detail: describeError(error), ...(wait === undefined ? {} : { retryAfterMs: wait }) };
  }
  if (answer.outcome === 'refused') {
    const code = answer.code ?? `http_${answer.status}`;
    emitRefresh(deps, id, 'refused', { status: answer.status, code });
    return { kind: 'refused', code };
  }
  const rotated = answer.refreshToken !== undefined;
  let lastError: unknown;
  // Encrypted once: an attempt that failed at the store retries the write, not the encryption.
  let sealed: Promise<readonly [string, string | undefined]> | undefined;
  for (let attempt = 1; attempt <= SAVE_ATTEMPTS; attempt++) {
    try {
      sealed ??= Promise.all([
        deps.cipher.encrypt(answer.accessToken, notionTokenContext(id)),
        answer.refreshToken === undefined
          ? Promise.resolve(undefined)
          : deps.cipher.encrypt(answer.refreshToken, notionRefreshTokenContext(id)),
      ]);
      const [tokenCiphertext, refreshTokenCiphertext] = await sealed.catch((error: unknown) => {
        sealed = undefined;
        throw error;
      });
      const now = deps.clock.now();
      const saved = await k.store.saveNotionTokens(id, {
        version,
        until,
        tokenCiphertext,
        ...(refreshTokenCiphertext === undefined ? {} : { refreshTokenCiphertext }),
        now,
      });
      if (!saved) return notSaved(deps, state, connection, answer.accessToken, rotated);
      // Later pushes of this work item use the new token without reading the connection again.
      const updated: Connection = {
        ...connection,
        notionTokenCiphertext: tokenCiphertext,
        notionRefreshTokenCiphertext: refreshTokenCiphertext ?? refresh.ciphertext,
        notionTokenVersion: version + 1,
        updatedAt: now,
      };
      state.connections.set(id, Promise.resolve(updated));
      emitRefresh(deps, id, 'refreshed', { rotated });
      return { kind: 'renewed', token: answer.accessToken };
    } catch (error) {
      lastError = error;
    }
  }
  // Notion's answer holds for this push; the stored tokens stay as they were and the claim is kept until it
  // runs out, so no other worker spends the refresh token Notion has just rotated away (docs/adr/0151).
  emitRefresh(deps, id, 'not_saved', { rotated, detail: describeError(lastError) });
  return { kind: 'renewed', token: answer.accessToken };
};

/**
 * The save's condition failed: the connection ended while Notion refreshed (no push for it then), or the
 * claim was no longer this worker's. Notion's new token still holds for this push.
 */
const notSaved = async (
  deps: RenewDeps,
  state: BatchState,
  connection: Connection,
  token: string,
  rotated: boolean,
): Promise<Renewal> => {
  const fresh = await deps.notionTokens.store.get(connection.id).catch(() => connection);
  if (fresh?.status !== 'active') {
    state.connections.set(connection.id, Promise.resolve(fresh));
    emitRefresh(deps, connection.id, 'not_saved', { rotated, detail: 'connection ended' });
    return { kind: 'refused', code: 'connection_ended' };
  }
  emitRefresh(deps, connection.id, 'not_saved', { rotated, detail: 'claim no longer held' });
  return { kind: 'renewed', token };
};

/** The claim went to another caller (or the connection changed): take what it stored, or wait for it. */
const takeOver = async (deps: RenewDeps, state: BatchState, connection: Connection, version: number) => {
  const { id } = connection;
  const fresh = await deps.notionTokens.store.get(id);
  if (fresh?.status !== 'active' || fresh.notionTokenCiphertext === undefined) {
    return { kind: 'refused', code: 'connection_ended' } as const;
  }
  if ((fresh.notionTokenVersion ?? 0) !== version) {
    try {
      const token = await deps.cipher.decrypt(fresh.notionTokenCiphertext, notionTokenContext(id));
      state.connections.set(id, Promise.resolve(fresh));
      emitRefresh(deps, id, 'waited');
      return { kind: 'renewed', token } as const;
    } catch (error) {
      return { kind: 'unavailable', detail: describeError(error) } as const;
    }
  }
  if (fresh.notionRefreshTokenCiphertext === undefined) return { kind: 'refused', code: 'no_refresh_token' } as const;
  emitRefresh(deps, id, 'busy');
  return { kind: 'busy' } as const;
};

/** Refreshes the Notion token of `connection` (as read, at its token version) once. */
const renew = async (deps: RenewDeps, state: BatchState, connection: Connection): Promise<Renewal> => {
  const ciphertext = connection.notionRefreshTokenCiphertext;
  if (ciphertext === undefined) return { kind: 'refused', code: 'no_refresh_token' };
  // A refresh and the push after it each may take a whole Notion request: with less left, none is started.
  const requestMs = deps.notionTokens.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (state.remainingMs !== undefined && state.remainingMs() < 2 * requestMs + deps.settings.reserveMs) {
    emitRefresh(deps, connection.id, 'later');
    return { kind: 'later' };
  }
  const version = connection.notionTokenVersion ?? 0;
  let token: string;
  try {
    // Read before the claim, so that the claim covers only the refresh itself.
    token = await deps.cipher.decrypt(ciphertext, notionRefreshTokenContext(connection.id));
  } catch (error) {
    emitRefresh(deps, connection.id, 'failed', { detail: describeError(error) });
    return { kind: 'unavailable', detail: describeError(error) };
  }
  const now = deps.clock.now();
  const until = now + (deps.notionTokens.claimMs ?? DEFAULT_NOTION_REFRESH_CLAIM_MS);
  try {
    if (await deps.notionTokens.store.claimNotionRefresh(connection.id, { version, now, until }))
      return await spend(deps, state, connection, { token, ciphertext }, { version, until });
    return await takeOver(deps, state, connection, version);
  } catch (error) {
    // The store failed (throttled): nothing was spent; try again later.
    return { kind: 'unavailable', detail: describeError(error) };
  }
};

/**
 * The renewal for a push that was refused `usedToken`: shared by the pushes of one connection in this work
 * item. A token already renewed here that is refused again is the answer: no second refresh.
 */
export const renewalFor = async (
  deps: RenewDeps,
  state: BatchState,
  connection: Connection,
  usedToken: string,
): Promise<Renewal> => {
  const shared = state.renewals.get(connection.id);
  if (!shared) {
    const started = renew(deps, state, connection);
    state.renewals.set(connection.id, started);
    return started;
  }
  const renewal = await shared;
  if (renewal.kind === 'renewed' && renewal.token === usedToken) return { kind: 'refused', code: 'unauthorized' };
  return renewal;
};

/**
 * Notion's token endpoint asked to wait (429 or 5xx with Retry-After): the connection is paused until then, as
 * after a PATCH's 429, so that no other work item of it PATCHes with the refused token and refreshes again
 * before. Best effort: a pause that cannot be stored holds this work item only.
 */
const pauseConnection = async (
  deps: Pick<StepDeps, 'clock' | 'rateLimits'>,
  state: BatchState,
  connectionId: string,
  retryAfterMs: number,
): Promise<void> => {
  const until = deps.clock.now() + retryAfterMs;
  if ((state.blockedUntil.get(connectionId) ?? 0) >= until) return;
  state.blockedUntil.set(connectionId, until);
  await deps.rateLimits.pause(connectionPauseKey(connectionId), until).catch(() => undefined);
};

/**
 * After a 401 to `push`: refresh and push once more, or wait. Returns the answer to act on (the second
 * push's, or the 401 itself when the refresh was refused), or undefined when the push was deferred or
 * retried here.
 */
export const afterUnauthorized = async (
  deps: RenewDeps & Pick<StepDeps, 'notion' | 'rateLimits'>,
  state: BatchState,
  resource: string,
  target: PushTarget,
  push: ReadyPush,
  sent: {
    readonly token: string;
    readonly answer: NotionAnswer;
    readonly again: (token: string) => Promise<NotionAnswer>;
  },
): Promise<NotionAnswer | undefined> => {
  const renewal = await renewalFor(deps, state, push.connection, sent.token);
  switch (renewal.kind) {
    case 'renewed':
      logAnswer(deps, state, resource, target, sent.answer, 'token_refreshed');
      return sent.again(renewal.token);
    case 'refused':
      return sent.answer;
    case 'busy':
      logAnswer(deps, state, resource, target, sent.answer, 'token_refresh_busy');
      await releasePush(deps, resource, target, push);
      defer(state, target, BUSY_RETRY_MS);
      return undefined;
    case 'later':
      logAnswer(deps, state, resource, target, sent.answer, 'token_refresh_later');
      await releasePush(deps, resource, target, push);
      defer(state, target, 0);
      return undefined;
    case 'unavailable':
      logAnswer(deps, state, resource, target, sent.answer, 'token_refresh_failed');
      if (renewal.retryAfterMs !== undefined)
        await pauseConnection(deps, state, target.connectionId, renewal.retryAfterMs);
      await releasePush(deps, resource, target, push);
      retryWithBackoff(
        deps,
        state,
        target,
        'notion_unavailable',
        `token refresh: ${renewal.detail}`,
        renewal.retryAfterMs,
      );
      return undefined;
  }
};

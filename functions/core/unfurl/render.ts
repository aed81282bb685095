/**
 * Rendering one resource for one user: resolve through the source adapter
 * under a hard deadline, then build the attribute list Notion gets (title and
 * dev always present, limits applied) and its content hash.
 *
 * Shared by the unfurl callback and the update worker, so that both send the
 * very same attributes for the same content.
 */
import type { Clock } from '#core/ports.js';
import {
  type OutcomeName,
  type PreviewModel,
  type ResolveOutcome,
  type SourceAdapter,
  SourceUnavailableError,
  type UpstreamCredentials,
  type UserIdentity,
} from '#core/sources/source-adapter.js';
import {
  attr,
  attributeSet,
  canonicalJson,
  contentHashOfJson,
  type UnfurlAttribute,
  validateAttributes,
} from './attributes.js';
import type { RuleMatch } from './rules.js';

export type RenderResult =
  | {
      readonly outcome: 'found';
      readonly attributes: UnfurlAttribute[];
      readonly contentHash: string;
      /** The attributes' canonical JSON: the text `contentHash` is computed from. */
      readonly json: string;
    }
  | { readonly outcome: Exclude<OutcomeName, 'found'> };

export interface RenderOptions {
  /** Developer name for the `dev` attribute (DEV_NAME) unless the model names one. */
  readonly devName: string;
  /** Hard deadline for the adapter (UNFURL_DEADLINE_MS). */
  readonly deadlineMs: number;
  readonly clock: Clock;
}

/** The attribute list for a model: title, dev, then the model's attributes. */
export const attributesOf = (model: PreviewModel, devName: string): UnfurlAttribute[] => {
  const attributes = attributeSet(attr.title(model.title), attr.dev(model.dev ?? devName), model.attributes);
  const check = validateAttributes(attributes);
  // Builders only produce valid attributes; a custom adapter could hand-craft a bad one.
  if (!check.ok) throw new SourceUnavailableError(`source produced invalid attributes: ${check.problems.join('; ')}`);
  return attributes;
};

/**
 * Runs `work` with an AbortSignal that fires after `ms`; rejects with a
 * SourceUnavailableError at the deadline even if `work` ignores the signal.
 */
export const withDeadline = async <T>(
  ms: number,
  work: (signal: AbortSignal, deadline: number) => Promise<T>,
  now: () => number,
): Promise<T> => {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new SourceUnavailableError(`source missed the ${ms} ms deadline`);
      reject(error); // settle first, so the deadline wins over whatever the abort makes `work` throw
      controller.abort(error);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal, now() + ms), expired]);
  } finally {
    clearTimeout(timer);
  }
};

/** Resolves and renders; throws SourceUnavailableError when the source gives no usable answer in time. */
export const renderResource = async (
  adapter: SourceAdapter,
  match: RuleMatch,
  identity: UserIdentity,
  credentials: UpstreamCredentials,
  options: RenderOptions,
): Promise<RenderResult> => {
  let resolved: ResolveOutcome;
  try {
    resolved = await withDeadline(
      options.deadlineMs,
      async (signal, deadline) => {
        const first = await adapter.resolve(match, identity, credentials, { signal, deadline });
        // The source refused the user's upstream token: one refresh, one more try (docs/adr/0127).
        if (first.outcome !== 'needs_auth' || credentials.renew === undefined) return first;
        const renewed = await credentials.renew();
        return renewed === undefined ? first : adapter.resolve(match, identity, credentials, { signal, deadline });
      },
      () => options.clock.now(),
    );
  } catch (error) {
    if (error instanceof SourceUnavailableError) throw error;
    throw new SourceUnavailableError(`source adapter "${adapter.name}" failed`, { cause: error });
  } finally {
    // A token refresh still under way when the deadline struck is seen through before the answer
    // (docs/adr/0159): its provider may already have spent the stored refresh token.
    await credentials.settled?.();
  }
  // An adapter written without the types (or cast past them) may answer anything: only the five outcomes count.
  const outcome = outcomeOf(resolved);
  if (outcome === undefined) {
    throw new SourceUnavailableError(
      `source adapter "${adapter.name}" answered no known outcome (expected one of ${OUTCOMES.join(', ')})`,
    );
  }
  if (outcome !== 'found') return { outcome };
  let attributes: UnfurlAttribute[];
  try {
    attributes = attributesOf((resolved as { model: PreviewModel }).model, options.devName);
  } catch (error) {
    if (error instanceof SourceUnavailableError) throw error;
    throw new SourceUnavailableError(`source adapter "${adapter.name}" answered an unusable model`, { cause: error });
  }
  const json = canonicalJson(attributes);
  return { outcome: 'found', attributes, contentHash: contentHashOfJson(json), json };
};

const OUTCOMES: readonly OutcomeName[] = ['found', 'not_found', 'forbidden', 'needs_auth', 'gone'];

/** The outcome an adapter's answer names, or undefined when it is not one of the five. */
const outcomeOf = (resolved: unknown): OutcomeName | undefined => {
  if (resolved === null || typeof resolved !== 'object') return undefined;
  const outcome = (resolved as { outcome?: unknown }).outcome;
  return OUTCOMES.find((o) => o === outcome);
};

/**
 * Why the source gave no answer, for the logs: the error's message and, for an adapter's own
 * failure, what it threw (a TypeError of an adapter under development says more than "failed").
 */
export const failureReason = (error: unknown): string => {
  const [head, cause] =
    error instanceof SourceUnavailableError ? [error.message, error.cause] : ['source failed', error];
  const detail =
    cause instanceof Error ? `${cause.name}: ${cause.message}` : cause === undefined ? undefined : String(cause);
  return (detail === undefined || detail === '' ? head : `${head}: ${detail}`).slice(0, 500);
};

/**
 * The source adapter interface: how a matched link becomes a preview model,
 * seen with the rights of the user who asked.
 *
 * An adapter answers with one of five outcomes. `found` carries the model;
 * the others carry nothing about the resource, so that a caller can never
 * leak what a user may not see. A failure (network error, 5xx, bad payload,
 * deadline) is thrown as a SourceUnavailableError: it means "no answer", not
 * "no resource", and the unfurl callback then falls back to the last snapshot.
 *
 * Adapters are pure with respect to this service's storage: they never touch
 * subscriptions or connections, so the unfurl callback and the update worker
 * both use them unchanged.
 */
import type { UnfurlAttribute } from '#core/unfurl/attributes.js';
import type { RuleMatch } from '#core/unfurl/rules.js';
import { type BoundedText, readBoundedText } from '#shared/bounded-body.js';

/** Who is asking: the user behind the Notion connection. */
export interface UserIdentity {
  /** Stable subject at the upstream OpenID Connect provider. */
  readonly subject: string;
  readonly displayName: string;
  readonly connectionId: string;
}

/** The user's upstream credentials, decrypted only when an adapter asks for them. */
export interface UpstreamCredentials {
  /**
   * The user's upstream (OIDC) access token, refreshed first when it has expired or is about to;
   * undefined when none is stored or the user must log in again.
   */
  accessToken(): Promise<string | undefined>;
  /**
   * The source refused the token `accessToken()` gave (HTTP 401): a refreshed one, or undefined
   * when there is none. At most once per call; the service calls it itself when an adapter
   * answers needs_auth, and resolves once more with the new token.
   */
  renew?(): Promise<string | undefined>;
  /**
   * Resolves (never rejects) once a token refresh this call started has stored its outcome. The
   * service waits for it before answering, past the source deadline if need be: a provider that
   * rotates refresh tokens has spent the stored one as soon as it answered.
   */
  settled?(): Promise<void>;
}

/** What an adapter found: the preview's content, before the required attributes are added. */
export interface PreviewModel {
  readonly title: string;
  /** Overrides the configured developer name (DEV_NAME) for this preview. */
  readonly dev?: string;
  /** Built with `attr.*` from #core/unfurl/attributes.js; `undefined` entries are dropped. */
  readonly attributes: readonly (UnfurlAttribute | undefined)[];
}

export type ResolveOutcome =
  | { readonly outcome: 'found'; readonly model: PreviewModel }
  | { readonly outcome: 'not_found' }
  | { readonly outcome: 'forbidden' }
  | { readonly outcome: 'needs_auth' }
  | { readonly outcome: 'gone' };

export type OutcomeName = ResolveOutcome['outcome'];

export interface ResolveContext {
  /** Aborted when the deadline passes; pass it to every fetch. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds by which the adapter must have answered. */
  readonly deadline: number;
}

export interface SourceAdapter {
  readonly name: string;
  resolve(
    match: RuleMatch,
    identity: UserIdentity,
    credentials: UpstreamCredentials,
    context: ResolveContext,
  ): Promise<ResolveOutcome>;
}

/** The source gave no usable answer (network, 5xx, timeout, malformed payload). */
export class SourceUnavailableError extends Error {
  override readonly name = 'SourceUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The fetch function adapters use (injected so tests and custom transports can replace it). */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

/** Maps an upstream HTTP status to an outcome, or undefined for statuses that mean "no answer". */
export const outcomeForStatus = (status: number): Exclude<OutcomeName, 'found'> | undefined => {
  switch (status) {
    case 401:
      return 'needs_auth';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 410:
      return 'gone';
    default:
      return undefined;
  }
};

/** The largest answer body an adapter reads. */
export const MAX_SOURCE_BODY_BYTES = 256 * 1024;

/** Reads a JSON body of at most `maxBytes` (stops reading past the limit), or throws SourceUnavailableError. */
export const readJson = async (response: Response, maxBytes = MAX_SOURCE_BODY_BYTES): Promise<unknown> => {
  let read: BoundedText;
  try {
    read = await readBoundedText(response, maxBytes);
  } catch (cause) {
    throw new SourceUnavailableError('source connection failed while answering', { cause });
  }
  if (read.kind === 'too_large') throw new SourceUnavailableError('source answered with an oversized body');
  try {
    return JSON.parse(read.text);
  } catch (cause) {
    throw new SourceUnavailableError('source answered with invalid JSON', { cause });
  }
};

/** Calls fetch and turns network failures and aborts into SourceUnavailableError. */
export const fetchSource = async (fetchFn: FetchFunction, url: string, init: RequestInit): Promise<Response> => {
  try {
    return await fetchFn(url, { ...init, redirect: 'manual' });
  } catch (cause) {
    const aborted = init.signal?.aborted === true;
    throw new SourceUnavailableError(aborted ? 'source missed the deadline' : 'source unreachable', { cause });
  }
};

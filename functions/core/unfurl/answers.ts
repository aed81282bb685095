/**
 * What the unfurl callback answers (docs/protocol.md §3): the outcomes, the
 * response bodies with their attribute or error operation, and the fixed
 * error messages, which never depend on the resource.
 */
import { MAX_ATTRIBUTES, trimText } from './attribute-values.js';
import { attr, type UnfurlAttribute } from './attributes.js';

export interface UnfurlErrorSet {
  readonly status: number;
  readonly message: string;
}

export type UnfurlOperation =
  | { readonly path: readonly ['attributes']; readonly set: readonly UnfurlAttribute[] }
  | { readonly path: readonly ['error']; readonly set: UnfurlErrorSet };

export interface UnfurlResponseBody {
  readonly uri: string;
  readonly operations: readonly UnfurlOperation[];
}

export type UnfurlOutcome =
  | 'found'
  | 'stale'
  | 'no_rule'
  | 'not_found'
  | 'forbidden'
  | 'gone'
  | 'needs_auth'
  | 'unavailable';

export type UnfurlAnswer =
  | { readonly outcome: Exclude<UnfurlOutcome, 'unavailable' | 'stale'>; readonly body: UnfurlResponseBody }
  /** The last snapshot, served because the source gave no answer (`reason`, for the logs). */
  | { readonly outcome: 'stale'; readonly body: UnfurlResponseBody; readonly reason: string }
  | { readonly outcome: 'unavailable'; readonly reason: string };

/** The fixed messages of the error operations: they never depend on the resource. */
export const ERROR_MESSAGES = {
  no_rule: { status: 404, message: 'No preview is available for this link' },
  not_found: { status: 404, message: 'Content not found' },
  forbidden: { status: 403, message: 'You do not have access to this content' },
  gone: { status: 410, message: 'This content is no longer available' },
  needs_auth: { status: 401, message: 'Reconnect your account to see this preview' },
} as const satisfies Record<string, UnfurlErrorSet>;

export const attributesBody = (uri: string, attributes: readonly UnfurlAttribute[]): UnfurlResponseBody => ({
  uri,
  operations: [{ path: ['attributes'], set: attributes }],
});

export const errorBody = (uri: string, error: UnfurlErrorSet): UnfurlResponseBody => ({
  uri,
  operations: [{ path: ['error'], set: { status: error.status, message: error.message } }],
});

/** "12 seconds", "5 minutes", "3 hours", "2 days". */
export const describeAge = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (s < 60) return unit(s, 'second');
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86400), 'day');
};

/** A snapshot's attributes plus a `freshness` line showing its age (the last of a full list makes room for it). */
export const staleAttributes = (snapshot: readonly UnfurlAttribute[], ageMs: number): UnfurlAttribute[] => [
  ...snapshot.filter((a) => a.id !== 'freshness').slice(0, MAX_ATTRIBUTES - 1),
  attr.plainText(
    'freshness',
    'Freshness',
    `Last updated ${describeAge(ageMs)} ago; the source is not answering right now`,
    'secondary',
  ),
];

/**
 * A stored inline value's text trimmed to today's limit: a snapshot stored before the limit was counted
 * in UTF-16 units (ADR 0148) may hold up to 2,000 code points, which are more units.
 */
const trimStoredText = (attribute: unknown): unknown => {
  const inline = (attribute as { inline?: unknown } | null)?.inline;
  if (typeof inline !== 'object' || inline === null) return attribute;
  const trimmed = Object.entries(inline).map(([kind, v]) => {
    const value = (v as { value?: unknown } | null)?.value;
    return [kind, typeof value === 'string' ? { ...(v as object), value: trimText(value) } : v] as const;
  });
  return { ...(attribute as object), inline: Object.fromEntries(trimmed) };
};

/**
 * A stored snapshot: the attributes' JSON text (what the unfurl callback
 * writes) or the list itself (what the update worker writes), text trimmed to
 * the limit and at most MAX_ATTRIBUTES kept (title and dev come first); undefined when unreadable.
 */
export const snapshotAttributes = (stored: unknown): unknown => {
  let value: unknown = stored;
  if (typeof stored === 'string') {
    try {
      value = JSON.parse(stored) as unknown;
    } catch {
      return undefined;
    }
  }
  return Array.isArray(value) ? value.slice(0, MAX_ATTRIBUTES).map(trimStoredText) : value;
};

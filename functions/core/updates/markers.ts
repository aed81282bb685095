/**
 * The worker's markers in the MarkerStore (docs/adr/0071): their keys, and
 * their values as typed records with one encoder and one validating decoder each.
 *
 * - Coalescing window (docs/adr/0070): key `coalesce:<resource>`, value
 *   `<owner>@<until>`: the id of the change event that opened the window and
 *   the epoch ms at which it closes.
 * - Push lease (docs/adr/0073): key `push:<sha256 of resource, connection and uri>:<content hash>`,
 *   value `<messageId>#<receiveCount>`: the delivery of a queue message that holds it.
 *   `released` ends a lease early (it is written already expired).
 * - Next page sent: key `paged:<messageId>`, written when a `flush` or `page` message that sent its
 *   next page fails, so that its redeliveries do not send that page again.
 * - Dead-lettered: key `dead:<messageId>`, value the space-separated ids of the subscriptions whose dead
 *   letters a delivery sent before a later one failed, so that its redeliveries do not send them again.
 *
 * The stored strings are the ones the worker has always written, so markers
 * alive across a deploy keep working. A decoder splits at the *last*
 * separator (the number after it never contains one, the id before it may)
 * and accepts only what its encoder writes: a non-empty id and a non-negative
 * safe integer in plain decimal. Anything else decodes to `undefined`.
 */
import { sha256Hex } from '#shared/crypto.js';

/** Key of a resource's coalescing window. */
export const coalesceMarkerKey = (resource: string): string => `coalesce:${resource}`;

/** Key of the lease on pushing one content hash to one subscription. */
export const pushLeaseKey = (resource: string, connectionId: string, uri: string, hash: string): string =>
  `push:${sha256Hex(`${resource}\n${connectionId}\n${uri}`)}:${hash}`;

/**
 * Id of one push (a content hash for one subscription), as listed in a delivery's
 * pushed marker: 16 hex digits of the SHA-256 of resource, connection, uri and hash.
 */
export const pushId = (resource: string, connectionId: string, uri: string, hash: string): string =>
  sha256Hex(`${resource}\n${connectionId}\n${uri}\n${hash}`).slice(0, 16);

/**
 * Key of the pushes one delivery of a queue message completed (docs/adr/0118): value the
 * space-separated `pushId`s of the pushes Notion accepted, written once when the work item is done.
 */
export const pushedMarkerKey = (holder: string): string => `pushed:${holder}`;

/**
 * Key of the note that a `flush` or `page` message has sent the message for its next page and then
 * failed: its redeliveries do not send that page again (each copy would fan the rest of the resource
 * out once more). Written only on failure, read only on a redelivery.
 */
export const nextPageSentMarkerKey = (messageId: string): string => `paged:${messageId}`;

/**
 * Key of the note of which given-up subscriptions a message's delivery has already dead-lettered
 * (dead-letter.ts). Written only when a dead letter fails to go out, read only on a redelivery.
 */
export const deadLetteredMarkerKey = (messageId: string): string => `dead:${messageId}`;

/**
 * How long a delivery's markers (pushed, page sent, dead-lettered) are kept: longer than the update queue keeps
 * a message (4 days, UPDATE_QUEUE in lib/data-model.ts; a handler test holds the two together), so that any
 * redelivery of it finds them, even one after the worker's event source was paused for days.
 */
export const PUSHED_MARKER_TTL_MS = 5 * 24 * 60 * 60 * 1000;

/** Value that ends a push lease before its time (written with an expiry in the past; leases of ADR 0073). */
export const RELEASED_LEASE = 'released';

/** An open coalescing window. */
export interface WindowMarker {
  /** Id of the change event that opened the window (also the flush's `window`). */
  readonly owner: string;
  /** Epoch ms at which the window closes. */
  readonly until: number;
}

/** Who holds a push lease: one delivery of one queue message. */
export interface LeaseHolder {
  readonly messageId: string;
  /** SQS ApproximateReceiveCount of that delivery. */
  readonly receiveCount: number;
}

const WINDOW_SEPARATOR = '@';
const LEASE_SEPARATOR = '#';
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

const checkId = (what: string, id: string): void => {
  if (typeof id !== 'string' || id.length === 0) throw new RangeError(`${what} must be a non-empty string`);
};

const checkCount = (what: string, n: number): void => {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer`);
};

/** `<id><separator><n>` → its parts, or undefined unless it is exactly what the encoder writes. */
const split = (value: unknown, separator: string): { id: string; n: number } | undefined => {
  if (typeof value !== 'string') return undefined;
  const cut = value.lastIndexOf(separator);
  if (cut < 1) return undefined;
  const digits = value.slice(cut + 1);
  if (!DECIMAL.test(digits)) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? { id: value.slice(0, cut), n } : undefined;
};

/** `<owner>@<until>`. Throws RangeError on an empty owner or an `until` that is not a non-negative safe integer. */
export const encodeWindowMarker = (marker: WindowMarker): string => {
  checkId('A window owner', marker.owner);
  checkCount('A window end', marker.until);
  return `${marker.owner}${WINDOW_SEPARATOR}${marker.until}`;
};

/** The window a stored value describes; undefined for no value or a malformed one. */
export const decodeWindowMarker = (value: string | undefined): WindowMarker | undefined => {
  const parts = split(value, WINDOW_SEPARATOR);
  return parts && { owner: parts.id, until: parts.n };
};

/** `<messageId>#<receiveCount>`. Throws RangeError on an empty message id or a count that is not a non-negative safe integer. */
export const encodeLeaseHolder = (holder: LeaseHolder): string => {
  checkId('A message id', holder.messageId);
  checkCount('A receive count', holder.receiveCount);
  return `${holder.messageId}${LEASE_SEPARATOR}${holder.receiveCount}`;
};

/** The holder a stored lease value names; undefined for no value, `released`, or a malformed one. */
export const decodeLeaseHolder = (value: string | undefined): LeaseHolder | undefined => {
  const parts = split(value, LEASE_SEPARATOR);
  return parts && { messageId: parts.id, receiveCount: parts.n };
};

/**
 * Ingestion of signed change webhooks: verify, accept each webhook-id once,
 * validate the body, enqueue one change message.
 *
 * Order matters: the signature is checked before anything else (an unsigned
 * caller learns nothing about our body contract); a webhook-id already
 * remembered is a duplicate (a replay inside the tolerance window is a no-op);
 * the event is enqueued, and only then is its webhook-id remembered. So a
 * webhook whose handling stops before the enqueue (an SQS error, a timeout, a
 * crash) leaves nothing behind and the sender's retry is queued, never taken
 * for a duplicate; the worst a stop after the enqueue does is queue the retry
 * too, which coalescing absorbs (docs/adr/0153).
 */
import type { Clock, UpdateQueue } from '#core/ports.js';
import { type ChangeBody, parseChangeBody, toChangeMessage } from './event.js';
import type { SignedRequest, Verification } from './verify.js';

/** The subset of AuthStateStore used for expiring idempotency markers. */
export interface MarkerStore {
  putMarker(key: string, value: string, expiresAt: number): Promise<void>;
  getMarker(key: string, now: number): Promise<string | undefined>;
  putMarkerIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<boolean>;
}

/** How long a webhook-id stays claimed: longer than any sender's retry schedule (Standard Webhooks: about a day). */
export const WEBHOOK_ID_RETENTION_MS = 3 * 24 * 60 * 60 * 1000;

export interface IngestDeps {
  readonly clock: Clock;
  readonly verify: (request: SignedRequest, nowMs: number) => Verification;
  readonly markers: MarkerStore;
  readonly queue: UpdateQueue;
  /** True when `uri` matches one of the configured unfurl rules. */
  readonly uriIsPreviewed: (uri: string) => boolean;
}

export type IngestResult =
  /** `remembered: false`: queued, but the webhook-id could not be written (a retry would be queued again). */
  | { readonly outcome: 'queued'; readonly id: string; readonly remembered: boolean }
  | { readonly outcome: 'duplicate'; readonly id: string }
  | { readonly outcome: 'unauthenticated'; readonly reason: string }
  | { readonly outcome: 'invalid'; readonly problem: string }
  | { readonly outcome: 'unsupported-media-type' };

const REASONS: Record<string, string> = {
  missing_headers: 'Missing webhook-id, webhook-timestamp or webhook-signature header',
  invalid_id: 'Invalid webhook-id header',
  invalid_timestamp: 'Invalid webhook-timestamp header',
  stale_timestamp: 'Webhook timestamp is outside the allowed tolerance',
  future_timestamp: 'Webhook timestamp is outside the allowed tolerance',
  bad_signature: 'No matching webhook signature',
};

type Decoded =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'unsupported-media-type' };

/** JSON (`application/json`, `+json`, or no content type); an empty body decodes to undefined. */
const decodeJson = (contentTypeHeader: string | undefined, raw: string): Decoded => {
  const type = (contentTypeHeader ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) return { kind: 'unsupported-media-type' };
  if (raw.trim() === '') return { kind: 'json', value: undefined };
  try {
    return { kind: 'json', value: JSON.parse(raw) };
  } catch {
    return { kind: 'malformed' };
  }
};

export const webhookMarkerKey = (id: string): string => `webhook:${id}`;

export const ingestChange = async (deps: IngestDeps, request: SignedRequest): Promise<IngestResult> => {
  const now = deps.clock.now();
  const verified = deps.verify(request, now);
  if (!verified.ok) return { outcome: 'unauthenticated', reason: REASONS[verified.failure] ?? 'Invalid signature' };

  // Only a verified request has its body looked at: media type, then JSON, then the schema.
  const decoded = decodeJson(request.headers['content-type'], request.rawBody);
  if (decoded.kind === 'unsupported-media-type') return { outcome: 'unsupported-media-type' };
  if (decoded.kind === 'malformed') return { outcome: 'invalid', problem: 'the body is not valid JSON' };
  const parsed = parseChangeBody(decoded.value);
  if (!parsed.ok) return { outcome: 'invalid', problem: parsed.problem };
  const body: ChangeBody = parsed.value;
  if (body.uri !== undefined && !deps.uriIsPreviewed(body.uri)) {
    return { outcome: 'invalid', problem: '"uri" matches none of the configured URL patterns' };
  }

  const key = webhookMarkerKey(verified.id);
  if ((await deps.markers.getMarker(key, now)) !== undefined) return { outcome: 'duplicate', id: verified.id };
  // Enqueued first, remembered after: nothing is remembered for an event that was not queued.
  await deps.queue.send([toChangeMessage(verified.id, body)]);
  try {
    await deps.markers.putMarker(key, 'accepted', now + WEBHOOK_ID_RETENTION_MS);
  } catch {
    return { outcome: 'queued', id: verified.id, remembered: false };
  }
  return { outcome: 'queued', id: verified.id, remembered: true };
};

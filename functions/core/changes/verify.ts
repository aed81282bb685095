/**
 * Standard Webhooks (https://www.standardwebhooks.com) signature check for
 * `POST /changes`, with the `standardwebhooks` package computing the HMAC.
 *
 * The timestamp is checked here against an injected clock (the package reads
 * Date.now() itself), then every `v1,<signature>` in the header is compared
 * in constant time with the signature of `<webhook-id>.<timestamp>.<raw body>`.
 */

import { Webhook } from 'standardwebhooks';
import { constantTimeEqual } from '#shared/crypto.js';

/** Default tolerance between the sender's and our clock, as the Standard Webhooks reference libraries use. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const MAX_WEBHOOK_ID_LENGTH = 200;

export type VerifyFailure =
  | 'missing_headers'
  | 'invalid_id'
  | 'invalid_timestamp'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'bad_signature';

export type Verification =
  | { readonly ok: true; readonly id: string; readonly timestamp: number }
  | { readonly ok: false; readonly failure: VerifyFailure };

export interface SignedRequest {
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received. */
  readonly rawBody: string;
}

/** Creates a verifier for one secret (`whsec_<base64>` or bare base64, as Standard Webhooks defines). */
export const webhookVerifier = (secret: string, options: { readonly toleranceSeconds?: number } = {}) => {
  const webhook = new Webhook(secret);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  return (request: SignedRequest, nowMs: number): Verification => {
    const id = request.headers['webhook-id'];
    const ts = request.headers['webhook-timestamp'];
    const signatures = request.headers['webhook-signature'];
    if (!id || !ts || !signatures) return { ok: false, failure: 'missing_headers' };
    if (id.length > MAX_WEBHOOK_ID_LENGTH || /[\s.]/.test(id)) return { ok: false, failure: 'invalid_id' };
    if (!/^\d{1,12}$/.test(ts)) return { ok: false, failure: 'invalid_timestamp' };
    const seconds = Number(ts);
    const now = Math.floor(nowMs / 1000);
    if (now - seconds > tolerance) return { ok: false, failure: 'stale_timestamp' };
    if (seconds - now > tolerance) return { ok: false, failure: 'future_timestamp' };
    const expected = webhook.sign(id, new Date(seconds * 1000), request.rawBody).slice('v1,'.length);
    for (const candidate of signatures.split(' ')) {
      const [version, signature] = candidate.split(',', 2);
      if (version === 'v1' && signature !== undefined && constantTimeEqual(signature, expected)) {
        return { ok: true, id, timestamp: seconds * 1000 };
      }
    }
    return { ok: false, failure: 'bad_signature' };
  };
};

/** Headers that sign `rawBody` (for publishers, tests and the demo product). */
export const signWebhook = (
  secret: string,
  id: string,
  rawBody: string,
  nowMs: number,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } => {
  const seconds = Math.floor(nowMs / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': new Webhook(secret).sign(id, new Date(seconds * 1000), rawBody),
  };
};

/**
 * POST /changes: the signed change webhook (Standard Webhooks). Verifies the
 * signature, validates the body, accepts each webhook-id once and enqueues a
 * change event for the update worker (order: functions/core/changes/ingest.ts).
 *
 *   202 {"status":"queued","id":…}     accepted and enqueued
 *   200 {"status":"duplicate","id":…}  this webhook-id was accepted before: nothing enqueued
 *   400 names the problem with the body · 401 bad, missing or stale signature
 *   413 a body over 16 KiB (the only thing looked at before the signature) · 415 not JSON
 */

import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { authStateStore } from '#adapters/dynamo/factory.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { updateQueueFromConfig } from '#adapters/sqs/update-queue.js';
import { type IngestDeps, ingestChange } from '#core/changes/ingest.js';
import { webhookVerifier } from '#core/changes/verify.js';
import { resourceOfUri } from '#core/updates/render.js';
import { ENV } from '#lib/env-names.js';
import { type Config, need, type SecretRef } from '#shared/config.js';
import { AppError, BadRequestError, UnsupportedMediaTypeError } from '#shared/errors.js';
import { httpHandler, json } from '#shared/http.js';
import { logger } from '#shared/observability.js';

export class InvalidSignatureError extends AppError {
  override readonly name = 'InvalidSignatureError';
  constructor(message: string) {
    super(401, 'invalid_signature', message);
  }
}

/** The webhook secret: a value locally, Secrets Manager (cached 5 min, see #adapters/oidc/secrets.js) in AWS. */
const loadWebhookSecret = (ref: SecretRef): Promise<string> => loadSecret(ref);

export interface ChangesHandlerDeps extends Omit<IngestDeps, 'verify'> {
  /** The current webhook secret (re-read so a rotated secret is picked up). */
  readonly secret: () => Promise<string>;
}

/** The change webhook's ports as a deployment configures them. */
export const changesDependencies = (config: Config): ChangesHandlerDeps => {
  const ref = need(config.changes.webhookSecret, ENV.CHANGES_WEBHOOK_SECRET);
  const resolve = resourceOfUri(rulesFromConfig(config));
  return {
    clock: { now: () => Date.now() },
    secret: () => loadWebhookSecret(ref),
    markers: authStateStore(config),
    queue: updateQueueFromConfig(config),
    uriIsPreviewed: (uri) => resolve(uri) !== undefined,
  };
};

export const createChangesHandler = (depsFor: () => ChangesHandlerDeps) => {
  let deps: ChangesHandlerDeps | undefined;
  const verifiers = new Map<string, ReturnType<typeof webhookVerifier>>();
  return httpHandler(
    async (request) => {
      deps ??= depsFor();
      const secret = await deps.secret();
      let verify = verifiers.get(secret);
      if (!verify) {
        verify = webhookVerifier(secret);
        verifiers.clear();
        verifiers.set(secret, verify);
      }
      const result = await ingestChange({ ...deps, verify }, { headers: request.headers, rawBody: request.rawBody });
      switch (result.outcome) {
        case 'queued':
          // Queued either way; without the marker a retry of this webhook would be queued again (harmless).
          if (!result.remembered) logger.warn('webhook id not remembered', { webhookId: result.id });
          return json(202, { status: 'queued', id: result.id });
        case 'duplicate':
          return json(200, { status: 'duplicate', id: result.id });
        case 'unauthenticated':
          throw new InvalidSignatureError(result.reason);
        case 'invalid':
          throw new BadRequestError(`Invalid change event: ${result.problem}`, 'invalid_change');
        case 'unsupported-media-type':
          throw new UnsupportedMediaTypeError('application/json');
      }
    },
    // The body stays raw until the signature over it is verified (docs/security.md).
    { accept: ['raw'], maxBodyBytes: 16 * 1024 },
  );
};

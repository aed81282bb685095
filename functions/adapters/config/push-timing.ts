/**
 * How long one push of the update worker may take, from the settings (docs/adr/0172): the source's
 * deadline and one Notion request. The worker's composition and `cdk synth` (cold-start-check.ts) both
 * refuse settings under which no push fits in the worker's invocation with its reserve left, naming them.
 */
import { DEFAULT_WORKER_SETTINGS } from '#core/updates/deps.js';
import { WORKER_TIMEOUT_SECONDS } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import type { Config } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

/** The worst case of one push in ms; throws a ConfigError when it does not fit in the invocation with `reserveMs` to spare. */
export const pushMsFitting = (config: Config, reserveMs: number = DEFAULT_WORKER_SETTINGS.reserveMs): number => {
  const pushMs = config.unfurl.deadlineMs + config.notion.timeoutMs;
  const roomMs = WORKER_TIMEOUT_SECONDS * 1000 - reserveMs;
  if (pushMs >= roomMs) {
    throw new ConfigError(
      `${ENV.NOTION_TIMEOUT_MS} (${config.notion.timeoutMs}) + ${ENV.UNFURL_DEADLINE_MS} (${config.unfurl.deadlineMs}) must stay under ${roomMs} ms: a push must fit in the update worker's ${WORKER_TIMEOUT_SECONDS} s with ${reserveMs} ms to spare`,
    );
  }
  return pushMs;
};

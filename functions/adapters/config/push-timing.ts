/**
 * How long one push of the update worker may take, from the settings (docs/adr/0172, 0177): the source's
 * deadline and one Notion request. The worker's composition and `cdk synth` (cold-start-check.ts) both
 * refuse settings under which no push fits in the worker's invocation with its reserve left, naming them.
 *
 * A record spends part of its invocation before its first push (its page's Query, the next page sent, the
 * read-ahead) and keeps `reserveMs` after its last: the check leaves `reserveMs` for each. After a 401, the
 * refresh of a Notion token and the push after it take two Notion requests and start only with those and the
 * reserve left (notion-token.ts); that must fit too. Settings that fit only an invocation with nothing spent
 * would defer the push, or the refresh, to the next message for ever, no attempt counted.
 */
import { DEFAULT_WORKER_SETTINGS } from '#core/updates/deps.js';
import { WORKER_TIMEOUT_SECONDS } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import type { Config } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

/** The worst case of one push in ms; throws a ConfigError when a push or a refresh cannot fit in the invocation. */
export const pushMsFitting = (config: Config, reserveMs: number = DEFAULT_WORKER_SETTINGS.reserveMs): number => {
  const pushMs = config.unfurl.deadlineMs + config.notion.timeoutMs;
  // What is left of the invocation with `reserveMs` spent before the first push and kept after the last.
  const roomMs = WORKER_TIMEOUT_SECONDS * 1000 - 2 * reserveMs;
  const spare = `in the update worker's ${WORKER_TIMEOUT_SECONDS} s with ${reserveMs} ms before and after it`;
  if (pushMs > roomMs) {
    throw new ConfigError(
      `${ENV.NOTION_TIMEOUT_MS} (${config.notion.timeoutMs}) + ${ENV.UNFURL_DEADLINE_MS} (${config.unfurl.deadlineMs}) must be at most ${roomMs} ms: a push must fit ${spare}`,
    );
  }
  if (2 * config.notion.timeoutMs > roomMs) {
    throw new ConfigError(
      `${ENV.NOTION_TIMEOUT_MS} (${config.notion.timeoutMs}) must be at most ${Math.floor(roomMs / 2)} ms: a refresh of a Notion token after a 401 and the push after it (two Notion requests) must fit ${spare}`,
    );
  }
  return pushMs;
};

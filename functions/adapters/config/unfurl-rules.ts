/** The unfurl rules a deployment is configured with (UNFURL_RULES, or the demo rules). */

import { demoRules, parseIntegration, type UnfurlIntegration } from '#core/unfurl/rules.js';
import { ENV } from '#lib/env-names.js';
import type { Config } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

/** UNFURL_RULES (JSON) when set, else the demo rules at PUBLIC_BASE_URL. */
export function rulesFromConfig(config: Config): UnfurlIntegration {
  if (config.unfurl.rules) return parseIntegration(config.unfurl.rules, ENV.UNFURL_RULES);
  if (!config.publicBaseUrl) {
    throw new ConfigError(
      `Missing required setting ${ENV.UNFURL_RULES} (or ${ENV.PUBLIC_BASE_URL} for the demo rules)`,
    );
  }
  return demoRules(config.publicBaseUrl, config.unfurl.devName);
}

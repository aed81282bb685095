/**
 * What a function parses at cold start, run on an environment without building
 * anything that does I/O: the required settings of its declaration
 * (lib/functions.ts), the configuration schema (lib/settings.ts), the unfurl
 * rules, the source adapter with its own settings and mapping, and that
 * one push fits in the update worker's invocation (push-timing.ts).
 *
 * The functions run exactly this code at init (functions/shared/composition.ts
 * and the dependency builders); the stack runs it at synth on the environment
 * it gives each function, so `cdk synth` refuses what the cold start would
 * refuse (lib/notion-link-preview-stack.ts).
 */
import { pushMsFitting } from '#adapters/config/push-timing.js';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { sourceAdapterFromConfig } from '#adapters/sources/registry.js';
import { missingSettingOf, needsOf } from '#lib/functions.js';
import { type FunctionName, WORKER_HANDLER } from '#lib/routes.js';
import { settingsDeclaredFor } from '#lib/settings.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

/** Throws the ConfigError the function's init would throw with `env`, naming the variable. */
export const checkColdStartSettings = (fn: FunctionName, env: Readonly<Record<string, string | undefined>>): void => {
  const missing = missingSettingOf(fn, env);
  if (missing) throw new ConfigError(`Missing required setting ${missing.join(' or ')} (function ${fn})`);
  const config = parseConfig(env);
  const declared = new Set(settingsDeclaredFor(fn).map(([name]) => name));
  if (declared.has('UNFURL_RULES')) rulesFromConfig(config);
  if (fn === WORKER_HANDLER) pushMsFitting(config);
  if (needsOf(fn).callsSource) {
    // The adapter is built as at init; nothing it is given is called while it is built.
    sourceAdapterFromConfig({
      config,
      environment: env,
      loadSecret: () => Promise.reject(new Error('not at synth')),
      fetch: () => Promise.reject(new Error('not at synth')),
    });
  }
};

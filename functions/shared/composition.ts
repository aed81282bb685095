/**
 * Composition once, at init: a function's entry module builds its dependencies
 * when Lambda loads it, from the validated configuration, so that a missing or
 * bad setting fails the function's init with the variable's name (in the init
 * log and the Init error), not its first request with a 500.
 *
 * The settings a function cannot start without come from its declaration
 * (lib/functions.ts); their parsing from lib/settings.ts.
 */
import { missingSettingOf } from '#lib/functions.js';
import type { FunctionName } from '#lib/routes.js';
import { type Config, getConfig } from './config.js';
import { ConfigError } from './errors.js';

/**
 * Checks `fn`'s required settings, parses the configuration and builds the dependencies now; returns a
 * getter for them. The local runtime re-configures the process between systems (tests start several):
 * when the configuration changed since (`resetConfig`), the getter builds them again.
 */
export const composedAtInit = <T>(fn: FunctionName, build: (config: Config) => T): (() => T) => {
  const compose = () => {
    const missing = missingSettingOf(fn, process.env);
    if (missing) throw new ConfigError(`Missing required setting ${missing.join(' or ')} (function ${fn})`);
    const config = getConfig();
    return { config, deps: build(config) };
  };
  let current = compose();
  return () => {
    if (getConfig() !== current.config) current = compose();
    return current.deps;
  };
};

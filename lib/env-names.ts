/**
 * Environment-variable names as constants, built from the one declaration of
 * every setting (lib/settings.ts), so a name can never drift between what the
 * stack sets, what a handler reads and what the local runtime fills in.
 */
import { SETTINGS, type SettingName } from './settings.js';

export const ENV = Object.freeze(Object.fromEntries(Object.keys(SETTINGS).map((name) => [name, name]))) as {
  readonly [K in SettingName]: K;
};

export type EnvName = SettingName;

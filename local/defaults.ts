/**
 * Safe local defaults for every setting, applied by the local runtime only
 * (never by a deployed function). Secrets here are well known and are only
 * meaningful for a server bound to 127.0.0.1: never reuse them in AWS.
 */
import { SETTINGS, type SettingDeclaration } from '#lib/settings.js';

export const DEFAULT_PORT = 3000;
export const LOCAL_HOST = '127.0.0.1';

/**
 * The local defaults for a given port, from each setting's `local` value in lib/settings.ts (settings the
 * embedded emulators set are filled in by them at start). Values already in `env` win.
 */
export const localDefaults = (port: number): Record<string, string> => {
  const base = `http://${LOCAL_HOST}:${port}`;
  const defaults: Record<string, string> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [string, SettingDeclaration][]) {
    const local = setting.local;
    if (local === undefined || local === 'emulator') continue;
    defaults[name] = typeof local === 'function' ? local(base) : local;
  }
  // The AWS SDK clients need a region and credentials, even against the emulators.
  return { ...defaults, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
};

/**
 * `.env.example` lists every setting in lib/env-names.ts, names none that does
 * not exist, and changes nothing when copied to `.env` as it is.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { BUILT_IN_SOURCES } from '#adapters/sources/registry.js';
import { ENV } from '#lib/env-names.js';
import { DEFAULT_PORT, localDefaults } from '#local/defaults.js';

const FILE = new URL('../../../.env.example', import.meta.url);
const text = readFileSync(FILE, 'utf8');
const lines = text.split('\n');

/** `NAME=value` or `# NAME=value`: a setting, commented out or not. */
const SETTING = /^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$/;

interface Entry {
  readonly name: string;
  readonly value: string;
  readonly commented: boolean;
  readonly line: number;
}

const entries: Entry[] = lines.flatMap((l, i) => {
  const m = SETTING.exec(l);
  return m ? [{ name: m[2] as string, value: m[3] as string, commented: m[1] !== undefined, line: i + 1 }] : [];
});
const names = entries.map((e) => e.name);
// Every setting of lib/settings.ts, and those the built-in source adapters declare for themselves.
const settings = new Set<string>([
  ...Object.values(ENV),
  ...BUILT_IN_SOURCES.flatMap((source) => Object.keys(source.settings ?? {})),
]);

describe('.env.example', () => {
  it('lists every setting of lib/env-names.ts', () => {
    const missing = [...settings].filter((n) => !names.includes(n));
    expect({ missingFromEnvExample: missing }).toEqual({ missingFromEnvExample: [] });
  });

  it('names no setting that lib/env-names.ts does not define', () => {
    const unknown = names.filter((n) => !settings.has(n));
    expect({ unknownInEnvExample: unknown }).toEqual({ unknownInEnvExample: [] });
  });

  it('lists each setting once, each under a one-line description', () => {
    const repeated = names.filter((n, i) => names.indexOf(n) !== i);
    expect({ repeated }).toEqual({ repeated: [] });
    const undescribed = entries
      .filter((e) => {
        const above = lines[e.line - 2] ?? '';
        return !above.startsWith('# ') || SETTING.test(above) || above.trim() === '#';
      })
      .map((e) => e.name);
    expect({ undescribed }).toEqual({ undescribed: [] });
  });

  it('changes nothing when copied to .env: every value it sets is the local default', () => {
    // The parser `process.loadEnvFile` uses: what a copy would put into the environment.
    const effective = parseEnv(text);
    const defaults = localDefaults(DEFAULT_PORT);
    const differing = Object.entries(effective)
      .filter(([k, v]) => defaults[k] !== v)
      .map(([k]) => k);
    expect({ differing }).toEqual({ differing: [] });
  });

  it('shows the local defaults of local/defaults.ts where a setting has one', () => {
    const defaults = localDefaults(DEFAULT_PORT);
    const wrong = entries
      .filter((e) => e.value !== '' && defaults[e.name] !== undefined && defaults[e.name] !== e.value)
      .map((e) => `${e.name}=${e.value} (local default: ${defaults[e.name]})`);
    expect(wrong).toEqual([]);
    // The settings npm start always fills in are shown with their value, not left blank.
    const blank = entries.filter((e) => e.value === '' && defaults[e.name] !== undefined).map((e) => e.name);
    expect({ blankDespiteLocalDefault: blank }).toEqual({ blankDespiteLocalDefault: [] });
  });
});

/**
 * lib/settings.ts declares every setting once; the places that repeat a setting for people
 * (.env.example, the README's settings table) or for the deployment (the stage config's context keys)
 * are checked against it here, and the synthesized template in test/infra/settings.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { SETTINGS, type SettingDeclaration } from '#lib/settings.js';
import { CONTEXT_KEYS, readStageConfig } from '#lib/stage-config.js';
import { parseConfig } from '#shared/config.js';
import { REFRESH_COMMAND, renderEnvExample, renderReadme } from '../../../scripts/settings.js';

const entries = Object.entries(SETTINGS) as [string, SettingDeclaration][];
const read = (file: string) => readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');

describe('lib/settings.ts, the one declaration of every setting', () => {
  it('gives every setting a one-line description', () => {
    const bad = entries.filter(([, s]) => s.description.trim() === '' || s.description.includes('\n')).map(([n]) => n);
    expect({ withoutOneLineDescription: bad }).toEqual({ withoutOneLineDescription: [] });
  });

  it('gives every setting a deployed function receives a schema, and no local-only setting one', () => {
    const unparsed = entries.filter(([, s]) => s.deploy && !s.schema).map(([n]) => n);
    const localParsed = entries.filter(([, s]) => s.localOnly && s.schema).map(([n]) => n);
    expect({ unparsed, localParsed }).toEqual({ unparsed: [], localParsed: [] });
  });

  it('.env.example and the README table are what npm run settings renders', () => {
    const stale = [
      ...(read('.env.example') !== renderEnvExample() ? ['.env.example'] : []),
      ...(read('README.md') !== renderReadme(read('README.md')) ? ['README.md'] : []),
    ];
    expect({ staleRefreshWith: REFRESH_COMMAND, stale }).toEqual({ staleRefreshWith: REFRESH_COMMAND, stale: [] });
  });

  it("the README's settings section names every setting", () => {
    const readme = read('README.md');
    const section = readme.slice(
      readme.indexOf('\n## Settings'),
      readme.indexOf('\n## ', readme.indexOf('\n## Settings') + 1),
    );
    const missing = entries
      .map(([n]) => n)
      .filter(
        (n) => !section.includes(`\`${n}\``) && !(n.startsWith('NOTION_SIM_') && section.includes('`NOTION_SIM_*`')),
      );
    expect({ missingFromReadmeSettings: missing }).toEqual({ missingFromReadmeSettings: [] });
  });

  it('names a context key of the stage config for every setting taken from CDK context, and the stage config reads it', () => {
    const problems: string[] = [];
    for (const [name, s] of entries) {
      const d = s.deploy;
      if (!d || !('context' in d)) continue;
      if (!Object.values(CONTEXT_KEYS).includes(d.context as never)) {
        problems.push(`${name}: context key "${d.context}" is not in CONTEXT_KEYS`);
        continue;
      }
      const sample: Record<string, string> = {
        logLevel: 'WARN',
        notionRateLimitPerMinute: '600',
        sourceHttpMapping: '{}',
        unfurlRules: '{"domain":"x"}',
        notionApiBaseUrl: 'https://api.example.com',
        sourceBaseUrl: 'https://api.example.com',
      };
      const value = sample[d.context] ?? 'x-value';
      const config = readStageConfig((key) => (key === d.context ? value : undefined)) as unknown as Record<
        string,
        unknown
      >;
      if (config[d.context] === undefined) problems.push(`${name}: the stage config has no field "${d.context}"`);
    }
    expect(problems).toEqual([]);
  });

  it('the runtime config parses every declared setting by its declared schema', () => {
    // A bad value of each integer setting is refused by name.
    for (const name of ['ACCESS_TOKEN_TTL_SECONDS', 'UNFURL_DEADLINE_MS', 'COALESCE_WINDOW_SECONDS']) {
      expect(() => parseConfig({ [name]: 'soon' })).toThrow(name);
    }
    expect(parseConfig({}).notion.ratePerMinute).toBe(180);
  });
});

/**
 * lib/settings.ts declares every setting once; the places that repeat a setting for people
 * (.env.example, the README's settings table) or for the deployment (the stage config's context keys)
 * are checked against it here, and the synthesized template in test/infra/settings.test.ts. A setting
 * missing from one of them fails a test that names it. The README's route table follows lib/routes.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { BUILT_IN_SOURCES } from '#adapters/sources/registry.js';
import { type FunctionName, HANDLERS, ROUTES, routeKey, WORKER_HANDLER } from '#lib/routes.js';
import { SETTINGS, type SettingDeclaration } from '#lib/settings.js';
import { contextEnvironment, readStageConfig } from '#lib/stage-config.js';
import { parseConfig } from '#shared/config.js';
import { REFRESH_COMMAND, renderEnvExample, renderReadme, shownValue } from '../../../scripts/settings.js';

const entries = Object.entries(SETTINGS) as [string, SettingDeclaration][];
const FUNCTIONS: FunctionName[] = [...(Object.keys(HANDLERS) as FunctionName[]), WORKER_HANDLER];
/** Context values the stage config accepts where a setting's shown value is not one. */
const CONTEXT_SAMPLES: Readonly<Record<string, string>> = {
  logLevel: 'WARN',
  sourceHttpMapping: '{}',
  unfurlRules: '{"domain":"x"}',
  notionApiBaseUrl: 'https://api.example.com',
  sourceBaseUrl: 'https://api.example.com',
  notionRedirectUris: 'https://notion.example/callback',
};
const read = (file: string) => readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');

describe('lib/settings.ts, the one declaration of every setting', () => {
  it('gives every setting a one-line description', () => {
    const bad = entries.filter(([, s]) => s.description.trim() === '' || s.description.includes('\n')).map(([n]) => n);
    expect({ withoutOneLineDescription: bad }).toEqual({ withoutOneLineDescription: [] });
  });

  it('gives every setting a deployed function receives a parser, and no local-only setting one', () => {
    const unparsed = entries.filter(([, s]) => s.deploy && !s.parse).map(([n]) => n);
    const localParsed = entries.filter(([, s]) => s.localOnly && s.parse).map(([n]) => n);
    expect({ unparsed, localParsed }).toEqual({ unparsed: [], localParsed: [] });
  });

  it('.env.example and the README table are what npm run settings renders', () => {
    const stale = [
      ...(read('.env.example') !== renderEnvExample() ? ['.env.example'] : []),
      ...(read('README.md') !== renderReadme(read('README.md')) ? ['README.md'] : []),
    ];
    expect({ staleRefreshWith: REFRESH_COMMAND, stale }).toEqual({ staleRefreshWith: REFRESH_COMMAND, stale: [] });
  });

  it(".env.example names every setting, each built-in source adapter's too", () => {
    const example = read('.env.example');
    const names = [...entries.map(([n]) => n), ...BUILT_IN_SOURCES.flatMap((a) => Object.keys(a.settings ?? {}))];
    const missing = names.filter((n) => !example.includes(`\n# ${n}=`));
    expect({ missingFromEnvExample: missing, refreshWith: REFRESH_COMMAND }).toEqual({
      missingFromEnvExample: [],
      refreshWith: REFRESH_COMMAND,
    });
  });

  it("the README's route table names every route of lib/routes.ts", () => {
    const readme = read('README.md');
    const missing = ROUTES.map(routeKey).filter((key) => !readme.includes(`| \`${key}\` |`));
    expect({ missingFromReadmeRoutes: missing, refreshWith: REFRESH_COMMAND }).toEqual({
      missingFromReadmeRoutes: [],
      refreshWith: REFRESH_COMMAND,
    });
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

  it('takes every setting declared with a CDK context key from that key into the environment of its functions', () => {
    const problems: string[] = [];
    for (const [name, s] of entries) {
      const d = s.deploy;
      if (!d || !('context' in d)) continue;
      const value = CONTEXT_SAMPLES[d.context] ?? shownValue(s);
      if (value === '') {
        problems.push(`${name}: no sample value for context "${d.context}" (give it a shown value)`);
        continue;
      }
      const config = readStageConfig((key) => (key === d.context ? value : undefined));
      const functions = d.functions === 'all' ? FUNCTIONS : d.functions;
      for (const fn of functions) {
        if (contextEnvironment(config, fn)[name] !== value)
          problems.push(`${name}: context "${d.context}" does not reach the environment of ${fn}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("refuses at synth a context value the setting's parser refuses, naming the key", () => {
    expect(() => readStageConfig((key) => (key === 'notionRateLimitPerMinute' ? 'soon' : undefined))).toThrow(
      'notionRateLimitPerMinute',
    );
  });

  it('the runtime config parses every declared setting by its declared parser', () => {
    // A bad value of each integer setting is refused by name.
    for (const name of ['ACCESS_TOKEN_TTL_SECONDS', 'UNFURL_DEADLINE_MS', 'COALESCE_WINDOW_SECONDS']) {
      expect(() => parseConfig({ [name]: 'soon' })).toThrow(name);
    }
    expect(parseConfig({}).notion.ratePerMinute).toBe(180);
  });
});

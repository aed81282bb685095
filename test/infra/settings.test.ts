/**
 * Every function's environment in the synthesized template is exactly what lib/settings.ts declares
 * for it (plus the runtime's own NODE_OPTIONS and POWERTOOLS_SERVICE_NAME): a setting the stack forgets,
 * or one it sets that the declaration does not name, fails here by name.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { environmentOf } from '#lib/functions.js';
import { functionId } from '#lib/notion-link-preview-stack.js';
import { type FunctionName, HANDLERS, WORKER_HANDLER } from '#lib/routes.js';
import { SETTINGS, type SettingDeclaration } from '#lib/settings.js';
import { shownValue } from '../../scripts/settings.js';
import { PRODUCT_SOURCE, type Synthesized, synthService } from './synth.js';

const RUNTIME_OWN = new Set(['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME']);
const FUNCTIONS: FunctionName[] = [...(Object.keys(HANDLERS) as FunctionName[]), WORKER_HANDLER];

/** Values other than the shown ones, for the context keys whose shown value the stage config refuses. */
const GIVEN = {
  logLevel: 'WARN',
  oauthClientId: 'notion-client',
  notionApiBaseUrl: 'https://api.notion.example',
  notionVersion: '2022-06-28',
  notionRedirectUris: 'https://notion.example/callback',
  notionRateLimitPerMinute: '600',
  ...PRODUCT_SOURCE,
  devName: 'Product',
};

const contextSettings = (Object.entries(SETTINGS) as [string, SettingDeclaration][]).flatMap(([, s]) =>
  s.deploy && 'context' in s.deploy ? [[s.deploy.context, s] as const] : [],
);
/** Every context key a setting is taken from, with a value: the one given above, else the setting's shown value. */
const CONTEXT: Record<string, unknown> = {
  ...Object.fromEntries(contextSettings.map(([key, s]) => [key, shownValue(s)])),
  ...GIVEN,
};

const declaredFor = (fn: FunctionName): string[] => environmentOf(fn);

let synth: Synthesized;
beforeAll(() => {
  synth = synthService({ context: CONTEXT });
});
afterAll(() => synth.cleanup());

describe('function environments follow lib/settings.ts', () => {
  it('gives every context key a setting is taken from a value, and no other key', () => {
    const keys = [...new Set(contextSettings.map(([key]) => key))].sort();
    expect({ withoutValue: keys.filter((k) => CONTEXT[k] === '' || CONTEXT[k] === undefined) }).toEqual({
      withoutValue: [],
    });
    expect(Object.keys(GIVEN).filter((k) => !keys.includes(k))).toEqual([]);
  });

  it.each(FUNCTIONS)('%s gets exactly the settings declared for it', (fn) => {
    const resources = synth.template.findResources('AWS::Lambda::Function');
    const [, resource] =
      Object.entries(resources).find(
        ([id]) => id.startsWith(functionId(fn)) && id.length <= functionId(fn).length + 8,
      ) ?? [];
    expect(resource).toBeDefined();
    const env =
      (resource as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment
        ?.Variables ?? {};
    const actual = Object.keys(env)
      .filter((n) => !RUNTIME_OWN.has(n))
      .sort();
    const expected = declaredFor(fn);
    expect({
      fn,
      setButNotDeclared: actual.filter((n) => !expected.includes(n)),
      declaredButNotSet: expected.filter((n) => !actual.includes(n)),
    }).toEqual({ fn, setButNotDeclared: [], declaredButNotSet: [] });
  });
});

/**
 * What a deploy meets at cold start: the example contexts of docs/deployment.md
 * synthesize, and each bundled function (the cdk.out asset, in a directory where
 * only `@aws-sdk/*` resolves, as in Lambda's Node.js runtime) initializes with
 * the environment the template assigns it. A value the functions would refuse
 * fails `cdk synth` naming its context key.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROJECT_ROOT } from '#lib/constructs/node-function.js';
import { HANDLERS } from '#lib/routes.js';
import { exampleContexts, type Synthesized, synthService } from './synth.js';

interface FunctionResource {
  readonly Type: string;
  readonly Properties: { readonly Handler: string; readonly Environment?: { Variables?: Record<string, unknown> } };
  readonly Metadata?: Record<string, unknown>;
}

/** The template's environment as Lambda gives it: a reference (table, ARN, URL) becomes a value of its kind. */
const environmentOf = (fn: FunctionResource): Record<string, string> =>
  Object.fromEntries(
    Object.entries(fn.Properties.Environment?.Variables ?? {}).map(([k, v]) => [
      k,
      typeof v === 'string' ? v : /(URL|ISSUER)$/.test(k) ? 'https://stand-in.example.com/x' : `stand-in-${k}`,
    ]),
  );

const sandbox = mkdtempSync(path.join(tmpdir(), 'nlp-cold-start-'));
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

/**
 * Copies a function's asset into a directory of its own whose node_modules holds only `@aws-sdk` (what the
 * Lambda runtime provides), imports its handler module with `environment`, and reports how that went.
 */
const initialize = (
  outdir: string,
  fn: FunctionResource,
  environment: Record<string, string>,
): { status: number | null; stderr: string } => {
  const dir = mkdtempSync(path.join(sandbox, 'fn-'));
  cpSync(path.join(outdir, fn.Metadata?.['aws:asset:path'] as string), dir, { recursive: true });
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules', '@aws-sdk'), path.join(dir, 'node_modules', '@aws-sdk'));
  const [file, exported] = fn.Properties.Handler.split('.') as [string, string];
  const url = pathToFileURL(path.join(dir, `${file}.mjs`)).href;
  const result = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(url)}); if (typeof m[${JSON.stringify(exported)}] !== 'function') throw new Error('no handler');`,
    ],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', LOG_LEVEL: 'ERROR', ...environment },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { status: result.status, stderr: result.stderr };
};

const contexts = exampleContexts();

it('docs/deployment.md has a production and a development example context', () => {
  expect(contexts.length).toBeGreaterThanOrEqual(2);
  expect(contexts.some((c) => c.production === true)).toBe(true);
  expect(contexts.some((c) => c.production !== true)).toBe(true);
});

describe.each(contexts.map((c) => [String(c.stage), c] as const))('example context of stage %s', (_stage, context) => {
  let s: Synthesized;
  let functions: [string, FunctionResource][];
  beforeAll(() => {
    s = synthService({ context, bundle: true });
    functions = Object.entries(s.template.toJSON().Resources as Record<string, FunctionResource>).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );
  }, 240_000);
  afterAll(() => s?.cleanup());

  it('every bundled function initializes with the environment the template assigns it (no ConfigError)', () => {
    expect(functions.length).toBe(Object.keys(HANDLERS).length + 1);
    for (const [id, fn] of functions) {
      const { status, stderr } = initialize(s.outdir, fn, environmentOf(fn));
      expect({ id, status, stderr: stderr.split('\n').slice(0, 5).join('\n') }).toEqual({ id, status: 0, stderr: '' });
    }
  }, 120_000);

  it('the same runner fails a bundle whose environment the function refuses, naming the variable', () => {
    const [, unfurl] = functions.find(([id]) => id.startsWith('UnfurlFunction')) ?? [];
    if (!unfurl) throw new Error('no unfurl function');
    const { status, stderr } = initialize(s.outdir, unfurl, {
      ...environmentOf(unfurl),
      UNFURL_RULES: '{"domain":"app.example.com","rules":[]}',
    });
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/ConfigError.*UNFURL_RULES: rules: must have at least 1 items/);
  }, 60_000);
});

describe('synth refuses what a cold start would refuse, naming the context key', () => {
  const production = contexts.find((c) => c.production === true) ?? {};
  it.each([
    ['an empty rule list', { unfurlRules: { domain: 'app.example.com', rules: [] } }, /context "unfurlRules"/],
    [
      'a rule whose pattern does not compile',
      {
        unfurlRules:
          '{"domain":"a.example.com","rules":[{"name":"x","pattern":"(","sampleUrls":["https://a.example.com/1"],"resource":"x"}]}',
      },
      /context "unfurlRules"/,
    ],
    [
      'an HTTP mapping the adapter refuses',
      { sourceHttpMapping: { title: 3 } },
      /context "sourceHttpMapping".*request/,
    ],
    [
      'an HTTP mapping whose path names a group the rules do not capture',
      { sourceHttpMapping: { request: { path: '/tasks/$<id>' }, title: 'name' } },
      /context "sourceHttpMapping".*\$<id>, which rule "task" of UNFURL_RULES does not capture/,
    ],
    [
      'the http adapter without a mapping',
      { sourceHttpMapping: '' },
      /context "sourceHttpMapping".*Missing required setting SOURCE_HTTP_MAPPING/,
    ],
    ['an unknown adapter', { sourceAdapter: 'nope' }, /context "sourceAdapter"/],
    ['a Notion-Version that is not a date', { notionVersion: 'latest' }, /context "notionVersion".*NOTION_VERSION/],
    [
      "an unfurl deadline that leaves no push room in the update worker's invocation",
      { unfurlDeadlineMs: 20000 },
      /context "unfurlDeadlineMs".*UNFURL_DEADLINE_MS \(20000\) must be at most 20000 ms.*function update-worker/,
    ],
  ])('%s', (_what, change, message) => {
    expect(() => synthService({ context: { ...production, ...change } })).toThrow(message);
  });
});

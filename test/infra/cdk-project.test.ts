/**
 * What a CDK user expects of the project: cdk.json sets every feature flag the
 * pinned aws-cdk-lib recommends (an upgrade that adds one fails here until it is
 * set, or left off with an ADR), the usual npm scripts exist, and every stack
 * output docs/deployment.md names exists in the template it describes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROJECT_ROOT } from '#lib/constructs/node-function.js';
import { cdkJsonContext, exampleContexts, type Synthesized, synthService } from './synth.js';

/** Flags deliberately left off, each with its ADR (none today). */
const LEFT_OFF: Readonly<Record<string, string>> = {};

describe('cdk.json', () => {
  it('sets every recommended feature flag of the pinned aws-cdk-lib to its recommended value', () => {
    const require = createRequire(import.meta.url);
    const recommended = require('aws-cdk-lib/recommended-feature-flags.json') as Record<string, unknown>;
    const context = cdkJsonContext();
    const differing = Object.entries(recommended)
      .filter(([flag, value]) => !(flag in LEFT_OFF) && JSON.stringify(context[flag]) !== JSON.stringify(value))
      .map(([flag, value]) => `${flag}: ${JSON.stringify(value)}`);
    expect(differing).toEqual([]);
  });

  it('sets no stage setting: the CDK CLI prefers cdk.json over cdk.context.json, so one would override the example', () => {
    // Precedence of the CDK CLI: -c on the command line, then cdk.json's "context", then cdk.context.json. A
    // "stage" (or any other setting of docs/deployment.md) here would silently win over the production example.
    const settings = Object.keys(cdkJsonContext()).filter((key) => !key.includes(':'));
    expect(settings).toEqual([]);
    for (const example of exampleContexts())
      expect(Object.keys(example).filter((key) => key.includes(':'))).toEqual([]);
  });

  it('package.json has the scripts a CDK user reaches for: build, synth, diff, deploy', () => {
    const scripts = (
      JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts.build).toMatch(/tsc --noEmit && cdk synth/);
    expect(scripts.diff).toMatch(/^cdk diff/);
    expect(scripts.deploy).toMatch(/^cdk deploy .*--outputs-file cdk-outputs\.json/);
  });
});

describe('docs/deployment.md against the template', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'deployment.md'), 'utf8');
  const made: Synthesized[] = [];
  let outputs: Set<string>;
  beforeAll(() => {
    // The default stage and the doc's own production example (custom domain, external issuer).
    const production = exampleContexts().find((c) => c.production === true) ?? {};
    made.push(synthService(), synthService({ context: production }));
    outputs = new Set(made.flatMap((s) => Object.keys(s.template.toJSON().Outputs as Record<string, unknown>)));
  }, 120_000);
  afterAll(() => {
    for (const s of made) s.cleanup();
  });

  /** Every name the doc presents as a stack output: its outputs table, `jq '.[].Name'` and "output `Name`". */
  const named = (): string[] => {
    const table = doc.slice(doc.indexOf('| Output | Use |'), doc.indexOf('\n\n', doc.indexOf('| Output | Use |')));
    const inTable = table
      .split('\n')
      .slice(2)
      .flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1] as string));
    const jq = [...doc.matchAll(/\.\[\]\.([A-Za-z]+)/g)].map((m) => m[1] as string);
    const phrases = [...doc.matchAll(/outputs? `([A-Za-z]+)`/g)].map((m) => m[1] as string);
    return [...new Set([...inTable, ...jq, ...phrases])].sort();
  };

  // cfn-lint (Python) is optional: where it is installed, both templates have no error-level finding.
  const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
  (cfnLint ? it : it.skip)(
    'cfn-lint finds no error in the default and the production template',
    () => {
      for (const s of made) {
        const file = readdirSync(s.outdir).find((f) => f.endsWith('.template.json'));
        const run = spawnSync('cfn-lint', ['--format', 'parseable', path.join(s.outdir, file ?? '')], {
          encoding: 'utf8',
          timeout: 120_000,
        });
        const errors = run.stdout.split('\n').filter((line) => /:E\d{4}:/.test(line));
        expect({ file, errors }).toEqual({ file, errors: [] });
      }
    },
    240_000,
  );

  it('names outputs, and each one exists', () => {
    const names = named();
    expect(names.length).toBeGreaterThan(15);
    expect(names.filter((n) => !outputs.has(n))).toEqual([]);
  });
});

/**
 * Adding a built-in source adapter with one setting takes three hand-edited
 * files: its module, a line in the registry, its test. Tried for real in a
 * copy of the repository: the three files are written, the settings documents
 * regenerated (`npm run settings -- --write`), and then everything that reads
 * the adapters' declarations is checked in the copy: the settings and
 * `.env.example` tests, the adapter's own test, and a synthesized stack whose
 * unfurl and worker functions get the setting from its CDK context key. The
 * files git then reports changed are counted.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyRepository, type RepositoryCopy, splitChanged } from '#test/helpers/repo-copy.js';

const ADAPTER = `/**
 * SOURCE_ADAPTER=fixed: every link previews with one fixed title (an adapter with one setting).
 */
import { defineSourceAdapter } from './define.js';

export const fixedSource = defineSourceAdapter({
  name: 'fixed',
  description: 'One fixed title for every link',
  settings: {
    FIXED_TITLE: { description: 'The title every preview shows.', required: true, context: 'fixedTitle', example: 'Hello' },
  },
  create: ({ settings }) => ({
    name: 'fixed',
    resolve: async () => ({ outcome: 'found', model: { title: settings.FIXED_TITLE ?? '', attributes: [] } }),
  }),
});
`;

const ADAPTER_TEST = `import { describe, expect, it } from '@jest/globals';
import { createSourceAdapter } from '#adapters/sources/define.js';
import { fixedSource } from '#adapters/sources/fixed.js';
import { parseConfig } from '#shared/config.js';

describe('fixed source adapter', () => {
  it('previews every link with its title, and needs FIXED_TITLE', async () => {
    const config = parseConfig({ PUBLIC_BASE_URL: 'http://x.test', SOURCE_ADAPTER: 'fixed' });
    const adapter = createSourceAdapter(fixedSource, { config, environment: { FIXED_TITLE: 'Hello' } });
    const match = { ruleName: 'r', resourceKey: 'k', groups: {}, uri: 'https://x.test/1' };
    const outcome = await adapter.resolve(match as never, { subject: 's' } as never, {} as never, {} as never);
    expect(outcome).toMatchObject({ outcome: 'found', model: { title: 'Hello' } });
    expect(() => createSourceAdapter(fixedSource, { config, environment: {} })).toThrow(/FIXED_TITLE/);
  });
});
`;

const SYNTH = `import { createServiceApp } from '#lib/app.js';
const { app, stack } = createServiceApp(
  { context: { sourceAdapter: 'fixed', fixedTitle: 'From context', 'aws:cdk:bundling-stacks': [] } },
  {},
);
const template = app.synth().getStackByName(stack.stackName).template;
const env = Object.fromEntries(
  Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([id, r]) => [id.replace(/Function[0-9A-F]{8}$/, ''), r.Properties.Environment?.Variables?.FIXED_TITLE ?? null]),
);
console.log(JSON.stringify(env));
`;

let repo: RepositoryCopy;

beforeAll(async () => {
  repo = await copyRepository('nlp-new-adapter-');
}, 60_000);

afterAll(() => repo?.remove());

describe('a new built-in source adapter with one setting', () => {
  it('touches three hand-edited files, and every reader of the declarations follows', async () => {
    // 1. The adapter module. 2. Its line in the registry. 3. Its test.
    repo.write('functions/adapters/sources/fixed.ts', ADAPTER);
    repo.edit('functions/adapters/sources/registry.ts', (registry) => {
      const edited = registry
        .replace(
          "import { httpSource } from './http-json.js';",
          "import { fixedSource } from './fixed.js';\nimport { httpSource } from './http-json.js';",
        )
        .replace(/(export const BUILT_IN_SOURCES[^=]*= \[)/, '$1fixedSource, ');
      expect(edited).toContain('fixedSource, ');
      return edited;
    });
    repo.write('test/unit/adapters/fixed-source.test.ts', ADAPTER_TEST);

    // Generated: .env.example and the README's settings table.
    await repo.node('scripts/settings.ts', '--write');
    expect(repo.read('.env.example')).toContain('# FIXED_TITLE=Hello');
    expect(repo.read('README.md')).toContain('`FIXED_TITLE`');

    // The tests that check the settings documents and the declarations, and the adapter's own.
    await repo.jest(
      ['unit'],
      ['test/unit/settings', 'test/unit/local/env-example.test.ts', 'test/unit/adapters/fixed-source.test.ts'],
    );

    // The stack gives the unfurl and worker functions its setting from its context key.
    repo.write('synth-fixed.ts', SYNTH);
    const synth = await repo.node('synth-fixed.ts');
    rmSync(path.join(repo.dir, 'synth-fixed.ts'));
    const env = JSON.parse(synth.trim().split('\n').at(-1) ?? '{}') as Record<string, string | null>;
    expect(env.Unfurl).toBe('From context');
    expect(env.UpdateWorker).toBe('From context');
    expect(env.OAuthToken).toBeNull();

    const { handEdited, generated } = splitChanged(await repo.changedFiles());
    expect(handEdited).toEqual([
      'functions/adapters/sources/fixed.ts',
      'functions/adapters/sources/registry.ts',
      'test/unit/adapters/fixed-source.test.ts',
    ]);
    expect(generated).toEqual(['.env.example', 'README.md']);
    expect(handEdited.length).toBeLessThanOrEqual(3);
  }, 150_000);
});

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
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Written by `npm run settings -- --write`, not by hand. */
const GENERATED = ['.env.example', 'README.md'];

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

let copy: string;
const git = (...args: string[]) => run('git', args, { cwd: copy });

beforeAll(async () => {
  copy = mkdtempSync(path.join(tmpdir(), 'nlp-new-adapter-'));
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  for (const file of stdout.split('\0').filter((f) => f !== '')) {
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    try {
      cpSync(path.join(ROOT, file), path.join(copy, file));
    } catch {
      // listed but deleted in the working tree
    }
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  await git('init', '-q');
  await git('add', '-A');
  await git('-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-qm', 'before', '--no-verify');
}, 60_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('a new built-in source adapter with one setting', () => {
  it('touches three hand-edited files, and every reader of the declarations follows', async () => {
    // 1. The adapter module. 2. Its line in the registry. 3. Its test.
    writeFileSync(path.join(copy, 'functions/adapters/sources/fixed.ts'), ADAPTER);
    const registryFile = path.join(copy, 'functions/adapters/sources/registry.ts');
    const registry = readFileSync(registryFile, 'utf8')
      .replace(
        "import { httpSource } from './http-json.js';",
        "import { fixedSource } from './fixed.js';\nimport { httpSource } from './http-json.js';",
      )
      .replace(/(export const BUILT_IN_SOURCES[^=]*= \[)/, '$1fixedSource, ');
    expect(registry).toContain('fixedSource, ');
    writeFileSync(registryFile, registry);
    mkdirSync(path.join(copy, 'test/unit/adapters'), { recursive: true });
    writeFileSync(path.join(copy, 'test/unit/adapters/fixed-source.test.ts'), ADAPTER_TEST);

    // Generated: .env.example and the README's settings table.
    const tsx = ['--import', 'tsx'];
    await run(process.execPath, [...tsx, 'scripts/settings.ts', '--write'], { cwd: copy });
    expect(readFileSync(path.join(copy, '.env.example'), 'utf8')).toContain('# FIXED_TITLE=Hello');
    expect(readFileSync(path.join(copy, 'README.md'), 'utf8')).toContain('`FIXED_TITLE`');

    // The tests that check the settings documents and the declarations, and the adapter's own.
    await run(
      process.execPath,
      [
        '--experimental-vm-modules',
        '--no-warnings',
        'node_modules/jest/bin/jest.js',
        '--selectProjects',
        'unit',
        '--',
        'test/unit/settings',
        'test/unit/local/env-example.test.ts',
        'test/unit/adapters/fixed-source.test.ts',
      ],
      { cwd: copy, env: { ...process.env, CI: 'true' }, maxBuffer: 16 * 1024 * 1024 },
    );

    // The stack gives the unfurl and worker functions its setting from its context key.
    writeFileSync(path.join(copy, 'synth-fixed.ts'), SYNTH);
    const synth = await run(process.execPath, [...tsx, 'synth-fixed.ts'], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
    rmSync(path.join(copy, 'synth-fixed.ts'));
    const env = JSON.parse(synth.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string | null>;
    expect(env.Unfurl).toBe('From context');
    expect(env.UpdateWorker).toBe('From context');
    expect(env.OAuthToken).toBeNull();

    const { stdout } = await git('status', '--porcelain', '--untracked-files=all');
    const changed = stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.slice(3));
    const handEdited = changed.filter((f) => !GENERATED.includes(f)).sort();
    expect(handEdited).toEqual([
      'functions/adapters/sources/fixed.ts',
      'functions/adapters/sources/registry.ts',
      'test/unit/adapters/fixed-source.test.ts',
    ]);
    expect(handEdited.length).toBeLessThanOrEqual(3);
  }, 150_000);
});

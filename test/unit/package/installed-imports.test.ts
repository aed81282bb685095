/**
 * What a team's repository must install for the package to load: every bare module a package entry
 * point (package.json `exports` and `bin`, and the handler entries its stack bundles) reaches at run time, statically or dynamically, is one of
 * the package's `dependencies` or `peerDependencies` (docs/connect-your-product.md, step 1, installs
 * the peers), or a Node.js built-in. A devDependency reached from an entry point is present in this
 * repository, so every other test passes, and missing in the team's: its `cdk synth` or
 * `notion-link-preview-local` fails with ERR_MODULE_NOT_FOUND.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '../../..');
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string>;
  bin: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const installed = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Every bare specifier the entry reaches through the package's own files, with the file that imports it. */
const externalImports = async (entry: string): Promise<Array<{ module: string; from: string }>> => {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  return Object.entries(result.metafile.inputs).flatMap(([from, input]) =>
    input.imports
      // A computed dynamic import (`../functions/${name}.js`) stays relative: the package's own files.
      .filter((i) => i.external && !i.path.startsWith('.'))
      .map((i) => ({ module: i.path, from })),
  );
};

/** The exports, the command, and the handler entries the team's `cdk synth` bundles from the installed package. */
const entries = [
  ...new Set(Object.values(pkg.exports).filter((p) => p.endsWith('.ts'))),
  ...Object.values(pkg.bin),
  ...readdirSync(resolve(ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `functions/${f}`),
];

describe('the packed package loads with what a team installs', () => {
  it.each(entries)(
    '%s reaches only dependencies, peer dependencies and built-ins',
    async (entry) => {
      const missing = (await externalImports(entry))
        .filter(({ module }) => !builtins.has(module) && !installed.has(packageOf(module)))
        .map(({ module, from }) => `${packageOf(module)} (imported by ${from})`);
      expect([...new Set(missing)]).toEqual([]);
    },
    30_000,
  );
});

describe('the invocation store the local runtime shares with Powertools (local/invocations.ts)', () => {
  it('is one copy: the version this package pins is the one Powertools resolves', async () => {
    const { createRequire } = await import('node:module');
    const ours = createRequire(resolve(ROOT, 'package.json')).resolve('@aws/lambda-invoke-store');
    const logger = createRequire(resolve(ROOT, 'package.json')).resolve('@aws-lambda-powertools/logger');
    expect(createRequire(logger).resolve('@aws/lambda-invoke-store')).toBe(ours);
    expect(pkg.dependencies?.['@aws/lambda-invoke-store']).toBeDefined();
  });
});

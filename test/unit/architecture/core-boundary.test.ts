/**
 * functions/core depends on ports only (docs/architecture.md §2, docs/adr/0111): no
 * network or compression built-ins, no AWS SDK, Lambda types, middy or
 * Powertools, no configuration, env names or logger, no adapters. Biome's
 * noRestrictedImports enforces it in `npm run lint`; the first test proves that
 * rule bites, the second checks the tree itself, so that the boundary holds
 * even if the Biome configuration is changed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = resolve(import.meta.dirname, '../../..');
const CORE = join(ROOT, 'functions', 'core');

/** Module specifiers core may not import, as they are written. */
const FORBIDDEN: readonly RegExp[] = [
  /^(node:)?(http|https|http2|zlib|net|tls|dgram)$/,
  /^@aws-sdk\//,
  /^aws-lambda$/,
  /^@middy\//,
  /^@aws-lambda-powertools\//,
  /^#shared\/(config|observability)\.js$/,
  /^#lib\//,
  /^#adapters\//,
];

/** Folders a relative import out of core may not reach. */
const FORBIDDEN_DIRS = ['functions/adapters', 'lib', 'functions/shared/config', 'functions/shared/observability'];

const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });

/** Every module specifier of a file: static and type imports, re-exports, side-effect and dynamic imports. */
const specifiersOf = (source: string): string[] => {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) if (m[1]) found.push(m[1]);
  return found;
};

const violationsOf = (file: string): string[] => {
  const where = relative(ROOT, file);
  return specifiersOf(readFileSync(file, 'utf8')).flatMap((spec) => {
    if (FORBIDDEN.some((re) => re.test(spec))) return [`${where}: ${spec}`];
    if (!spec.startsWith('.')) return [];
    const target = relative(ROOT, resolve(dirname(file), spec));
    return FORBIDDEN_DIRS.some((dir) => target === dir || target.startsWith(`${dir}/`) || target.startsWith(`${dir}.`))
      ? [`${where}: ${spec}`]
      : [];
  });
};

describe('functions/core depends on ports only', () => {
  it('the Biome rule fails a file under functions/core that imports node:http or an adapter', () => {
    const probe = join(CORE, `__lint-probe-${process.pid}__.ts`);
    writeFileSync(
      probe,
      [
        "import * as http from 'node:http';",
        "import { getConfig } from '#shared/config.js';",
        "import { documentClient } from '#adapters/dynamo/factory.js';",
        'export const probe = [http, getConfig, documentClient];',
        '',
      ].join('\n'),
    );
    try {
      const biome = join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
      const run = spawnSync(process.execPath, [biome, 'lint', '--max-diagnostics=50', probe], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      const output = `${run.stdout}${run.stderr}`;
      expect(run.status).not.toBe(0);
      expect(output).toContain('lint/style/noRestrictedImports');
      expect(output.match(/lint\/style\/noRestrictedImports/g)?.length).toBe(3);
    } finally {
      rmSync(probe, { force: true });
    }
  });

  it('the scan itself recognises each forbidden import form', () => {
    const samples = [
      "import * as http from 'node:http';",
      "import type { Config } from '#shared/config.js';",
      "export { x } from '#adapters/dynamo/factory.js';",
      "const m = await import('@aws-sdk/client-kms');",
      "import '@aws-lambda-powertools/logger';",
    ];
    for (const sample of samples) {
      const [spec] = specifiersOf(sample);
      expect(FORBIDDEN.some((re) => re.test(spec ?? ''))).toBe(true);
    }
    expect(specifiersOf("import { AppError } from '#shared/errors.js';")).toEqual(['#shared/errors.js']);
  });

  it('no file under functions/core imports I/O, AWS, configuration, the logger, lib/ or an adapter', () => {
    const files = tsFiles(CORE);
    expect(files.length).toBeGreaterThan(20);
    expect(files.flatMap(violationsOf)).toEqual([]);
  });
});

/**
 * The handler bundles as the house Lambda construct builds them: within the
 * size budget, free of full zod, and loading the KMS and Secrets Manager
 * clients only on first use (a static import of an external package is
 * evaluated at cold start).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { HANDLERS, WORKER_HANDLER } from '#lib/routes.js';
import { bundle, contributions } from '../../bench/build.js';

const out = mkdtempSync(path.join(tmpdir(), 'nlp-bundles-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const names = [...Object.keys(HANDLERS), WORKER_HANDLER].sort();
const staticSdkImports = (code: string): string[] =>
  [...code.matchAll(/(?:^|[;}\s])import\s*(?:[\w*${}\s,]+from\s*)?["'](@aws-sdk\/[\w-]+)["']/g)].map(
    (m) => m[1] as string,
  );

describe.each(names)('bundle of %s', (name) => {
  it('is at most 350 KB of minified ESM, without full zod, with KMS and Secrets Manager loaded lazily', async () => {
    const result = await bundle(name, `functions/${name}.ts`, out, { sdkExternal: true });
    expect(result.bytes).toBeLessThanOrEqual(350_000);
    // Modules with code in the output (the metafile's inputs also list what was tree-shaken away).
    const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.mjs'))?.[1];
    const inputs = Object.entries(output?.inputs ?? {})
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([file]) => file);
    expect(inputs.length).toBeGreaterThan(0);
    expect(inputs.filter((i) => i.includes('node_modules/zod/v4/classic/'))).toEqual([]);
    expect(inputs.filter((i) => /node_modules\/zod\/v4\/locales\/(?!en\.js|index\.js)/.test(i))).toEqual([]);
    expect(inputs.filter((i) => i.includes('node_modules/@smithy/'))).toEqual([]);
    const code = readFileSync(result.file, 'utf8');
    expect(code.startsWith("import { createRequire as __nlpCreateRequire } from 'node:module';")).toBe(true);
    const eager = staticSdkImports(code);
    expect(eager).not.toContain('@aws-sdk/client-kms');
    expect(eager).not.toContain('@aws-sdk/client-secrets-manager');
    expect(contributions(result.metafile).length).toBeGreaterThan(0);
  });
});

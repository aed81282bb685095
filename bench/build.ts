/**
 * Builds handler bundles exactly as the house Lambda construct does
 * (lib/constructs/node-function.ts → aws-cdk-lib's NodejsFunction local
 * esbuild): ESM, minified, target node24, platform node, main fields
 * module,main, the createRequire banner, source maps without sources content,
 * the project's tsconfig, and `@aws-sdk/*` external (the Node.js 24 runtime
 * provides it). A second build with the SDK bundled shows what the SDK costs.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Same string as ESM_REQUIRE_BANNER in lib/constructs/node-function.ts (read from there, so the two cannot drift). */
export const houseBanner = (): string => {
  const source = readFileSync(path.join(ROOT, 'lib', 'constructs', 'node-function.ts'), 'utf8');
  const match = /ESM_REQUIRE_BANNER\s*=\s*\n?\s*"([^"]+)"/.exec(source);
  if (!match?.[1]) throw new Error('ESM_REQUIRE_BANNER not found in lib/constructs/node-function.ts');
  return match[1];
};

export interface BundleResult {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly metafile: Metafile;
}

/** Bundles `entry` to `<outDir>/<name>/index.mjs` with the construct's options. */
export const bundle = async (
  name: string,
  entry: string,
  outDir: string,
  options: { readonly sdkExternal: boolean },
): Promise<BundleResult> => {
  const dir = path.join(outDir, name);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'index.mjs');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    outfile: file,
    target: 'node24',
    platform: 'node',
    format: 'esm',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: options.sdkExternal ? ['@aws-sdk/*'] : [],
    logLevel: 'error',
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    banner: { js: houseBanner() },
    mainFields: ['module', 'main'],
    metafile: true,
  });
  const code = readFileSync(file);
  return { name, file, bytes: code.length, gzipBytes: gzipSync(code).length, metafile: result.metafile };
};

/** Bytes in the output by package (node_modules/<pkg>) or by project folder. */
export const contributions = (metafile: Metafile): Array<{ readonly module: string; readonly bytes: number }> => {
  const byModule = new Map<string, number>();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (!file.endsWith('.mjs')) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = m?.[1] ?? input.split('/').slice(0, 2).join('/');
      byModule.set(key, (byModule.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...byModule.entries()].map(([module, bytes]) => ({ module, bytes })).sort((a, b) => b.bytes - a.bytes);
};

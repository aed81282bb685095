import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { logReplacer } from '#shared/observability.js';
import { mapErrorStack, withSourcePositions } from '#shared/source-positions.js';

// A source whose throw is on a known line, bundled and minified as the functions are, with its map beside it.
const SOURCE = [
  'export const helper = (n: number): number => {',
  '  if (n > 1) return n * 2;',
  "  throw new Error('thrown at line 3');",
  '};',
  'try {',
  '  helper(0);',
  '} catch (error) {',
  '  process.stdout.write((error as Error).stack ?? "");',
  '}',
].join('\n');

let dir: string;
let bundle: string;
let stack: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'nlp-positions-'));
  writeFileSync(path.join(dir, 'fixture.ts'), SOURCE);
  bundle = path.join(dir, 'out', 'index.mjs');
  await build({
    entryPoints: [path.join(dir, 'fixture.ts')],
    bundle: true,
    outfile: bundle,
    format: 'esm',
    platform: 'node',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'error',
  });
  // Run without source maps, as the functions run: the stack points into the minified bundle.
  stack = execFileSync(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? '' } }).toString();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stack traces in source positions', () => {
  it('rewrites a frame in a bundle to the source file, line and column', () => {
    expect(stack).toContain(`${bundle}:`);
    const mapped = withSourcePositions(stack);
    expect(mapped).toMatch(/fixture\.ts:3:\d+/);
    expect(mapped).not.toContain(bundle);
    expect(mapped.split('\n')[0]).toBe('Error: thrown at line 3');
  });

  it('leaves frames without a map as they are', () => {
    const foreign = 'Error: x\n    at f (/nowhere/index.mjs:2:10)\n    at node:internal/process/task_queues:95:5';
    expect(withSourcePositions(foreign)).toBe(foreign);
  });

  it('maps a logged error and its cause once, so the log line shows the source position', () => {
    const cause = Object.assign(new Error('cause'), { stack });
    const error = Object.assign(new Error('outer', { cause }), { stack });
    JSON.stringify({ error }, logReplacer);
    expect(error.stack).toMatch(/fixture\.ts:3:\d+/);
    expect(error.stack).not.toContain(bundle);
    expect(cause.stack).toMatch(/fixture\.ts:3:\d+/);
    const once = error.stack;
    mapErrorStack(error);
    expect(error.stack).toBe(once);
  });
});

describe('mapping never fails or slows the log line it is part of', () => {
  it('leaves an error message that looks like a frame alone, and does not throw on a bad file URL', () => {
    const hostile = `SyntaxError: Unexpected token in "file:///a%2Fb.mjs:1:1"\n    at JSON.parse (file:///a%2Fb.mjs:1:1)`;
    expect(withSourcePositions(hostile)).toBe(hostile);
    const error = new SyntaxError('file:///a%2Fb.mjs:1:1');
    error.stack = hostile;
    expect(() => JSON.stringify({ error }, logReplacer)).not.toThrow();
  });

  it('reads only frame lines of bounded length, so a long path-like message is returned as it is', () => {
    const message = `Error: ${'/a'.repeat(200_000)}.mjs:1:1\n    at ${'/a'.repeat(2_000)}.mjs:1:1`;
    expect(withSourcePositions(message)).toBe(message);
  });

  it('logs a frozen error as it is', () => {
    const error = Object.freeze(Object.assign(new Error('frozen'), { stack }));
    expect(() => mapErrorStack(error)).not.toThrow();
  });
});

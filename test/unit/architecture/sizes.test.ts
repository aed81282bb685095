/**
 * Files stay small enough to read at once: an entry module of functions/ composes and exports its
 * handler (≤ 60 lines); a module of functions/core holds one concern (≤ 300 lines).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').length - 1;
const over = (files: string[], limit: number) =>
  files.filter((f) => lines(f) > limit).map((f) => `${path.relative(ROOT, f)}: ${lines(f)} lines`);

describe('file sizes', () => {
  it('no entry module of functions/ is over 60 lines', () => {
    const entries = readdirSync(path.join(ROOT, 'functions'), { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => path.join(ROOT, 'functions', e.name));
    expect(entries.length).toBeGreaterThan(0);
    expect(over(entries, 60)).toEqual([]);
  });

  it('no module of functions/core is over 300 lines', () => {
    const core = readdirSync(path.join(ROOT, 'functions', 'core'), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => path.join(e.parentPath, e.name));
    expect(core.length).toBeGreaterThan(10);
    expect(over(core, 300)).toEqual([]);
  });
});

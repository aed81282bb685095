import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { escapeHtml } from '#core/html.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const sources = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));

describe('escapeHtml', () => {
  it('leaves no character that can end a text node or an attribute value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(escapeHtml(s)).not.toMatch(/[<>"'`=/]|&(?!#\d+;)/);
      }),
    );
  });

  it('round-trips through numeric character references', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const back = escapeHtml(s).replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
        expect(back).toBe(s);
      }),
    );
  });

  it('is defined once in the tree', () => {
    const definitions = ['functions', 'local', 'scripts', 'bench', 'lib']
      .flatMap(sources)
      .filter((file) => /\b(const|function)\s+escapeHtml\b/.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    expect(definitions).toEqual([path.join('functions', 'core', 'html.ts')]);
  });
});

/**
 * The project's own TypeScript sources, for tests that check a helper is
 * defined in one place only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const TREES = ['functions', 'local', 'scripts', 'bench', 'lib'];

const sources = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));

/** Repository-relative paths of the source files whose text matches `pattern`, sorted. */
export const filesMatching = (pattern: RegExp): string[] =>
  TREES.flatMap(sources)
    .filter((file) => pattern.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(ROOT, file))
    .sort();

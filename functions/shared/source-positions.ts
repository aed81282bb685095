/**
 * Stack traces in source positions, mapped when an error is logged.
 *
 * The functions run without `--enable-source-maps`: with it, Node.js reads and
 * decodes a bundle's whole source map when the bundle loads, which costs every
 * cold start of the larger functions about 8 ms (docs/adr/0143). Instead, the
 * first time a logged stack points into a bundle, its map (`index.mjs.map`,
 * beside it) is read with Node.js's own `SourceMap`, and frames read as
 * `functions/core/unfurl/unfurl.ts:120:7` as they would have with the flag.
 *
 * Only frame lines (`    at …`) that name an `.mjs` file (the bundles are
 * ESM, `index.mjs`) are rewritten, so an error message can neither make the
 * mapping slow nor make it throw, and a frame with no map (the local server
 * runs the sources) is left as it is. Mapping never throws: logging an error
 * must not fail.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** At most this many files' maps (or their absence) are kept: the bundle, and little else. */
const MAX_FILES = 16;
const maps = new Map<string, SourceMap | null>();

const mapOf = (file: string): SourceMap | null => {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    if (maps.size >= MAX_FILES) maps.delete(maps.keys().next().value as string);
    maps.set(file, map);
  }
  return map;
};

/** The position at the end of a frame line: `(/var/task/index.mjs:2:1234)`, `file:///…`, or bare after `at `. */
const FRAME_POSITION = /((?:file:\/\/)?\/[^\s():]{1,1024}\.mjs):(\d{1,9}):(\d{1,9})(\)?)$/;
const FRAME_LINE = /^\s+at /;
const MAX_LINE = 2048;

const mapLine = (line: string): string => {
  if (line.length > MAX_LINE || !FRAME_LINE.test(line)) return line;
  const match = FRAME_POSITION.exec(line);
  if (!match) return line;
  const [whole, location = '', lineNumber = '', column = '', paren = ''] = match;
  try {
    const file = location.startsWith('file://') ? fileURLToPath(location) : location;
    const origin = mapOf(file)?.findOrigin(Number(lineNumber), Number(column));
    if (!origin || !('fileName' in origin) || origin.lineNumber < 1 || origin.columnNumber < 1) return line;
    // Sources are listed relative to the bundle's folder at build time: the project-relative path is what reads.
    const source = origin.fileName.replace(/^(\.\.\/)+/, '');
    return `${line.slice(0, line.length - whole.length)}${source}:${origin.lineNumber}:${origin.columnNumber}${paren}`;
  } catch {
    return line;
  }
};

/** A stack with each frame that points into a bundle with a source map rewritten to its source position. */
export const withSourcePositions = (stack: string): string => stack.split('\n').map(mapLine).join('\n');

/**
 * Rewrites the stack of `error` and of its causes to source positions before it is logged. Doing it again
 * changes nothing: a mapped frame no longer names an `.mjs` file.
 */
export const mapErrorStack = (error: Error): void => {
  try {
    for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
      if (typeof e.stack === 'string') e.stack = withSourcePositions(e.stack);
    }
  } catch {
    // a frozen error, a throwing `cause` getter: it is logged as it is
  }
};

/**
 * Stack traces in source positions, mapped when an error is logged.
 *
 * The functions run without `--enable-source-maps`: with it, Node.js reads and
 * decodes a bundle's whole source map when the bundle loads, which costs every
 * cold start of the larger functions about 8 ms (docs/adr/0143). Instead, the
 * first time a logged stack points into a bundle, its map (`index.mjs.map`,
 * beside it) is read with Node.js's own `SourceMap`, and frames read as
 * `functions/core/unfurl/unfurl.ts:120:7` as they would have with the flag.
 * A frame with no map (the local server runs the sources) is left as it is.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const maps = new Map<string, SourceMap | null>();

const mapOf = (file: string): SourceMap | null => {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  return map;
};

/** `/var/task/index.mjs:2:1234` or `file:///var/task/index.mjs:2:1234` in a stack frame. */
const BUNDLE_POSITION = /((?:file:\/\/)?\/[^\s():]+\.m?js):(\d+):(\d+)/g;

/** A stack with each frame that points into a bundle with a source map rewritten to its source position. */
export const withSourcePositions = (stack: string): string =>
  stack.replace(BUNDLE_POSITION, (frame, location: string, line: string, column: string) => {
    const file = location.startsWith('file://') ? fileURLToPath(location) : location;
    const origin = mapOf(file)?.findOrigin(Number(line), Number(column));
    if (!origin || !('fileName' in origin) || origin.lineNumber < 1 || origin.columnNumber < 1) return frame;
    // Sources are listed relative to the bundle's folder at build time: the project-relative path is what reads.
    return `${origin.fileName.replace(/^(\.\.\/)+/, '')}:${origin.lineNumber}:${origin.columnNumber}`;
  });

const mapped = new WeakSet<Error>();

/** Rewrites the stack of `error` and of its causes to source positions, once, before it is logged. */
export const mapErrorStack = (error: Error): void => {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (typeof e.stack === 'string' && !mapped.has(e)) {
      mapped.add(e);
      e.stack = withSourcePositions(e.stack);
    }
  }
};

/**
 * The custom metrics the functions count, read from their source: every `countMetric(name, { dimensions })`
 * call in functions/ (a `METRIC.x` name resolved through METRIC, a string literal as it is) and the worker's
 * plain counts (PLAIN_METRICS in functions/handlers/update-worker.ts, no dimension). Each metric with every
 * set of dimension names it is counted with (`service` is added to all of them by the logger's metrics).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC } from '#shared/observability.js';

const FUNCTIONS = new URL('../../functions', import.meta.url).pathname;

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );

/** The keys of an object literal's source (`{ a: x, b }` → a, b), sorted. */
const keysOf = (literal: string): string[] =>
  literal
    .split(',')
    .map((part) => /^\s*(\w+)\s*(?::|$)/.exec(part)?.[1])
    .filter((key): key is string => key !== undefined)
    .sort();

/** Metric name → the dimension-name sets it is counted with, each as sorted names joined by `,` (`''`: none). */
export const emittedMetrics = (): Map<string, Set<string>> => {
  const emitted = new Map<string, Set<string>>();
  const add = (name: string, keys: readonly string[]) => {
    const sets = emitted.get(name) ?? new Set<string>();
    sets.add(keys.join(','));
    emitted.set(name, sets);
  };
  const metricNames = METRIC as Readonly<Record<string, string>>;
  for (const file of walk(FUNCTIONS)) {
    const src = readFileSync(file, 'utf8');
    const calls = src.match(/countMetric\(/g)?.length ?? 0;
    let read = 0;
    for (const m of src.matchAll(/countMetric\(\s*(METRIC\.(\w+)|'(\w+)')\s*(?:,\s*\{([^}]*)\})?\s*\)/g)) {
      const name = m[2] !== undefined ? metricNames[m[2]] : m[3];
      if (name === undefined) throw new Error(`${file}: countMetric of an unknown METRIC.${m[2]}`);
      add(name, keysOf(m[4] ?? ''));
      read += 1;
    }
    // The one call with a variable name is the worker's plain count, read from PLAIN_METRICS below.
    const plainCalls = src.match(/countMetric\(plain\)/g)?.length ?? 0;
    if (read + plainCalls !== calls) throw new Error(`${file}: a countMetric call this reader does not understand`);
    const plain = /PLAIN_METRICS[^=]*=\s*\{([^}]*)\}/.exec(src)?.[1];
    if (plain) for (const m of plain.matchAll(/:\s*'(\w+)'/g)) add(m[1] as string, []);
  }
  return emitted;
};

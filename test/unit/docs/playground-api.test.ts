/**
 * local/notion-simulator/README.md documents the playground's HTTP API as the simulator serves it:
 * every path local/notion-simulator/simulator.ts answers under /playground/ is in the README's table
 * with its method, the table names no other, and the session cookie has the name the code sets.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const readme = read('local/notion-simulator/README.md');
const source = read('local/notion-simulator/simulator.ts');

/** `METHOD /playground/…` of each row of the README's API table, ids written `<id>` and no query. */
const documented = new Set(
  [...readme.matchAll(/^\| `(GET|POST) (\/playground\/[^`?]*)(?:\?[^`]*)?` \|/gm)].map((m) => `${m[1]} ${m[2]}`),
);

/** What simulator.ts serves: its `path === '/playground/…'` tests and its /playground/previews/<id>/… patterns. */
const served = (): Set<string> => {
  const out = new Set<string>();
  for (const m of source.matchAll(/method === '(GET|POST)' && path === '(\/playground\/[\w/]+)'/g))
    out.add(`${m[1]} ${m[2]}`);
  // The rest of the POST actions are matched in playgroundAction by path alone.
  const actions = source.slice(
    source.indexOf('private async playgroundAction'),
    source.indexOf('private async servePdf'),
  );
  for (const m of actions.matchAll(/path === '(\/playground\/[\w/]+)'/g)) out.add(`POST ${m[1]}`);
  for (const m of actions.matchAll(/\\\/\(([a-z|]+)\)\$\/\.exec\(path\)/g))
    for (const action of (m[1] as string).split('|')) out.add(`POST /playground/previews/<id>/${action}`);
  if (/\\\/pdf\$\/\.exec\(path\)/.test(source)) out.add('GET /playground/previews/<id>/pdf');
  return out;
};

describe('the playground API in local/notion-simulator/README.md', () => {
  it('lists every route the simulator serves under /playground/, and only those', () => {
    const routes = served();
    expect(routes.size).toBeGreaterThanOrEqual(10);
    expect([...documented].sort()).toEqual([...routes].sort());
  });

  it('names the session cookie as the simulator sets it, and says posts are JSON only', () => {
    expect(readme).toContain(`\`${SESSION_COOKIE}=<id>; Path=/; HttpOnly;`);
    expect(source).toContain("if (type !== 'application/json') return 'content-type must be application/json'");
    expect(readme).toContain('must be `content-type: application/json`');
  });
});

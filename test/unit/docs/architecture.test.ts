/**
 * docs/architecture.md says what the code does: its route table (docs/architecture.md §3) is
 * lib/routes.ts and calls no served route planned, and the contract list of docs/architecture.md §7
 * names the settings, scripts and CDK context the code has, by their exact names.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { HANDLERS, ROUTES, routeKey, WORKER_HANDLER } from '#lib/routes.js';
import { SETTINGS } from '#lib/settings.js';
import { CONTEXT_KEYS } from '#lib/stage-config.js';
import { CLI as SMOKE_CLI } from '../../../scripts/smoke.js';

const doc = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');

/** The text of a `## N. …` section. */
const section = (n: number): string => {
  const start = doc.search(new RegExp(`^## ${n}\\. `, 'm'));
  if (start < 0) throw new Error(`docs/architecture.md has no section ${n}`);
  const next = doc.slice(start + 1).search(/^## /m);
  return next < 0 ? doc.slice(start) : doc.slice(start, start + 1 + next);
};

describe('docs/architecture.md §2 (components)', () => {
  it('names every function of the stack: each handler of lib/routes.ts and the worker', () => {
    const handlers = section(2).slice(section(2).indexOf('**Handlers**'), section(2).indexOf('**Domain code**'));
    const named = [...handlers.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    expect(named.sort()).toEqual([...Object.keys(HANDLERS), WORKER_HANDLER].sort());
  });
});

describe('docs/architecture.md §3 (routes)', () => {
  const routes = section(3);

  it('lists exactly the routes of lib/routes.ts', () => {
    const listed = new Set<string>();
    for (const m of routes.matchAll(/^\| `([A-Z]+) (\/[^`]*)`(?: and `([A-Z]+) (\/[^`]*)`)? \|/gm)) {
      listed.add(`${m[1]} ${m[2]}`);
      if (m[3] && m[4]) listed.add(`${m[3]} ${m[4]}`);
    }
    expect([...listed].sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it('calls no route that lib/routes.ts serves planned or not served', () => {
    const claims = doc
      .split(/(?<=\.)\s+/)
      .filter((sentence) => /planned|not served|not yet served/i.test(sentence))
      .filter((sentence) => ROUTES.some((r) => sentence.includes(r.path)));
    expect(claims).toEqual([]);
  });
});

describe('docs/architecture.md §7 (local runtime contract)', () => {
  const contract = section(7);

  it('names every contract setting, each a setting of lib/settings.ts', () => {
    const names = [
      'PORT',
      'OAUTH_CLIENT_ID',
      'OAUTH_CLIENT_SECRET',
      'NOTION_CLIENT_ID',
      'NOTION_CLIENT_SECRET',
      'NOTION_API_BASE_URL',
      'NOTION_VERSION',
      'NOTION_REDIRECT_URIS',
      'OIDC_ISSUER',
      'OIDC_CLIENT_ID',
      'OIDC_CLIENT_SECRET',
      'CHANGES_WEBHOOK_SECRET',
      'SOURCE_ADAPTER',
      'SOURCE_BASE_URL',
      'SOURCE_HTTP_MAPPING',
      'UNFURL_RULES',
      'LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS',
    ];
    for (const name of names) {
      expect(Object.hasOwn(SETTINGS, name)).toBe(true);
      expect({ name, named: contract.includes(`\`${name}\``) }).toEqual({ name, named: true });
    }
  });

  it('names the smoke check with its options and the production context, as the code spells them', () => {
    expect(Object.keys(SMOKE_CLI.options)).toEqual(expect.arrayContaining(['base-url', 'outputs']));
    expect(contract).toContain('`npm run smoke -- --base-url URL`');
    expect(contract).toContain('`--outputs FILE`');
    expect(CONTEXT_KEYS.production).toBe('production');
    expect(contract).toContain('`production=true`');
    expect(contract).toContain('`GET /.well-known/jwks.json`');
    expect(contract).toContain('`npm start -- --fresh`');
  });
});

/**
 * docs/connect-your-product.md as written. Path 3, step 1: the install line brings every peer
 * dependency and the CDK command line, and the module type the examples need is named. Path 1: its rule passes the checks `npm run dashboard`
 * makes before Notion's form gets it, its mapping parses, and the two together turn the example
 * answer of step 1, fetched from the path step 1 names, into a valid card.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { httpJsonAdapter, parseHttpJsonMapping } from '#adapters/sources/http-json.js';
import { attributesOf } from '#core/unfurl/render.js';
import { matchUri, parseIntegration } from '#core/unfurl/rules.js';
import { ruleProblems } from '../../../scripts/dashboard.js';

const doc = readFileSync(new URL('../../../docs/connect-your-product.md', import.meta.url), 'utf8');
const path1 = doc.slice(doc.indexOf('## Path 1'), doc.indexOf('## Path 2'));
const [rulesJson, mappingJson] = [...path1.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] as string);
/** Step 1's example answer: the backticked JSON after "e.g.". */
const answerJson = /e\.g\.\s*`(\{[\s\S]*?\})`/.exec(path1)?.[1];

const path3 = doc.slice(doc.indexOf('## Path 3'), doc.indexOf('## What each path costs'));
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  peerDependencies: Record<string, string>;
};

describe('docs/connect-your-product.md, path 3', () => {
  const install = /`npm install --save-dev ([^`]+)`/.exec(path3)?.[1]?.split(/\s+/) ?? [];

  it("step 1 installs every peer dependency, and aws-cdk for `npx cdk` (the team's own command line)", () => {
    expect(install).toEqual(expect.arrayContaining([...Object.keys(pkg.peerDependencies), 'aws-cdk']));
  });

  it('names "type": "module", which bin/app.ts (top-level await) needs under tsx', () => {
    expect(path3).toContain('"type": "module"');
    expect(path3).toMatch(/const source = await loadSourceAdapterModule/);
  });
});

describe('docs/connect-your-product.md, path 1', () => {
  it('shows a rule, a mapping and an example answer', () => {
    expect(rulesJson).toBeDefined();
    expect(mappingJson).toBeDefined();
    expect(answerJson).toBeDefined();
  });

  it("deploys the multi-line files of step 2 on one line each: the cdk command line keeps a -c value's first line", () => {
    const deploy = /`(npx cdk deploy [^`]+)`/.exec(path1)?.[1] ?? '';
    expect(deploy).toContain('-c unfurlRules=');
    expect(rulesJson).toContain('\n');
    expect(deploy).not.toMatch(/-c \w+="\$\(cat /);
  });

  it('gives a rule `npm run dashboard` accepts: samples match, the placeholder is a valid list (title and dev)', () => {
    const integration = parseIntegration(rulesJson, 'rules.json');
    expect(ruleProblems(integration)).toEqual([]);
  });

  it('maps the example answer of step 1, fetched from GET /api/items/<no>, to a valid card', async () => {
    const integration = parseIntegration(rulesJson, 'rules.json');
    const sample = integration.rules[0]?.sampleUrls[0] as string;
    const match = matchUri(integration, sample);
    expect(match).toBeDefined();
    const fetched: string[] = [];
    const adapter = httpJsonAdapter({
      baseUrl: 'http://127.0.0.1:8080',
      mapping: parseHttpJsonMapping(mappingJson),
      fetch: async (url) => {
        fetched.push(url);
        return new Response(answerJson, { status: 200, headers: { 'content-type': 'application/json' } });
      },
    });
    const token = { accessToken: async () => 'upstream-token' };
    const context = { signal: new AbortController().signal, deadline: Date.now() + 1000 };
    const out = await adapter.resolve(match!, { subject: 'u', displayName: 'U', connectionId: 'c' }, token, context);
    expect(fetched).toEqual([`http://127.0.0.1:8080/api/items/${/\d+$/.exec(sample)?.[0]}`]);
    expect(out.outcome).toBe('found');
    if (out.outcome !== 'found') return;
    const ids = attributesOf(out.model, 'Acme').map((a) => a.id);
    expect(ids).toEqual(['title', 'dev', 'state', 'due']);
  });
});

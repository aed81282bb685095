/**
 * Facts the README, docs/deployment.md and docs/security.md state about the code, checked against
 * the declarations they come from: the function ids `sam local invoke` takes (lib/routes.ts through
 * the stack's `functionId`), the sample events of events/, and which functions may use the KMS key
 * (lib/functions.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { FUNCTIONS } from '#lib/functions.js';
import { functionId } from '#lib/notion-link-preview-stack.js';
import { type FunctionName, HANDLERS, WORKER_HANDLER } from '#lib/routes.js';

const read = (file: string): string => readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
const FUNCTION_NAMES: FunctionName[] = [...(Object.keys(HANDLERS) as FunctionName[]), WORKER_HANDLER];
const FUNCTION_IDS = FUNCTION_NAMES.map(functionId).sort();

/** The backticked `…Function` ids of the paragraph that starts with `lead`. */
const idsAfter = (doc: string, lead: string): string[] => {
  const start = doc.indexOf(lead);
  if (start < 0) throw new Error(`no paragraph starting "${lead}"`);
  const paragraph = doc.slice(start, doc.indexOf('\n\n', start) < 0 ? undefined : doc.indexOf('\n\n', start));
  return [...paragraph.matchAll(/`([A-Za-z]+Function)`/g)].map((m) => m[1] as string).sort();
};

describe('sam local: the function ids the docs list', () => {
  it('README.md lists every function id, and only those', () => {
    expect(idsAfter(read('README.md'), 'Function ids:')).toEqual(FUNCTION_IDS);
  });

  it('docs/deployment.md lists every function id, and only those', () => {
    expect(idsAfter(read('docs/deployment.md'), 'Functions are addressed by their construct ids:')).toEqual(
      FUNCTION_IDS,
    );
  });

  // One-way: a route added later gets a plain sample (answered without a 5xx by
  // test/handlers/events/sample-events.test.ts) before anyone writes its row (ADR 0141).
  it("docs/deployment.md's table of sample events names files of events/, with their functions, and every sample there was when it was written", () => {
    const doc = read('docs/deployment.md');
    const table = doc.slice(doc.indexOf('| File | Function | Answer with fresh state |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const named = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([\w-]+\.json)`/g)].map((m) => m[1]));
    const files = readdirSync(new URL('../../../events/', import.meta.url)).filter((f) => f.endsWith('.json'));
    expect(named.filter((f) => !files.includes(f as string))).toEqual([]);
    expect(named).toEqual(
      expect.arrayContaining([
        'oauth-authorize.json',
        'oauth-token-refresh-token.json',
        'oauth-revoke.json',
        'unfurl.json',
        'deleted-token-post.json',
        'changes.json',
        'metadata.json',
        'jwks.json',
        'update-worker.json',
      ]),
    );
    for (const row of rows) {
      const ids = (row.split('|')[2] ?? '').split(',').map((s) => s.trim());
      for (const id of ids) expect(FUNCTION_IDS).toContain(id);
    }
  });
});

describe('docs/security.md: IAM least privilege', () => {
  const doc = read('docs/security.md');
  const section = doc.slice(doc.indexOf('## IAM least privilege'), doc.indexOf('## Logging and redaction'));
  /** The functions a sentence lists after `lead`: backticked names up to the next semicolon. */
  const listed = (lead: string): string[] => {
    const flat = section.replace(/\s+/g, ' ');
    const start = flat.indexOf(lead);
    if (start < 0) throw new Error(`docs/security.md's IAM section has no "${lead}"`);
    const clause = flat.slice(start + lead.length, flat.indexOf(';', start));
    return [...clause.matchAll(/`([a-z-]+)`/g)].map((m) => m[1] as string).sort();
  };
  const withKeyUse = (use: 'encrypt' | 'decrypt'): string[] =>
    Object.entries(FUNCTIONS)
      .filter(([, needs]) =>
        ((needs as { keys?: Record<string, readonly string[]> }).keys?.NOTION_TOKEN_KMS_KEY_ID ?? []).includes(use),
      )
      .map(([name]) => name)
      .sort();

  it('names the functions that may create KMS data keys as lib/functions.ts grants them', () => {
    expect(listed('KMS data keys (`kms:GenerateDataKey`) only for')).toEqual(withKeyUse('encrypt'));
  });

  it('names the functions that may decrypt as lib/functions.ts grants them', () => {
    expect(listed('`kms:Decrypt` only for')).toEqual(withKeyUse('decrypt'));
  });

  it('says nobody may kms:Encrypt', () => {
    expect(section).toContain('nobody may `kms:Encrypt`');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { itemBytes, readUnitsFor, writeUnitsFor } from '../../../bench/aws-count.js';
import { PRICE_IDS, parsePriceTable, readPriceTable } from '../../../bench/prices.js';
import { sectionsFrom } from '../../../bench/run.js';

describe('the price table of bench/README.md', () => {
  it('parses, with every price, per single unit', () => {
    const table = readPriceTable();
    expect(table.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(table.region).toBe('us-east-1');
    for (const id of PRICE_IDS) expect(table.perUnit[id]).toBeGreaterThan(0);
    // Sanity of the units: a read unit is cheaper than a write unit; a KMS request costs under a cent.
    expect(table.perUnit['dynamodb.readRequestUnit']).toBeLessThan(table.perUnit['dynamodb.writeRequestUnit']);
    expect(table.perUnit['kms.request']).toBeLessThan(0.01);
  });

  const section = (rows: string) =>
    `# x\n\n## Prices\n\nregion \`us-east-1\`, as of 2025-06-01.\n\n| id | what | USD | Units |\n| --- | --- | --- | --- |\n${rows}\n## Next\n`;
  const all = PRICE_IDS.map((id) => `| \`${id}\` | x | 2 | 1,000 |`).join('\n');

  it('divides the amount by the units it buys', () => {
    expect(parsePriceTable(section(all)).perUnit['sqs.request']).toBeCloseTo(0.002, 12);
  });

  it('names a missing, unknown or malformed row', () => {
    expect(() => parsePriceTable(section(all.split('\n').slice(1).join('\n')))).toThrow(
      /lacks dynamodb\.readRequestUnit/,
    );
    expect(() => parsePriceTable(section(`${all}\n| \`foo.bar\` | x | 1 | 1 |`))).toThrow(/unknown price id.*foo\.bar/);
    expect(() => parsePriceTable(section(all.replace('| 2 |', '| two |')))).toThrow(/does not parse/);
    expect(() => parsePriceTable('# no prices here\n')).toThrow(/no "## Prices" section/);
    expect(() => parsePriceTable(section(all).replace('as of 2025-06-01', 'lately'))).toThrow(/no date/);
  });
});

describe('request units', () => {
  it('follow DynamoDB: 4 KB reads (eventual ½), 1 KB writes, at least one', () => {
    expect(readUnitsFor(0, true)).toBe(1);
    expect(readUnitsFor(4096, true)).toBe(1);
    expect(readUnitsFor(4097, true)).toBe(2);
    expect(readUnitsFor(4097, false)).toBe(1);
    expect(writeUnitsFor(10)).toBe(1);
    expect(writeUnitsFor(1025)).toBe(2);
  });

  it('size an item by attribute names and values, marshalled or not', () => {
    expect(itemBytes({ pk: 'abc' })).toBe(5);
    expect(itemBytes({ pk: { S: 'abc' } })).toBe(5);
    expect(itemBytes({ body: 'x'.repeat(2000) })).toBe(2004);
  });
});

describe('bench --only', () => {
  it('selects sections and rejects unknown ones', () => {
    expect([...sectionsFrom('cost, scale')]).toEqual(['cost', 'scale']);
    expect(sectionsFrom(undefined).size).toBe(5);
    expect(() => sectionsFrom('cost,nope')).toThrow(/--only takes/);
  });
});

describe('the budget table of bench/README.md', () => {
  const root = new URL('../../../', import.meta.url);
  const run = readFileSync(new URL('bench/run.ts', root), 'utf8');
  const readme = readFileSync(new URL('bench/README.md', root), 'utf8');
  const constants = Object.fromEntries(
    [...run.matchAll(/^const ([A-Z_]+) = ([\d_.]+);$/gm)].map((m) => [
      m[1],
      Number((m[2] as string).replaceAll('_', '')),
    ]),
  );
  /** Each `budget(id, label, value, rule, limit, unit)` call of bench/run.ts: its id (`${h.name}` → `<handler>`), rule and limit. */
  const budgets = [...run.matchAll(/budget\(\s*[`']([^`']+)[`'],[\s\S]*?'(<=|>=|==)',\s*([^,]+),/g)].map((m) => ({
    id: (m[1] as string).replace(/\$\{h\.name\}/, '<handler>'),
    rule: m[2] as string,
    limit: (m[3] as string).trim() in constants ? constants[(m[3] as string).trim()] : Number(m[3]),
  }));
  const section = readme.slice(readme.indexOf('## Budgets'), readme.indexOf('\n## ', readme.indexOf('## Budgets') + 1));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const [ids = '', text = ''] = l.replace(/^\||\|$/g, '').split('|');
      return { ids: [...ids.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string), text };
    });
  /** The ways a limit is written in the table: as is, as a percentage, or in KB. */
  const spellings = (limit: number): RegExp[] =>
    [String(limit), `${Math.round(limit * 1000) / 10} %`, `${limit / 1000} KB`].map(
      (s) => new RegExp(`(?<![\\d.,])${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\d]|\\.\\d)`),
    );

  it('finds the budgets of bench/run.ts', () => {
    expect(budgets.length).toBeGreaterThan(15);
    expect(budgets.find((b) => b.id === 'bundle.<handler>')).toEqual({
      id: 'bundle.<handler>',
      rule: '<=',
      limit: 350_000,
    });
  });

  it('has one row per budget id of bench/run.ts, and no other', () => {
    expect(rows.flatMap((r) => r.ids).sort()).toEqual(budgets.map((b) => b.id).sort());
  });

  it('states each ≤ and ≥ limit of bench/run.ts', () => {
    const missing = budgets
      .filter((b) => b.rule !== '==' && Number.isFinite(b.limit))
      .filter((b) => {
        const row = rows.find((r) => r.ids.includes(b.id));
        return !spellings(b.limit as number).some((re) => re.test(row?.text ?? ''));
      })
      .map((b) => `${b.id} ${b.rule} ${b.limit}`);
    expect(missing).toEqual([]);
  });
});

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

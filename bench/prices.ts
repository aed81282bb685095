/**
 * The list prices the `cost` figures are priced with, read from the one table
 * of them in bench/README.md (section "Prices"), so the prices live in one
 * place: a row's first cell is the price's id in backticks, then what is
 * billed, the USD amount, and the number of units that amount buys.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './build.js';

export const PRICE_IDS = [
  'dynamodb.readRequestUnit',
  'dynamodb.writeRequestUnit',
  'sqs.request',
  'lambda.request',
  'lambda.gbSecond',
  'apigateway.httpRequest',
  'kms.request',
  'secretsmanager.apiCall',
] as const;

export type PriceId = (typeof PRICE_IDS)[number];

export interface PriceTable {
  /** USD per single unit, by id. */
  readonly perUnit: Readonly<Record<PriceId, number>>;
  /** The date the table states ("as of …"). */
  readonly asOf: string;
  readonly region: string;
}

const number = (cell: string): number => Number(cell.replaceAll(',', '').replaceAll('$', '').trim());

/** Parses the price table out of the README's markdown; throws naming what is missing or malformed. */
export const parsePriceTable = (markdown: string): PriceTable => {
  const section = /^## Prices\b[\s\S]*?(?=^## )/m.exec(`${markdown}\n## `)?.[0];
  if (!section) throw new Error('bench/README.md has no "## Prices" section');
  const asOf = /as of (\d{4}-\d{2}-\d{2})/.exec(section)?.[1];
  if (!asOf) throw new Error('the price table states no date ("as of YYYY-MM-DD")');
  const region = /region `([a-z0-9-]+)`/.exec(section)?.[1] ?? 'us-east-1';
  const perUnit: Partial<Record<PriceId, number>> = {};
  for (const line of section.split('\n')) {
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
    const id = /^`([a-z]+\.[A-Za-z]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!id) continue;
    if (!(PRICE_IDS as readonly string[]).includes(id)) throw new Error(`unknown price id in bench/README.md: ${id}`);
    const usd = number(cells[2] ?? '');
    const per = number(cells[3] ?? '');
    if (!Number.isFinite(usd) || usd < 0 || !Number.isFinite(per) || per <= 0)
      throw new Error(`the price of ${id} in bench/README.md does not parse: "${line.trim()}"`);
    perUnit[id as PriceId] = usd / per;
  }
  const missing = PRICE_IDS.filter((id) => perUnit[id] === undefined);
  if (missing.length > 0) throw new Error(`bench/README.md's price table lacks ${missing.join(', ')}`);
  return { perUnit: perUnit as Record<PriceId, number>, asOf, region };
};

export const readPriceTable = (file = path.join(ROOT, 'bench', 'README.md')): PriceTable =>
  parsePriceTable(readFileSync(file, 'utf8'));

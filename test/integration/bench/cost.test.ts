/**
 * The `cost` section's counting against the real local system: the AWS
 * requests a user-visible operation makes are counted by the middleware the
 * benchmark adds to the handlers' SDK clients, and priced from bench/README.md.
 */
import { describe, expect, it } from '@jest/globals';
import { type CostFigures, measureCost } from '../../../bench/cost.js';
import { readPriceTable } from '../../../bench/prices.js';

describe('bench cost', () => {
  let figures: CostFigures;
  const op = (prefix: string) => {
    const found = figures.operations.find((o) => o.scenario.startsWith(prefix));
    if (!found) throw new Error(`no scenario ${prefix}`);
    return found;
  };

  it('counts every scenario against the local system', async () => {
    figures = await measureCost({ changeSubscribers: [1, 3], prices: readPriceTable() });
    expect(figures.memoryMb).toBeGreaterThan(0);
  }, 60_000);

  it('counts exactly one DynamoDB request for a repeat unfurl, and none for an invalid token', () => {
    const repeat = op('repeat unfurl');
    expect(repeat.requests).toEqual({ 'DynamoDB.BatchGetItem': 1 });
    expect(repeat.dynamoRequests).toBe(1);
    expect(repeat.readUnits).toBeGreaterThan(0);
    expect(repeat.writeUnits).toBe(0);
    expect(repeat.reportedUnitShare).toBe(1); // dynalite answers ReturnConsumedCapacity
    expect(repeat.lambdaInvocations).toEqual({ unfurl: 1 });
    expect(repeat.apiGatewayRequests).toBe(1);

    const invalid = op('unfurl with an invalid token');
    expect(invalid.dynamoRequests).toBe(0);
    expect(invalid.requests).toEqual({});
    expect(invalid.lambdaInvocations).toEqual({ unfurl: 1 });
  });

  it('counts a first unfurl writing its subscription, and a connect through both OAuth functions', () => {
    const first = op('first unfurl');
    expect(first.dynamoRequests).toBeGreaterThan(op('repeat unfurl').dynamoRequests);
    expect(first.writeUnits).toBeGreaterThan(0);
    const connect = op('oauth connect');
    expect(Object.keys(connect.lambdaInvocations).sort()).toEqual(['oauth-authorize', 'oauth-token']);
    expect(connect.kmsRequests).toBeGreaterThan(0); // the Notion token is encrypted
  });

  it('counts a change through the webhook, the queue and the worker, with the poller apart', () => {
    const one = op('change → 1 subscriber');
    expect(one.lambdaInvocations.changes).toBe(1);
    expect(one.lambdaInvocations['update-worker']).toBeGreaterThanOrEqual(1);
    expect(one.requests['SQS.ReceiveMessage (poller)']).toBeGreaterThanOrEqual(1);
    expect(one.notionPatches).toBe(1);
    const three = op('change → 3 subscribers on 3 connections');
    expect(three.notionPatches).toBe(3);
    expect(three.kmsRequests).toBe(3); // one Notion token per connection decrypted
    expect(three.dynamoRequests).toBeGreaterThan(one.dynamoRequests);
  });

  it('prices from the table: dollars add up by service', () => {
    for (const o of figures.operations) {
      const sum = Object.values(o.usdByService).reduce((a, b) => a + b, 0);
      expect(Math.abs(o.usd - sum)).toBeLessThanOrEqual(sum * 1e-3); // four significant digits
    }
    const repeat = op('repeat unfurl');
    expect(figures.usdPerMillionRepeatUnfurls).toBeCloseTo(repeat.usd * 1e6, 1);
    expect(figures.usdPerMillionRepeatUnfurls).toBeLessThan(figures.usdPerMillionFirstUnfurls);
  });
});

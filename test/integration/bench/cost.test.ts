/**
 * The `cost` section's counting against the real local system: the AWS
 * requests a user-visible operation makes are counted by the middleware the
 * benchmark adds to the handlers' SDK clients, and priced from bench/README.md.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { type CostFigures, changeFloor, type IndependentProbe, measureCost } from '../../../bench/cost.js';
import { readPriceTable } from '../../../bench/prices.js';

/**
 * A count of its own, at the HTTP level: every request this process sends to the DynamoDB
 * emulator's port, by its X-Amz-Target, seen through Node's `http.client.request.start`
 * diagnostics channel (no SDK middleware involved).
 */
const onTheWire: IndependentProbe = (endpoint) => {
  const host = new URL(endpoint).host;
  const counts: Record<string, number> = {};
  const listener = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    if (String(request.getHeader('host')) !== host) return;
    const target = String(request.getHeader('x-amz-target') ?? 'unknown');
    const name = `DynamoDB.${target.split('.').at(-1)}`;
    counts[name] = (counts[name] ?? 0) + 1;
  };
  subscribe('http.client.request.start', listener);
  return {
    stop: () => {
      unsubscribe('http.client.request.start', listener);
      return counts;
    },
  };
};

const SPREAD = [1, 10, 60];

describe('bench cost', () => {
  let figures: CostFigures;
  const op = (prefix: string) => {
    const found = figures.operations.find((o) => o.scenario.startsWith(prefix));
    if (!found) throw new Error(`no scenario ${prefix}`);
    return found;
  };

  it('counts every scenario against the local system', async () => {
    figures = await measureCost({ changeSubscribers: SPREAD, prices: readPriceTable(), independent: onTheWire });
    expect(figures.memoryMb).toBeGreaterThan(0);
  }, 120_000);

  it('agrees with a count taken on the wire to the emulator, scenario by scenario', () => {
    for (const o of figures.operations) {
      const sdk = Object.fromEntries(Object.entries(o.requests).filter(([k]) => k.startsWith('DynamoDB.')));
      expect({ scenario: o.scenario, counts: o.independent }).toEqual({ scenario: o.scenario, counts: sdk });
    }
  });

  it('a change costs at most 3 DynamoDB requests per further subscriber, at its stated floor, counted on the wire', () => {
    const wire = (n: number) => {
      const o = op(n === 1 ? 'change → 1 subscriber' : `change → ${n} subscribers on ${n} connections`);
      return Object.values(o.independent ?? {}).reduce((a, b) => a + b, 0);
    };
    const perExtra = (wire(60) - wire(10)) / 50;
    expect(perExtra).toBeGreaterThan(0);
    expect(perExtra).toBeLessThanOrEqual(3);
    for (const n of SPREAD) expect(wire(n)).toBeLessThanOrEqual(Math.ceil(changeFloor(n, n) * 1.3));
    expect(wire(1)).toBe(changeFloor(1, 1));
  });

  it('an unfurl with a revoked token reads once and asks the product nothing; DELETE /unfurl costs the same with 200 subscriptions', () => {
    const revoked = op('unfurl with a revoked token');
    expect(revoked.requests).toEqual({ 'DynamoDB.BatchGetItem': 1 });
    expect(revoked.productCalls).toBe(0);
    expect(op('first unfurl').productCalls).toBe(1); // the counter counts
    const one = op('DELETE /unfurl');
    const many = op('DELETE /unfurl, connection with 200');
    expect(many.requests).toEqual(one.requests);
    expect(many.readUnits).toBe(one.readUnits);
  });

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
    const ten = op('change → 10 subscribers on 10 connections');
    expect(ten.notionPatches).toBe(10);
    expect(ten.kmsRequests).toBe(10); // one Notion token per connection decrypted
    expect(ten.dynamoRequests).toBeGreaterThan(one.dynamoRequests);
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

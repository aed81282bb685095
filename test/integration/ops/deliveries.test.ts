/**
 * The delivery log on a real DynamoDB-compatible server (dynalite): the same
 * contract as the in-memory log, and `npm run deliveries` reading it back.
 */
import { describe, expect, it } from '@jest/globals';
import { DynamoDeliveryLog } from '#adapters/dynamo/delivery-log.js';
import { MemoryDeliveryLog } from '#adapters/memory/delivery-log.js';
import type { Delivery, DeliveryLog } from '#core/updates/ports.js';
import { ENV } from '#lib/env-names.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { useDynamo } from '#test/helpers/ddb.js';
import { UsageError } from '../../../scripts/cli.js';
import { formatDeliveries, main, tableFromOutputs } from '../../../scripts/deliveries.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const delivery = (connectionId: string, at: number, over: Partial<Delivery> = {}): Delivery => ({
  connectionId,
  at,
  resource: 'task:1',
  uri: 'http://127.0.0.1:3000/demo/tasks/1',
  status: 200,
  action: 'done',
  ...over,
});

describe('delivery log on DynamoDB', () => {
  const ddb = useDynamo();
  const tableName = () => ddb().env[ENV.DELIVERY_LOG_TABLE] as string;

  const contract = (name: string, make: () => DeliveryLog) => {
    it(`${name}: the newest N of a connection, newest first, with Notion's answer fields`, async () => {
      const log = make();
      const id = `c-${name}-${Math.random().toString(36).slice(2)}`;
      for (let i = 0; i < 60; i++) await log.record(delivery(id, NOW - 60_000 + i * 1000));
      await log.record(delivery(`${id}-other`, NOW));
      /** A fresh copy each time, so the expectation never shares an object with what was recorded. */
      const rateLimited = () =>
        delivery(id, NOW + 5000, {
          status: 429,
          action: 'retry-after',
          code: 'rate_limited',
          message: 'Slow down',
          requestId: 'r-1',
        });
      await log.record(rateLimited());
      await log.record(delivery(id, NOW + 6000, { status: 'timeout', action: 'backoff' }));
      const recent = await log.recent(id, 50);
      expect(recent).toHaveLength(50);
      expect(recent[0]).toEqual(delivery(id, NOW + 6000, { status: 'timeout', action: 'backoff' }));
      expect(recent[1]).toEqual(rateLimited());
      const times = recent.map((d) => d.at);
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(recent.every((d) => d.connectionId === id)).toBe(true);
      expect(await log.recent('nobody', 50)).toEqual([]);
    });

    it(`${name}: entries past the retention are not returned`, async () => {
      const log = make();
      const id = `old-${name}-${Math.random().toString(36).slice(2)}`;
      await log.record(delivery(id, NOW - 15 * 86_400_000));
      await log.record(delivery(id, NOW - 1000));
      expect((await log.recent(id, 10)).map((d) => d.at)).toEqual([NOW - 1000]);
    });
  };
  contract('dynamodb', () => new DynamoDeliveryLog(ddb().doc, tableName(), () => NOW));
  contract('memory', () => new MemoryDeliveryLog(() => NOW));

  it('items carry a TTL attribute 14 days after the push', async () => {
    const log = new DynamoDeliveryLog(ddb().doc, tableName(), () => NOW);
    await log.record(delivery('ttl-check', NOW));
    const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    const out = await ddb().doc.send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'connectionId = :c',
        ExpressionAttributeValues: { ':c': 'ttl-check' },
      }),
    );
    expect(out.Items?.[0]?.expiresAt).toBe(Math.floor(NOW / 1000) + 14 * 86_400);
  });

  it('npm run deliveries prints the last pushes of a connection from the local DynamoDB', async () => {
    const log = new DynamoDeliveryLog(ddb().doc, tableName());
    const at = Date.now();
    await log.record(delivery('c-script', at - 2000));
    await log.record(
      delivery('c-script', at - 1000, {
        status: 400,
        action: 'reject',
        code: 'validation_error',
        message: 'bad attributes',
      }),
    );
    expect(tableName()).toMatch(/-delivery-log$/);
    const lines: string[] = [];
    const code = await main(
      ['c-script', '--endpoint', ddb().dynamodbEndpoint, '--table', tableName(), '--limit', '5'],
      {},
      (t) => lines.push(t),
    );
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toContain('Deliveries of connection c-script (newest first, 2)');
    expect(text.indexOf('validation_error: bad attributes')).toBeGreaterThan(0);
    expect(text.indexOf(' 400 ')).toBeLessThan(text.indexOf(' 200 '));
    expect(text).toContain('by status: 400 × 1, 200 × 1');

    const json: string[] = [];
    await main(['c-script', '--endpoint', ddb().dynamodbEndpoint, '--table', tableName(), '--json'], {}, (t) =>
      json.push(t),
    );
    expect((JSON.parse(json.join('')) as Delivery[]).map((d) => d.status)).toEqual([400, 200]);
  });

  it('without an endpoint or --aws (and no npm start running) it says what to give; --help prints the usage', async () => {
    await expect(main(['c-1'], {}, () => {}, { running: () => undefined })).rejects.toThrow(/--endpoint/);
    await expect(main([], {})).rejects.toThrow(UsageError);
    await expect(main(['c-1', '--limit', '501'], {})).rejects.toThrow(/--limit must be a whole number from 1 to 500/);
    await expect(main(['c-1', '--aws', '--endpoint', 'http://127.0.0.1:1'], {})).rejects.toThrow(/not both/);
    // A missing outputs file is a wrong invocation (exit 2) that says where the file comes from, not an ENOENT.
    const missing = main(['c-1', '--outputs', '/nonexistent/cdk-outputs.json'], {});
    await expect(missing).rejects.toThrow(UsageError);
    await expect(main(['c-1', '--outputs', '/nonexistent/cdk-outputs.json'], {})).rejects.toThrow(
      /^no outputs file \/nonexistent\/cdk-outputs\.json \(npm run deploy writes cdk-outputs\.json/,
    );
    const out: string[] = [];
    expect(await main(['--help'], {}, (t) => out.push(t))).toBe(0);
    expect(out.join('')).toMatch(/^Usage: npm run deliveries/);
  });
});

describe('deliveries against AWS: the table from cdk-outputs.json', () => {
  it('picks the stack that has the delivery-log output, or asks for --stack when there are several', () => {
    const one = { 'NotionLinkPreview-dev': { [OUTPUTS.deliveryLogTable]: 'dev-table', Other: 'x' } };
    expect(tableFromOutputs(one)).toEqual({ stack: 'NotionLinkPreview-dev', tableName: 'dev-table' });
    const two = { ...one, 'NotionLinkPreview-prod': { [OUTPUTS.deliveryLogTable]: 'prod-table' } };
    expect(() => tableFromOutputs(two)).toThrow(/--stack/);
    expect(tableFromOutputs(two, 'NotionLinkPreview-prod').tableName).toBe('prod-table');
    expect(() => tableFromOutputs({ Other: {} })).toThrow(OUTPUTS.deliveryLogTable);
  });
});

describe('formatDeliveries', () => {
  it('says so when nothing was recorded', () => {
    expect(formatDeliveries('c-9', [], 'the local system')).toContain('none recorded');
  });
});

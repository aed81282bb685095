import { describe, expect, it, jest } from '@jest/globals';
import { LEASE_CLOCK_SKEW_MS, pushLeaseMs } from '#core/updates/deps.js';
import { needsOf } from '#lib/functions.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';
import { logger } from '#shared/observability.js';
import { lambdaContext, sqsEvent, sqsRecord } from '#test/helpers/factories.js';
import { completeFunctionEnv } from '#test/helpers/function-env.js';
import { change, Harness } from '#test/unit/updates/harness.js';
import { createWorkerHandler, recordWorkerEvent, workerFromConfig } from '../../../functions/handlers/update-worker.js';

describe('update-worker handler (Powertools batch)', () => {
  it('reports only the failing records, and dead-letters a poison record instead of failing it', async () => {
    const h = new Harness();
    h.product.set('task:1', 1);
    await h.connection('c0');
    await h.subscribe('task:1', 'c0', 'https://tasks.example.com/tasks/1');
    const original = h.stores.subscriptions.listByResource.bind(h.stores.subscriptions);
    h.stores.subscriptions.listByResource = async (resource, page) => {
      if (resource === 'task:broken') throw new Error('boom');
      return original(resource, page);
    };
    const handler = createWorkerHandler(() => h.worker);
    const now = h.clock.now();
    const res = await handler(
      sqsEvent([
        sqsRecord(change('task:1'), { messageId: 'ok-1' }),
        sqsRecord({ type: 'flush', resource: 'task:broken', window: 'w', until: now }, { messageId: 'bad-1' }),
        sqsRecord('this is not json', { messageId: 'poison-1' }),
        sqsRecord({ type: 'flush', resource: 'task:1', window: 'w', until: now }, { messageId: 'ok-2' }),
      ]),
      lambdaContext(),
    );
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'bad-1' }]);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['invalid_message']);
    expect(h.calls).toHaveLength(1);
  });

  it('logs each failed attempt of a record, with its message id, receive count and error', async () => {
    const h = new Harness();
    h.stores.subscriptions.listByResource = async () => {
      throw new Error('table down');
    };
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      const res = await createWorkerHandler(() => h.worker)(
        sqsEvent([
          sqsRecord({ type: 'flush', resource: 'a', window: 'w', until: h.clock.now() }, { messageId: 'm1' }),
          sqsRecord(change('task:1'), { messageId: 'ok' }),
        ]),
        lambdaContext(),
      );
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
      const failed = warn.mock.calls.filter(([message]) => message === 'worker.record_failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.[1]).toMatchObject({ messageId: 'm1', receiveCount: 1, error: new Error('table down') });
    } finally {
      warn.mockRestore();
    }
  });

  it('a fully failed batch is reported record by record, not thrown', async () => {
    const h = new Harness();
    h.stores.subscriptions.listByResource = async () => {
      throw new Error('table down');
    };
    const handler = createWorkerHandler(() => h.worker);
    const now = h.clock.now();
    const res = await handler(
      sqsEvent([
        sqsRecord({ type: 'flush', resource: 'a', window: 'w', until: now }, { messageId: 'm1' }),
        sqsRecord({ type: 'flush', resource: 'b', window: 'w', until: now }, { messageId: 'm2' }),
      ]),
      lambdaContext(),
    );
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
  });

  it('on the last receive a failing record goes to the DLQ with its reason instead of failing', async () => {
    const h = new Harness({ settings: { maxReceiveCount: 5 } });
    h.stores.subscriptions.listByResource = async () => {
      throw new Error('table down');
    };
    const handler = createWorkerHandler(() => h.worker);
    const record = sqsRecord({ type: 'flush', resource: 'a', window: 'w', until: h.clock.now() }, { messageId: 'm1' });
    const res = await handler(
      sqsEvent([{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '5' } }]),
      lambdaContext(),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(h.deadLetters[0]).toMatchObject({
      reason: 'failed_repeatedly',
      receiveCount: 5,
      message: { type: 'flush', resource: 'a' },
    });
    expect(h.deadLetters[0]?.detail).toContain('table down');
  });
});

describe('update-worker composition', () => {
  const env = (extra: Record<string, string> = {}) =>
    parseConfig({
      ...completeFunctionEnv(),
      ...extra,
    });

  it("a push may take the source's deadline and one Notion request: the worker starts none with less left", () => {
    expect(workerFromConfig(env()).settings.pushMs).toBe(2_000 + 10_000);
    expect(workerFromConfig(env({ NOTION_TIMEOUT_MS: '4000', UNFURL_DEADLINE_MS: '1500' })).settings.pushMs).toBe(
      5_500,
    );
  });

  it("a push lease outlasts the worker's invocation as the stack declares its timeout, with a margin for clock skew", () => {
    const { settings } = workerFromConfig(env());
    const timeoutMs = (needsOf('update-worker').timeoutSeconds ?? 0) * 1000;
    expect(settings.invocationMs).toBe(timeoutMs);
    expect(pushLeaseMs(settings)).toBe(timeoutMs + LEASE_CLOCK_SKEW_MS);
    expect(LEASE_CLOCK_SKEW_MS).toBeGreaterThanOrEqual(1_000);
  });

  it('settings under which no push fits in the worker’s invocation fail its init, naming them', () => {
    const build = () => workerFromConfig(env({ NOTION_TIMEOUT_MS: '30000' }));
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/NOTION_TIMEOUT_MS \(30000\) \+ UNFURL_DEADLINE_MS \(2000\) must stay under 25000 ms/);
  });
});

describe('update-worker events', () => {
  it('what degrades the work without failing it is a WARN line, routine outcomes stay DEBUG', () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const debug = jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
    try {
      for (const event of ['delivery_log_failed', 'pushed_marker_failed', 'page_marker_failed', 'read_ahead_failed'])
        recordWorkerEvent(event, { detail: 'ProvisionedThroughputExceededException: throttled' });
      recordWorkerEvent('push_unchanged', { resource: 'task:1' });
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        'delivery_log_failed',
        'pushed_marker_failed',
        'page_marker_failed',
        'read_ahead_failed',
      ]);
      expect(debug.mock.calls.map(([message]) => message)).toEqual(['push_unchanged']);
    } finally {
      warn.mockRestore();
      debug.mockRestore();
    }
  });
});

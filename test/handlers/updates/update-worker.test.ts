import { describe, expect, it, jest } from '@jest/globals';
import { logger } from '#shared/observability.js';
import { lambdaContext, sqsEvent, sqsRecord } from '#test/helpers/factories.js';
import { change, Harness } from '#test/unit/updates/harness.js';
import { createWorkerHandler } from '../../../functions/handlers/update-worker.js';

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

import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { interpretBatchResponse, regionOfArn, toSqsRecord } from '#local/worker-loop.js';

const ARN = 'arn:aws:sqs:eu-west-1:000000000000:nlp-local-update-queue';

describe('SQS message → Lambda SQS record', () => {
  it('has exactly the fields Lambda delivers', () => {
    const message: Message = {
      MessageId: 'm-1',
      ReceiptHandle: 'rh-1',
      Body: '{"resource":"task:1"}',
      MD5OfBody: 'abc',
      MD5OfMessageAttributes: 'def',
      Attributes: {
        ApproximateReceiveCount: '2',
        SentTimestamp: '1700000000000',
        SenderId: 'AIDA',
        ApproximateFirstReceiveTimestamp: '1700000000100',
        AWSTraceHeader: 'Root=1-x',
      },
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'change' },
        blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    };
    expect(toSqsRecord(message, ARN)).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: '{"resource":"task:1"}',
      attributes: {
        ApproximateReceiveCount: '2',
        SentTimestamp: '1700000000000',
        SenderId: 'AIDA',
        ApproximateFirstReceiveTimestamp: '1700000000100',
        AWSTraceHeader: 'Root=1-x',
      },
      messageAttributes: {
        kind: { stringValue: 'change', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: 'abc',
      md5OfMessageAttributes: 'def',
      eventSource: 'aws:sqs',
      eventSourceARN: ARN,
      awsRegion: 'eu-west-1',
    });
  });

  it('reads the region from the queue ARN', () => {
    expect(regionOfArn(ARN)).toBe('eu-west-1');
  });
});

describe('batch response (ReportBatchItemFailures)', () => {
  const ids = ['a', 'b', 'c'];

  it('treats no response, an empty object and empty or null lists as full success', () => {
    for (const r of [undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }]) {
      expect(interpretBatchResponse(r, ids)).toEqual({ ok: true, failedIds: new Set() });
    }
  });

  it('lists the failed records', () => {
    const v = interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'c' }] }, ids);
    expect(v).toEqual({ ok: true, failedIds: new Set(['b', 'c']) });
  });

  it('fails the whole batch on an invalid response', () => {
    for (const r of [
      'ok',
      42,
      [],
      { batchItemFailures: 'b' },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ id: 'b' }] },
      { batchItemFailures: [{ itemIdentifier: 'zzz' }] },
      { batchItemFailures: [null] },
    ]) {
      expect(interpretBatchResponse(r, ids).ok).toBe(false);
    }
  });

  it('failed records are always a subset of the batch (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.constant(undefined)), { maxLength: 12 }),
        (batch, reported) => {
          const v = interpretBatchResponse(
            { batchItemFailures: reported.map((itemIdentifier) => ({ itemIdentifier })) },
            batch,
          );
          const allValid = reported.every((r) => typeof r === 'string' && batch.includes(r));
          expect(v.ok).toBe(allValid);
          if (v.ok) {
            for (const id of v.failedIds) expect(batch).toContain(id);
            expect(v.failedIds).toEqual(new Set(reported));
          }
        },
      ),
    );
  });
});

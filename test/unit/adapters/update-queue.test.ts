import type { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MemoryUpdateQueue } from '#adapters/memory/update-queue.js';
import { batches, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, messageBodies, sqsSafeJson } from '#adapters/sqs/messages.js';
import { SqsUpdateQueue } from '#adapters/sqs/update-queue.js';

describe('batching of update-queue messages', () => {
  it('keeps every message, in order, in batches within SQS limits', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 60_000 }), { maxLength: 60 }), (bodies) => {
        const out = batches(bodies);
        expect(out.flat()).toEqual(bodies);
        for (const b of out) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(MAX_BATCH_ENTRIES);
          const bytes = b.reduce((n, s) => n + Buffer.byteLength(s), 0);
          expect(b.length === 1 || bytes <= MAX_BATCH_BYTES).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('refuses delays SQS would refuse and values that are not JSON', () => {
    expect(() => messageBodies([{}], -1)).toThrow(RangeError);
    expect(() => messageBodies([{}], 1.5)).toThrow(RangeError);
    expect(() => messageBodies([{}], 901)).toThrow(RangeError);
    expect(messageBodies([{ a: 1 }], 900)).toEqual(['{"a":1}']);
    expect(() => messageBodies([undefined], 0)).toThrow(TypeError);
    expect(() => messageBodies(['x'.repeat(MAX_BATCH_BYTES)], 0)).toThrow(RangeError);
  });

  // What SQS accepts in a body (#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF), read in
  // UTF-16 code units the way the strictest emulator (fauxqs) reads it: no surrogate at all.
  const SQS_REFUSES = {
    test: (body: string): boolean =>
      [...Array(body.length).keys()].some((i) => {
        const u = body.charCodeAt(i);
        return !(u === 0x09 || u === 0x0a || u === 0x0d || (u >= 0x20 && u <= 0xd7ff) || (u >= 0xe000 && u <= 0xfffd));
      }),
  };

  it('writes any string as a body SQS accepts, which parses back to the same value', () => {
    const event = { type: 'change', id: 'e-1', resource: 'task:\uFFFF\uFFFE😀\u0001\uD800', fields: ['\uFFFE'] };
    const [body] = messageBodies([event], 0);
    expect(body).toBeDefined();
    expect(SQS_REFUSES.test(body as string)).toBe(false);
    expect(JSON.parse(body as string)).toEqual(event);
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })), (value) => {
        const [out] = messageBodies([value], undefined);
        expect(SQS_REFUSES.test(out as string)).toBe(false);
        expect(JSON.parse(out as string)).toEqual(value);
      }),
      { numRuns: 200 },
    );
    // Text SQS already accepts is left as JSON.stringify writes it.
    expect(sqsSafeJson('{"a":"é ü \\uffff"}')).toBe('{"a":"é ü \\uffff"}');
  });
});

type BatchInput = { Entries: Array<{ Id: string; MessageBody: string; DelaySeconds?: number }> };

const fakeSqs = (answer: (input: BatchInput, call: number) => { Failed?: unknown[] }) => {
  const inputs: BatchInput[] = [];
  const client = {
    async send(command: SendMessageBatchCommand) {
      const input = command.input as BatchInput;
      inputs.push(input);
      return answer(input, inputs.length);
    },
  } as unknown as Pick<SQSClient, 'send'>;
  return { client, inputs };
};

describe('SqsUpdateQueue', () => {
  it('sends the delay with every entry', async () => {
    const { client, inputs } = fakeSqs(() => ({}));
    await new SqsUpdateQueue(client, 'q').send([{ a: 1 }, { a: 2 }], { delaySeconds: 30 });
    expect(inputs[0]?.Entries.map((e) => e.DelaySeconds)).toEqual([30, 30]);
  });

  it('retries entries SQS failed on its side, and only those', async () => {
    const { client, inputs } = fakeSqs((input, call) =>
      call === 1 ? { Failed: [{ Id: input.Entries[1]?.Id, SenderFault: false, Code: 'InternalError' }] } : {},
    );
    await new SqsUpdateQueue(client, 'q').send([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(inputs.map((i) => i.Entries.map((e) => e.MessageBody))).toEqual([
      ['{"a":1}', '{"a":2}', '{"a":3}'],
      ['{"a":2}'],
    ]);
  });

  it('fails loudly on a sender fault or when retries run out', async () => {
    const sender = fakeSqs((input) => ({
      Failed: [{ Id: input.Entries[0]?.Id, SenderFault: true, Code: 'InvalidMessageContents' }],
    }));
    await expect(new SqsUpdateQueue(sender.client, 'q').send([{}])).rejects.toThrow(/InvalidMessageContents/);
    expect(sender.inputs).toHaveLength(1);
    const flaky = fakeSqs((input) => ({
      Failed: [{ Id: input.Entries[0]?.Id, SenderFault: false, Code: 'InternalError' }],
    }));
    await expect(new SqsUpdateQueue(flaky.client, 'q').send([{}])).rejects.toThrow(/1 of 1/);
    expect(flaky.inputs).toHaveLength(3);
  });
});

describe('MemoryUpdateQueue', () => {
  it('records what was sent, as SQS would carry it', async () => {
    const q = new MemoryUpdateQueue();
    await q.send([{ id: 'a' }], { delaySeconds: 5 });
    await q.send([{ id: 'b' }]);
    expect(q.messages).toEqual([
      { body: '{"id":"a"}', delaySeconds: 5 },
      { body: '{"id":"b"}', delaySeconds: 0 },
    ]);
    expect(q.events()).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(q.drain()).toHaveLength(2);
    expect(q.messages).toEqual([]);
    await expect(q.send([{}], { delaySeconds: 1000 })).rejects.toThrow(RangeError);
  });
});

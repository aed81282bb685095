/**
 * `npm run redrive`'s loop against a model of SQS (scripts/redrive.ts): a truncated dead letter it keeps is
 * counted once however often a long run receives it, and is visible again when the run ends.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import { redriveDeadLetters } from '../../../scripts/redrive.js';

interface Held {
  readonly id: string;
  readonly body: string;
  visibleAt: number;
  receipt?: string;
}

/** One queue on a manual clock that moves `sendMs` on each send (a slow run); receipts change on each receive. */
class ModelSqs {
  now = 0;
  private seq = 0;
  readonly dlq: Held[] = [];
  readonly sent: string[] = [];
  constructor(private readonly sendMs: number) {}

  send = async (command: unknown): Promise<Record<string, unknown>> => {
    if (command instanceof GetQueueAttributesCommand) {
      const hidden = this.dlq.filter((m) => m.visibleAt > this.now).length;
      return { Attributes: { ApproximateNumberOfMessagesNotVisible: String(hidden) } };
    }
    if (command instanceof ReceiveMessageCommand) {
      const visible = this.dlq.filter((m) => m.visibleAt <= this.now).slice(0, command.input.MaxNumberOfMessages);
      for (const m of visible) {
        m.visibleAt = this.now + (command.input.VisibilityTimeout ?? 30) * 1000;
        m.receipt = `r${++this.seq}`;
      }
      return { Messages: visible.map((m) => ({ MessageId: m.id, ReceiptHandle: m.receipt, Body: m.body })) };
    }
    if (command instanceof SendMessageCommand) {
      this.now += this.sendMs;
      this.sent.push(command.input.MessageBody ?? '');
      return {};
    }
    if (command instanceof DeleteMessageCommand) {
      const i = this.dlq.findIndex((m) => m.receipt === command.input.ReceiptHandle);
      if (i < 0) throw new Error('ReceiptHandleIsInvalid');
      this.dlq.splice(i, 1);
      return {};
    }
    if (command instanceof ChangeMessageVisibilityBatchCommand) {
      for (const e of command.input.Entries ?? []) {
        const m = this.dlq.find((x) => x.receipt === e.ReceiptHandle);
        if (!m) throw new Error('ReceiptHandleIsInvalid');
        m.visibleAt = this.now + (e.VisibilityTimeout ?? 0) * 1000;
      }
      return {};
    }
    throw new Error(`unexpected ${String(command)}`);
  };
}

const truncated = JSON.stringify({
  type: 'dead-letter',
  reason: 'invalid_message',
  message: '{"type":"nope","filler":"aaaa',
  truncated: { bytes: 262_000, sha256: 'ab'.repeat(32) },
});
const change = (n: number) =>
  JSON.stringify({ type: 'change', id: `e${n}`, resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' });

describe('redriveDeadLetters', () => {
  it('a run longer than the visibility timeout counts a kept letter once, and releases it at the end', async () => {
    const sqs = new ModelSqs(3_000);
    sqs.dlq.push({ id: 'kept', body: truncated, visibleAt: 0 });
    for (let n = 0; n < 35; n++) sqs.dlq.push({ id: `m${n}`, body: change(n), visibleAt: 0 });
    const report = await redriveDeadLetters({ sqs, deadLetterQueueUrl: 'dlq', queueUrl: 'q' });
    // 105 s: the kept letter was received again after its 60 s.
    expect(sqs.now).toBeGreaterThan(60_000);
    expect(report).toEqual({ replayed: 35, reasons: { unknown: 35 }, inFlight: 0, kept: 1 });
    expect(sqs.sent).toHaveLength(35);
    // A rerun at once sees it as kept again, not as in flight.
    expect(sqs.dlq.map((m) => m.id)).toEqual(['kept']);
    expect(sqs.dlq[0]?.visibleAt).toBeLessThanOrEqual(sqs.now);
    const again = await redriveDeadLetters({ sqs, deadLetterQueueUrl: 'dlq', queueUrl: 'q' });
    expect(again).toEqual({ replayed: 0, reasons: {}, inFlight: 0, kept: 1 });
  });
});

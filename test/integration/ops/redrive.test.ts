/**
 * npm run redrive against the embedded SQS: with no queue URL and no endpoint
 * it finds the running npm start's queues, reports progress on stderr and
 * keeps stdout for the result (JSON with --json).
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import { ENV } from '#lib/env-names.js';
import { useEmulators } from '#test/helpers/emulators.js';
import { UsageError } from '../../../scripts/cli.js';
import { main } from '../../../scripts/redrive.js';

describe('npm run redrive (local SQS)', () => {
  const emulators = useEmulators();
  const running = () => ({
    pid: 1,
    port: 3000,
    baseUrl: 'http://127.0.0.1:3000',
    publicBaseUrl: 'http://127.0.0.1:3000',
    dynamodbEndpoint: emulators().dynamodbEndpoint,
    sqsEndpoint: emulators().sqsEndpoint,
    startedAt: new Date().toISOString(),
  });

  it('replays the running system’s dead letters; progress on stderr, the report as JSON on stdout', async () => {
    const { sqs, env } = emulators();
    const dlq = env[ENV.UPDATE_DLQ_URL] as string;
    const original = JSON.stringify({
      type: 'change',
      id: 'e-1',
      resource: 'task:1',
      changed_at: '2026-01-15T12:00:00Z',
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: JSON.stringify({ type: 'dead-letter', reason: 'poison', message: original }),
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: original }));
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      { values: { json: true }, positionals: [] },
      {},
      running,
      (t) => out.push(t),
      (t) => err.push(t),
    );
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual({ replayed: 2, reasons: { poison: 1, unknown: 1 }, inFlight: 0, kept: 0 });
    expect(err[0]).toBe(`redrive: the running npm start's SQS at ${emulators().sqsEndpoint} (pid 1)`);
    expect(err).toContain('redrive: 2 replayed so far');
    expect(err.every((line) => line.startsWith('redrive: '))).toBe(true);
    const moved = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: env[ENV.UPDATE_QUEUE_URL] as string,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect((moved.Messages ?? []).map((m) => m.Body)).toEqual([original, original]);
  }, 30_000);

  it("a dead letter someone else received (the runbook's look, without --visibility-timeout 0) is not replayed: it says so and exits 1", async () => {
    const { sqs, env } = emulators();
    const dlq = env[ENV.UPDATE_DLQ_URL] as string;
    const body = (id: string) =>
      JSON.stringify({ type: 'change', id, resource: 'task:2', changed_at: '2026-01-15T12:00:00Z' });
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: body('held') }));
    // An operator looks at the dead letters and keeps them hidden for 30 s.
    const looked = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, VisibilityTimeout: 30, WaitTimeSeconds: 1 }),
    );
    expect(looked.Messages).toHaveLength(1);
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: body('visible') }));
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      { values: {}, positionals: [] },
      {},
      running,
      (t) => out.push(t),
      (t) => err.push(t),
    );
    expect(out).toEqual(['Replayed 1 message(s) from the dead-letter queue (unknown: 1).']);
    expect(err.at(-1)).toMatch(
      /^redrive: 1 message\(s\) in the dead-letter queue were in flight .* not replayed: run the redrive again once they are visible$/,
    );
    expect(code).toBe(1);
    // Stopping at --max is not running the queue dry: the held message is no reason to fail.
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: body('visible-2') }));
    const json: string[] = [];
    const capped = await main(
      { values: { max: '1', json: true }, positionals: [] },
      {},
      running,
      (t) => json.push(t),
      () => {},
    );
    expect(JSON.parse(json.join(''))).toEqual({ replayed: 1, reasons: { unknown: 1 }, inFlight: 1, kept: 0 });
    expect(capped).toBe(0);
  }, 30_000);

  it('a truncated dead letter (its message too large to wrap) is not replayed: it stays, it says so and exits 1', async () => {
    const { sqs, env } = emulators();
    const dlq = env[ENV.UPDATE_DLQ_URL] as string;
    const whole = JSON.stringify({ type: 'change', id: 'w', resource: 'task:3', changed_at: '2026-01-15T12:00:00Z' });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: JSON.stringify({
          type: 'dead-letter',
          reason: 'invalid_message',
          message: '{"type":"nope","filler":"aaaa',
          truncated: { bytes: 262_000, sha256: 'ab'.repeat(32) },
        }),
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: whole }));
    const json: string[] = [];
    const err: string[] = [];
    const code = await main(
      { values: { json: true }, positionals: [] },
      {},
      running,
      (t) => json.push(t),
      (t) => err.push(t),
    );
    // (The message the test before holds may still be in flight.)
    expect(JSON.parse(json.join(''))).toMatchObject({ replayed: 1, reasons: { unknown: 1 }, kept: 1 });
    expect(err.join('\n')).toMatch(/1 dead letter\(s\) hold only the start of a message .* not replayed/);
    expect(code).toBe(1);
    const moved = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: env[ENV.UPDATE_QUEUE_URL] as string,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    const bodies = (moved.Messages ?? []).map((m) => m.Body);
    expect(bodies).toContain(whole);
    expect(bodies.filter((b) => b?.includes('nope'))).toEqual([]);
    // A rerun at once finds the kept letter visible: kept again, once, and not among the messages in flight.
    const before = JSON.parse(json.join('')) as { inFlight: number };
    const rerun: string[] = [];
    await main(
      { values: { json: true }, positionals: [] },
      {},
      running,
      (t) => rerun.push(t),
      () => {},
    );
    expect(JSON.parse(rerun.join(''))).toMatchObject({ replayed: 0, kept: 1 });
    expect(JSON.parse(rerun.join('')).inFlight).toBeLessThanOrEqual(before.inFlight);
  }, 30_000);

  it('without queues, endpoint or a running npm start it says what to give; bad values are usage errors', async () => {
    const none = () => undefined;
    await expect(main({ values: {}, positionals: [] }, {}, none)).rejects.toThrow(/--dlq and --queue/);
    await expect(main({ values: { max: '0' }, positionals: [] }, {}, none)).rejects.toThrow(UsageError);
    await expect(main({ values: { endpoint: 'nope' }, positionals: [] }, {}, none)).rejects.toThrow(UsageError);
  });
});

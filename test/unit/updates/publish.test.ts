import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import { webhookVerifier } from '#core/changes/verify.js';
import { parseWorkMessage } from '#core/updates/messages.js';
import { demoChangeListener } from '../../../functions/publish/demo-hook.js';
import {
  createQueuePublisher,
  createWebhookPublisher,
  InvalidChangeError,
  toChangeEvent,
  WebhookRejectedError,
} from '../../../functions/publish/index.js';

const SECRET = `whsec_${Buffer.from('publisher-test-secret-0123456789').toString('base64')}`;

describe('publisher helpers', () => {
  it('validates events before they leave the product', () => {
    expect(() => toChangeEvent({ resource: '' })).toThrow(InvalidChangeError);
    expect(() => toChangeEvent({ uri: 'not a url' })).toThrow('"uri" must be an absolute http(s) URL');
    expect(() => toChangeEvent({ resource: 'task:1', changedAt: 'yesterday' })).toThrow('"changed_at"');
    const ok = toChangeEvent({
      resource: 'task:1',
      changedAt: new Date(Date.UTC(2026, 0, 1)),
      fields: ['status'],
      id: 'e1',
    });
    expect(ok).toEqual({
      id: 'e1',
      body: { resource: 'task:1', changed_at: '2026-01-01T00:00:00.000Z', fields: ['status'] },
    });
  });

  it('queue publisher: sends change messages the worker accepts, ten per batch', async () => {
    const sent: SendMessageBatchCommand[] = [];
    const sqs = {
      send: async (command: SendMessageBatchCommand) => {
        sent.push(command);
        return { Failed: [] };
      },
    };
    const publisher = createQueuePublisher({ queueUrl: 'https://sqs.example/q', sqs: sqs as never });
    const { ids } = await publisher.publishMany(Array.from({ length: 12 }, (_, i) => ({ resource: `task:${i}` })));
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    expect(sent.map((c) => c.input.Entries?.length)).toEqual([10, 2]);
    for (const entry of sent.flatMap((c) => c.input.Entries ?? [])) {
      const parsed = parseWorkMessage(entry.MessageBody ?? '');
      expect(parsed.ok && parsed.message.type).toBe('change');
    }
    expect((await publisher.publish({ uri: 'https://x.example.com/tasks/1' })).id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('webhook publisher: signs so that POST /changes verifies it, and reports rejections', async () => {
    const verify = webhookVerifier(SECRET);
    let status = 202;
    const seen: boolean[] = [];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      const headers = init.headers as Record<string, string>;
      seen.push(verify({ headers, rawBody: String(init.body) }, Date.now()).ok);
      return new Response('{}', { status });
    }) as unknown as typeof fetch;
    const publisher = createWebhookPublisher({ url: 'http://127.0.0.1:9/changes', secret: SECRET, fetch: fetchFn });
    expect(await publisher.publish({ resource: 'task:1' })).toMatchObject({ status: 'queued' });
    status = 200;
    expect(await publisher.publish({ resource: 'task:1', id: 'same' })).toEqual({ id: 'same', status: 'duplicate' });
    status = 401;
    await expect(publisher.publish({ resource: 'task:1' })).rejects.toBeInstanceOf(WebhookRejectedError);
    expect(seen).toEqual([true, true, true]);
  });

  it('the demo hook publishes each edit as a resource event', async () => {
    const bodies: unknown[] = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      expect(url).toBe('http://127.0.0.1:3000/changes');
      bodies.push(JSON.parse(String(init.body)));
      return new Response('{}', { status: 202 });
    }) as unknown as typeof fetch;
    const listener = demoChangeListener(
      { baseUrl: 'http://127.0.0.1:3000/', env: { CHANGES_WEBHOOK_SECRET: SECRET } },
      fetchFn,
    );
    await listener({ resource: 'task:7', changedAt: '2026-01-15T12:00:00.000Z', fields: ['title'] });
    expect(bodies).toEqual([{ resource: 'task:7', changed_at: '2026-01-15T12:00:00.000Z', fields: ['title'] }]);
    expect(() => demoChangeListener({ baseUrl: 'http://127.0.0.1:3000', env: {} })).toThrow('CHANGES_WEBHOOK_SECRET');
  });
});

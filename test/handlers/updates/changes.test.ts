import { describe, expect, it } from '@jest/globals';
import { MemoryAuthStateStore, MemoryUpdateQueue } from '#adapters/memory/index.js';
import { signWebhook } from '#core/changes/verify.js';
import { httpEvent, lambdaContext } from '#test/helpers/factories.js';
import { createChangesHandler } from '../../../functions/handlers/changes.js';

const SECRET = `whsec_${Buffer.from('handler-test-secret-0123456789ab').toString('base64')}`;

const setup = () => {
  const queue = new MemoryUpdateQueue();
  const handler = createChangesHandler(() => ({
    clock: { now: () => Date.now() },
    secret: async () => SECRET,
    markers: new MemoryAuthStateStore(),
    queue,
    uriIsPreviewed: (uri) => /^https:\/\/tasks\.example\.com\/tasks\/\d+$/.test(uri),
  }));
  const post = async (
    body: unknown,
    options: { id?: string; at?: number; secret?: string; headers?: Record<string, string> } = {},
  ) => {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const signed = signWebhook(options.secret ?? SECRET, options.id ?? 'msg_1', raw, options.at ?? Date.now());
    const event = httpEvent({
      method: 'POST',
      path: '/changes',
      body: raw,
      headers: { 'content-type': 'application/json', ...signed, ...options.headers },
    });
    const res = await handler(event, lambdaContext());
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers ?? {} };
  };
  return { queue, post };
};

describe('POST /changes', () => {
  it('202 and one change event on the queue', async () => {
    const { queue, post } = setup();
    const res = await post({ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', fields: ['status'] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'queued', id: 'msg_1' });
    expect(queue.events()).toEqual([
      { type: 'change', id: 'msg_1', resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', fields: ['status'] },
    ]);
  });

  it('a repeated webhook-id is accepted once', async () => {
    const { queue, post } = setup();
    const body = { uri: 'https://tasks.example.com/tasks/4', changed_at: '2026-01-15T12:00:00Z' };
    expect((await post(body)).status).toBe(202);
    const again = await post(body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'duplicate', id: 'msg_1' });
    expect(queue.events()).toHaveLength(1);
  });

  it.each([
    ['a wrong secret', { secret: `whsec_${Buffer.from('some-other-secret-0123456789abcd').toString('base64')}` }],
    ['a stale timestamp', { at: Date.now() - 10 * 60_000 }],
    ['a future timestamp', { at: Date.now() + 10 * 60_000 }],
    ['no signature', { headers: { 'webhook-signature': '' } }],
  ])('401 for %s, nothing enqueued', async (_, options) => {
    const { queue, post } = setup();
    const res = await post({ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' }, options);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_signature');
    expect(queue.events()).toHaveLength(0);
  });

  it('401 before any body validation for an unsigned caller', async () => {
    const { post } = setup();
    const res = await post({ nonsense: 1 }, { headers: { 'webhook-signature': 'v1,AAAA' } });
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain('nonsense');
  });

  it.each([
    [{ changed_at: '2026-01-15T12:00:00Z' }, 'one of "uri" or "resource" is required'],
    [{ resource: 'task:1' }, '"changed_at" is required'],
    [{ resource: 'task:1', changed_at: 'Tuesday' }, '"changed_at" must be an ISO-8601'],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', fields: [1] }, '"fields.0"'],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', colour: 'red' }, 'unknown field "colour"'],
    [{ uri: 'https://other.example.com/x', changed_at: '2026-01-15T12:00:00Z' }, 'URL patterns'],
    [[1, 2], 'JSON object'],
  ])('400 naming the problem for %j', async (body, problem) => {
    const { queue, post } = setup();
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_change');
    expect(res.body.error.message).toContain(problem);
    expect(queue.events()).toHaveLength(0);
  });

  it('400 for a body that is not JSON, 415 for another media type; never a 500', async () => {
    const { post } = setup();
    expect((await post('{not json')).status).toBe(400);
    expect((await post('resource=task:1', { headers: { 'content-type': 'text/plain' } })).status).toBe(415);
  });

  it.each([
    ['a body that is not JSON', '{not json', {}],
    ['another media type', 'resource=task:1', { 'content-type': 'text/plain' }],
    ['a form body', 'resource=task:1', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['an empty body', '', {}],
  ])('401, not 400 or 415, for %s with a bad signature: the signature is checked first', async (_l, raw, headers) => {
    const { queue, post } = setup();
    const res = await post(raw, {
      secret: `whsec_${Buffer.from('another-secret-0123456789abcdef').toString('base64')}`,
      headers,
    });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_signature');
    expect(queue.events()).toHaveLength(0);
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MemoryAuthStateStore, MemoryUpdateQueue } from '#adapters/memory/index.js';
import { parseChangeBody, parseChangeMessage, toChangeMessage } from '#core/changes/event.js';
import { ingestChange } from '#core/changes/ingest.js';
import { signWebhook, webhookVerifier } from '#core/changes/verify.js';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-enough-length!!').toString('base64')}`;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('change body contract', () => {
  it.each([
    [{ uri: 'https://x.example.com/tasks/1', changed_at: '2026-01-15T12:00:00Z' }],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00.123+01:00' }],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', fields: ['status', 'title'] }],
  ])('accepts %j', (body) => {
    const r = parseChangeBody(body);
    expect(r).toEqual({ ok: true, value: body });
  });

  it.each([
    [null, 'JSON object'],
    [[], 'JSON object'],
    ['x', 'JSON object'],
    [{ changed_at: '2026-01-15T12:00:00Z' }, 'one of "uri" or "resource" is required'],
    [{ uri: 'https://x.example.com/1', resource: 'r', changed_at: '2026-01-15T12:00:00Z' }, 'not both'],
    [{ resource: 'task:1' }, '"changed_at" is required'],
    [{ resource: 'task:1', changed_at: 'yesterday' }, '"changed_at" must be an ISO-8601'],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00' }, '"changed_at" must be an ISO-8601'],
    [{ resource: 'task:1', changed_at: 12 }, '"changed_at" must be an ISO-8601'],
    [{ resource: '', changed_at: '2026-01-15T12:00:00Z' }, '"resource" must not be empty'],
    [{ uri: 'ftp://x/1', changed_at: '2026-01-15T12:00:00Z' }, '"uri" must be an absolute http(s) URL'],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', fields: 'status' }, '"fields" must be an array'],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', fields: [''] }, '"fields.0" must not be empty'],
    [{ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', extra: 1 }, 'unknown field "extra"'],
    [{ resource: 'task:1', changedAt: '2026-01-15T12:00:00Z' }, 'unknown field "changedAt"'],
  ])('rejects %j naming the problem', (body, problem) => {
    const r = parseChangeBody(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toContain(problem);
  });

  it('property: any valid body becomes a queue message that parses back to the same event', () => {
    const target = fc.oneof(
      fc.record({ resource: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s !== '') }),
      fc.nat(99999).map((n) => ({ uri: `https://x.example.com/tasks/${n}` })),
    );
    fc.assert(
      fc.property(
        target,
        fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
        fc.option(fc.array(fc.constantFrom('a', 'b', 'status'), { maxLength: 3 }), { nil: undefined }),
        fc.uuid(),
        (t, d, fields, id) => {
          const body = { ...t, changed_at: d.toISOString(), ...(fields ? { fields } : {}) };
          const parsed = parseChangeBody(body);
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          const message = toChangeMessage(id, parsed.value);
          expect(parseChangeMessage(JSON.parse(JSON.stringify(message)))).toEqual({ ok: true, value: message });
        },
      ),
    );
  });

  it('property: arbitrary JSON never throws, and is either valid or has a problem', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = parseChangeBody(v);
        if (!r.ok) expect(r.problem.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('Standard Webhooks verification', () => {
  const verify = webhookVerifier(SECRET);
  const body = '{"resource":"task:1","changed_at":"2026-01-15T12:00:00Z"}';

  it('accepts a correct signature', () => {
    const headers = signWebhook(SECRET, 'msg_1', body, NOW);
    expect(verify({ headers, rawBody: body }, NOW)).toEqual({
      ok: true,
      id: 'msg_1',
      timestamp: Math.floor(NOW / 1000) * 1000,
    });
  });

  it('accepts when one of several signatures matches (secret rotation)', () => {
    const headers = signWebhook(SECRET, 'msg_1', body, NOW);
    const other = signWebhook(
      `whsec_${Buffer.from('another-secret-value-0123456789').toString('base64')}`,
      'msg_1',
      body,
      NOW,
    );
    expect(
      verify(
        {
          headers: { ...headers, 'webhook-signature': `${other['webhook-signature']} ${headers['webhook-signature']}` },
          rawBody: body,
        },
        NOW,
      ).ok,
    ).toBe(true);
  });

  it.each([
    ['a changed body', (h: Record<string, string>) => ({ headers: h, rawBody: `${body} ` }), 'bad_signature'],
    [
      'another id',
      (h: Record<string, string>) => ({ headers: { ...h, 'webhook-id': 'msg_2' }, rawBody: body }),
      'bad_signature',
    ],
    [
      'a missing signature',
      (h: Record<string, string>) => ({ headers: { ...h, 'webhook-signature': '' }, rawBody: body }),
      'missing_headers',
    ],
    [
      'a v2 signature only',
      (h: Record<string, string>) => ({
        headers: { ...h, 'webhook-signature': (h['webhook-signature'] ?? '').replace('v1,', 'v2,') },
        rawBody: body,
      }),
      'bad_signature',
    ],
    [
      'a non-numeric timestamp',
      (h: Record<string, string>) => ({ headers: { ...h, 'webhook-timestamp': 'now' }, rawBody: body }),
      'invalid_timestamp',
    ],
  ])('rejects %s', (_, mutate, failure) => {
    const headers = signWebhook(SECRET, 'msg_1', body, NOW);
    expect(verify(mutate(headers), NOW)).toEqual({ ok: false, failure });
  });

  it('rejects a stale or future timestamp even when correctly signed', () => {
    const old = signWebhook(SECRET, 'msg_1', body, NOW - 301_000);
    expect(verify({ headers: old, rawBody: body }, NOW)).toEqual({ ok: false, failure: 'stale_timestamp' });
    const future = signWebhook(SECRET, 'msg_1', body, NOW + 301_000);
    expect(verify({ headers: future, rawBody: body }, NOW)).toEqual({ ok: false, failure: 'future_timestamp' });
    const edge = signWebhook(SECRET, 'msg_1', body, NOW - 299_000);
    expect(verify({ headers: edge, rawBody: body }, NOW).ok).toBe(true);
  });

  it('property: a signature verifies only for its own id and body', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 200 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        (a, b, id) => {
          const headers = signWebhook(SECRET, id, a, NOW);
          expect(verify({ headers, rawBody: b }, NOW).ok).toBe(a === b);
        },
      ),
    );
  });
});

describe('ingestion', () => {
  const setup = () => {
    const markers = new MemoryAuthStateStore();
    const queue = new MemoryUpdateQueue();
    const deps = {
      clock: { now: () => NOW },
      verify: webhookVerifier(SECRET),
      markers,
      queue,
      uriIsPreviewed: (uri: string) => uri.startsWith('https://x.example.com/'),
    };
    const request = (body: unknown, id = 'msg_1', at = NOW) => {
      const rawBody = JSON.stringify(body);
      return { headers: signWebhook(SECRET, id, rawBody, at), rawBody, body };
    };
    return { deps, queue, markers, request };
  };

  it('enqueues one change message carrying the webhook-id', async () => {
    const { deps, queue, request } = setup();
    const r = await ingestChange(
      deps,
      request({ uri: 'https://x.example.com/tasks/1', changed_at: '2026-01-15T12:00:00Z', fields: ['title'] }),
    );
    expect(r).toEqual({ outcome: 'queued', id: 'msg_1', remembered: true });
    expect(queue.events()).toEqual([
      {
        type: 'change',
        id: 'msg_1',
        uri: 'https://x.example.com/tasks/1',
        changed_at: '2026-01-15T12:00:00Z',
        fields: ['title'],
      },
    ]);
  });

  it('accepts a repeated webhook-id once', async () => {
    const { deps, queue, request } = setup();
    const body = { resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' };
    expect((await ingestChange(deps, request(body))).outcome).toBe('queued');
    expect((await ingestChange(deps, request(body))).outcome).toBe('duplicate');
    expect((await ingestChange(deps, request(body, 'msg_2'))).outcome).toBe('queued');
    expect(queue.events()).toHaveLength(2);
  });

  it('checks the signature before the body, and the body before claiming the id', async () => {
    const { deps, queue, request } = setup();
    const bad = { ...request({ nonsense: true }), rawBody: 'tampered' };
    expect((await ingestChange(deps, bad)).outcome).toBe('unauthenticated');
    const invalid = await ingestChange(deps, request({ nonsense: true }));
    expect(invalid).toEqual({ outcome: 'invalid', problem: expect.stringContaining('"nonsense"') });
    // the id was not burnt by the invalid body
    expect(
      (await ingestChange(deps, request({ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' }))).outcome,
    ).toBe('queued');
    expect(queue.events()).toHaveLength(1);
  });

  it('rejects a uri that no unfurl rule matches', async () => {
    const { deps, request } = setup();
    const r = await ingestChange(
      deps,
      request({ uri: 'https://elsewhere.example.com/1', changed_at: '2026-01-15T12:00:00Z' }),
    );
    expect(r).toEqual({ outcome: 'invalid', problem: expect.stringContaining('URL patterns') });
  });

  it('a delivery that stops before its enqueue (timeout, crash) leaves nothing behind: the retry is queued, not a duplicate', async () => {
    const { deps, queue, request } = setup();
    // An SQS call that never answers: the function would time out here, the sender would see a 5xx and retry.
    const hung = { ...deps, queue: { send: () => new Promise<void>(() => undefined) } };
    const body = { resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' };
    void ingestChange(hung, request(body));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await ingestChange(deps, request(body))).toEqual({ outcome: 'queued', id: 'msg_1', remembered: true });
    expect(queue.events()).toHaveLength(1);
  });

  it('an enqueue that fails and a store that cannot release anything: the retry is still queued', async () => {
    const { deps, markers, queue, request } = setup();
    const failing = {
      ...deps,
      queue: { send: async () => Promise.reject(new Error('queue down')) },
      markers: {
        getMarker: markers.getMarker.bind(markers),
        putMarkerIfAbsent: markers.putMarkerIfAbsent.bind(markers),
        putMarker: async () => Promise.reject(new Error('throttled')),
      },
    };
    const body = { resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' };
    await expect(ingestChange(failing, request(body))).rejects.toThrow('queue down');
    expect((await ingestChange(deps, request(body))).outcome).toBe('queued');
    expect(queue.events()).toHaveLength(1);
  });

  it('queued but not remembered when the marker write fails after the enqueue (a retry would be queued again)', async () => {
    const { deps, markers, queue, request } = setup();
    const forgetful = {
      ...deps,
      markers: {
        getMarker: markers.getMarker.bind(markers),
        putMarkerIfAbsent: markers.putMarkerIfAbsent.bind(markers),
        putMarker: async () => Promise.reject(new Error('throttled')),
      },
    };
    const body = { resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' };
    expect(await ingestChange(forgetful, request(body))).toEqual({ outcome: 'queued', id: 'msg_1', remembered: false });
    expect(queue.events()).toHaveLength(1);
  });

  it('releases the id when the enqueue fails, so the sender’s retry goes through', async () => {
    const { deps, queue, request } = setup();
    const failing = { ...deps, queue: { send: async () => Promise.reject(new Error('queue down')) } };
    const body = { resource: 'task:1', changed_at: '2026-01-15T12:00:00Z' };
    await expect(ingestChange(failing, request(body))).rejects.toThrow('queue down');
    expect((await ingestChange(deps, request(body))).outcome).toBe('queued');
    expect(queue.events()).toHaveLength(1);
  });
});

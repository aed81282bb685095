import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  createExternalObjectClient,
  externalObjectClientFromConfig,
  parseRetryAfter,
} from '#adapters/notion/external-object.js';
import { backoffMs, classifyAnswer, type NotionAnswer } from '#core/updates/classify.js';
import { notionBucketPolicy } from '#core/updates/policy.js';
import { localDefaults } from '#local/defaults.js';
import { parseConfig } from '#shared/config.js';

const r = (status: number, extra: Partial<Extract<NotionAnswer, { kind: 'response' }>> = {}): NotionAnswer => ({
  kind: 'response',
  status,
  ...extra,
});

describe("classification of Notion's answers (docs/protocol.md#decisions)", () => {
  it.each([
    [r(200), { action: 'done' }],
    [r(204), { action: 'done' }],
    [r(401, { code: 'unauthorized' }), { action: 'disconnect', code: 'unauthorized' }],
    [r(404, { code: 'object_not_found' }), { action: 'drop', code: 'object_not_found' }],
    [
      r(400, { code: 'validation_error', message: 'm' }),
      { action: 'reject', status: 400, code: 'validation_error', message: 'm' },
    ],
    [r(400, { code: 'missing_version' }), { action: 'reject', status: 400, code: 'missing_version', message: '' }],
    [
      r(403, { code: 'restricted_resource' }),
      { action: 'reject', status: 403, code: 'restricted_resource', message: '' },
    ],
    [
      r(429, { code: 'rate_limited', rateLimitReason: 'public_api_request_blocked', retryAfterSeconds: 5 }),
      { action: 'blocked', code: 'public_api_request_blocked' },
    ],
    [
      r(429, { code: 'rate_limited', rateLimitReason: 'public_api_request_rate_limit', retryAfterSeconds: 12 }),
      { action: 'retry-after', delayMs: 12_000, scope: 'connection', overload: false },
    ],
    [
      r(429, { code: 'rate_limited', rateLimitReason: 'public_api_space_request_rate_limit', retryAfterSeconds: 90 }),
      { action: 'retry-after', delayMs: 90_000, scope: 'workspace', overload: false },
    ],
    [
      r(429, { code: 'rate_limited', rateLimitReason: 'public_api_endpoint_rate_limit', retryAfterSeconds: 1 }),
      { action: 'retry-after', delayMs: 1_000, scope: 'endpoint', overload: false },
    ],
    [r(429), { action: 'retry-after', delayMs: 60_000, scope: 'unknown', overload: false }],
    [
      r(529, { code: 'service_overload', retryAfterSeconds: 2 }),
      { action: 'retry-after', delayMs: 2_000, scope: 'unknown', overload: true },
    ],
    [r(529), { action: 'retry-after', delayMs: 10_000, scope: 'unknown', overload: true }],
    // Retry-After is a value from the network: a 429's or 529's pause lasts at most SQS's largest delay.
    [
      r(429, { rateLimitReason: 'public_api_space_request_rate_limit', retryAfterSeconds: 31_536_000 }),
      { action: 'retry-after', delayMs: 900_000, scope: 'workspace', overload: false },
    ],
    [
      r(529, { retryAfterSeconds: 1e300 }),
      { action: 'retry-after', delayMs: 900_000, scope: 'unknown', overload: true },
    ],
    [r(409, { code: 'conflict_error' }), { action: 'backoff', reason: 'conflict_error' }],
    [r(500, { code: 'internal_server_error' }), { action: 'backoff', reason: 'internal_server_error' }],
    [r(502), { action: 'backoff', reason: 'http_502' }],
    [r(503, { code: 'service_unavailable' }), { action: 'backoff', reason: 'service_unavailable' }],
    [r(504, { code: 'gateway_timeout' }), { action: 'backoff', reason: 'gateway_timeout' }],
    [
      r(503, { code: 'service_unavailable', retryAfterSeconds: 120 }),
      { action: 'backoff', reason: 'service_unavailable', retryAfterMs: 120_000 },
    ],
    // Never sooner than 1 s, never later than SQS's largest delay.
    [r(503, { retryAfterSeconds: 0 }), { action: 'backoff', reason: 'http_503', retryAfterMs: 1_000 }],
    [r(503, { retryAfterSeconds: 86_400 }), { action: 'backoff', reason: 'http_503', retryAfterMs: 900_000 }],
    [{ kind: 'timeout' } as NotionAnswer, { action: 'backoff', reason: 'timeout' }],
    [{ kind: 'network', message: 'x' } as NotionAnswer, { action: 'backoff', reason: 'network_error' }],
  ])('%j → %j', (answer, decision) => {
    expect(classifyAnswer(answer)).toEqual(decision);
  });

  it('property: every HTTP status gets a decision, and only 2xx counts as done', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.option(fc.string(), { nil: undefined }), (status, code) => {
        const d = classifyAnswer(r(status, code === undefined ? {} : { code }));
        expect(d.action === 'done').toBe(status >= 200 && status < 300 && code !== 'rate_limited');
        if (status >= 500 && status !== 529) expect(d.action).toBe('backoff');
      }),
    );
  });

  it('property: backoff grows with the attempt, stays within [half, full] of the step and never exceeds 15 min', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, rnd) => {
        const step = Math.min(900_000, 5_000 * 2 ** (attempt - 1));
        const d = backoffMs(attempt, rnd);
        expect(d).toBeGreaterThanOrEqual(step / 2 - 1);
        expect(d).toBeLessThanOrEqual(step);
      }),
    );
  });
});

describe('bucket policy', () => {
  it('180/min: burst 5, 174/min sustained; 600/min: burst 17, 582/min sustained', () => {
    const p = notionBucketPolicy(180);
    expect(p.capacity).toBe(5);
    expect(p.sustainedPerMinute).toBe(174);
    expect((p.capacity * 60_000) / p.periodMs).toBeCloseTo(174, 6);
    expect(notionBucketPolicy(600)).toMatchObject({ capacity: 17, sustainedPerMinute: 582 });
  });

  it('property: burst + sustained never exceeds the limit; at least 95 % is used from 60/min up', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (n) => {
        const p = notionBucketPolicy(n);
        expect(p.capacity).toBeGreaterThanOrEqual(1);
        // Whole requests in any 60 s span: the burst plus what refills in 60 s.
        expect(p.capacity + Math.floor(p.sustainedPerMinute)).toBeLessThanOrEqual(n);
        expect((p.capacity * 60_000) / p.periodMs).toBeCloseTo(p.sustainedPerMinute, 6);
        if (n >= 60) expect(p.sustainedPerMinute / n).toBeGreaterThanOrEqual(0.95);
      }),
    );
  });
});

describe('external-object client', () => {
  const capture = (response: () => Response | Promise<Response>) => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return response();
    }) as unknown as typeof fetch;
    return { seen, fetchFn };
  };

  it('PATCHes /v1/external/object with the bearer token, Notion-Version and the full body', async () => {
    const { seen, fetchFn } = capture(() => new Response('{}', { status: 200 }));
    const client = createExternalObjectClient({
      baseUrl: 'http://127.0.0.1:9/notion/',
      notionVersion: '2021-08-16',
      fetch: fetchFn,
    });
    const update = { uri: 'https://x/1', operations: [{ path: ['attributes'] as const, set: [{ id: 'title' }] }] };
    expect(await client.patch('secret-token', update)).toEqual({ kind: 'response', status: 200 });
    expect(seen[0]?.url).toBe('http://127.0.0.1:9/notion/v1/external/object');
    expect(seen[0]?.init.method).toBe('PATCH');
    const headers = seen[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toBe('Bearer secret-token');
    expect(headers['notion-version']).toBe('2021-08-16');
    expect(JSON.parse(String(seen[0]?.init.body))).toEqual(update);
  });

  it.each([
    [200, 'done'],
    [429, 'retry-after'],
  ])('a %i whose body does not arrive in time is that status, not a timeout (%s)', async (status, action) => {
    // Notion's status line and headers arrive, then its body stalls past the client's timeout.
    const server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '7' });
      res.write('{"object":');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = createExternalObjectClient({
        baseUrl: `http://127.0.0.1:${port}`,
        notionVersion: 'v',
        timeoutMs: 300,
      });
      const answer = await client.patch('t', { uri: 'u', operations: [] });
      expect(answer).toMatchObject({ kind: 'response', status, message: expect.stringMatching(/body not read/) });
      expect(classifyAnswer(answer).action).toBe(action);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("reads Notion's error object, rate-limit reason and Retry-After", async () => {
    const body = {
      object: 'error',
      status: 429,
      code: 'rate_limited',
      message: 'slow down',
      request_id: 'r1',
      additional_data: { rate_limit_reason: 'public_api_space_request_rate_limit', retry_after: '30' },
    };
    const { fetchFn } = capture(
      () => new Response(JSON.stringify(body), { status: 429, headers: { 'retry-after': '42' } }),
    );
    const client = createExternalObjectClient({ baseUrl: 'http://127.0.0.1:9', notionVersion: 'v', fetch: fetchFn });
    expect(await client.patch('t', { uri: 'u', operations: [] })).toEqual({
      kind: 'response',
      status: 429,
      code: 'rate_limited',
      message: 'slow down',
      requestId: 'r1',
      rateLimitReason: 'public_api_space_request_rate_limit',
      retryAfterSeconds: 42,
    });
  });

  it("keeps at most 200 characters of each string of Notion's error object: they go to logs, the delivery log and dead letters", async () => {
    // Within the 64 KiB of an error body the client reads.
    const long = 'x'.repeat(15_000);
    const body = {
      object: 'error',
      code: long,
      message: long,
      request_id: long,
      additional_data: { rate_limit_reason: long },
    };
    const { fetchFn } = capture(() => new Response(JSON.stringify(body), { status: 400 }));
    const client = createExternalObjectClient({ baseUrl: 'http://127.0.0.1:9', notionVersion: 'v', fetch: fetchFn });
    const answer = await client.patch('t', { uri: 'u', operations: [] });
    expect(answer).toMatchObject({ kind: 'response', status: 400 });
    const fields = answer as Extract<NotionAnswer, { kind: 'response' }>;
    for (const value of [fields.code, fields.requestId, fields.rateLimitReason]) expect(value).toEqual('x'.repeat(200));
    expect(fields.message).toEqual('x'.repeat(500));
  });

  it('falls back to additional_data.retry_after, and survives a non-JSON error body', async () => {
    let n = 0;
    const { fetchFn } = capture(() =>
      ++n === 1
        ? new Response(JSON.stringify({ code: 'rate_limited', additional_data: { retry_after: '7' } }), { status: 429 })
        : new Response('<html>bad gateway</html>', { status: 502 }),
    );
    const client = createExternalObjectClient({ baseUrl: 'http://127.0.0.1:9', notionVersion: 'v', fetch: fetchFn });
    expect(await client.patch('t', { uri: 'u', operations: [] })).toMatchObject({ status: 429, retryAfterSeconds: 7 });
    expect(await client.patch('t', { uri: 'u', operations: [] })).toEqual({ kind: 'response', status: 502 });
  });

  it('turns a timeout and a network failure into answers', async () => {
    const timeout = createExternalObjectClient({
      baseUrl: 'http://127.0.0.1:9',
      notionVersion: 'v',
      timeoutMs: 10,
      fetch: ((_: string, init: RequestInit) =>
        new Promise((_, reject) =>
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
        )) as unknown as typeof fetch,
    });
    expect(await timeout.patch('t', { uri: 'u', operations: [] })).toEqual({ kind: 'timeout' });
    const down = createExternalObjectClient({
      baseUrl: 'http://127.0.0.1:9',
      notionVersion: 'v',
      fetch: (async () => {
        throw new TypeError('fetch failed');
      }) as unknown as typeof fetch,
    });
    expect(await down.patch('t', { uri: 'u', operations: [] })).toEqual({ kind: 'network', message: 'fetch failed' });
  });

  it('the configured client gives up after NOTION_TIMEOUT_MS, not after its own default', async () => {
    const hanging = ((_: string, init: RequestInit) =>
      new Promise((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )) as unknown as typeof fetch;
    const client = externalObjectClientFromConfig(
      parseConfig({ ...localDefaults(3000), NOTION_TIMEOUT_MS: '30' }),
      hanging,
    );
    const started = Date.now();
    expect(await client.patch('t', { uri: 'u', operations: [] })).toEqual({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3', 0)).toBe(3);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 0)).toBe(10);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});

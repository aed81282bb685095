/**
 * Logs and metrics through the shared middy stack, as in Lambda: structured
 * JSON log lines that carry API Gateway's request id as the correlation id and
 * never a token; EMF metric records written once per invocation; and nothing
 * printed outside Lambda (tests, the local runtime) or when no metric was counted.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BadRequestError } from '#shared/errors.js';
import { httpHandler, json } from '#shared/http.js';
import { countMetric, flushMetrics, logger, METRIC, onMetric } from '#shared/observability.js';
import { httpEvent, lambdaContext } from '#test/helpers/factories.js';
import { runLogLevel } from '#test/helpers/output.js';
import { countWorkerEvent } from '../../../functions/handlers/update-worker.js';

let written: string[];
let restore: () => void;
const savedFunctionName = process.env.AWS_LAMBDA_FUNCTION_NAME;

beforeEach(() => {
  written = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown): boolean => {
    written.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  restore = () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
  logger.setLogLevel('INFO');
});

afterEach(() => {
  restore();
  logger.setLogLevel(runLogLevel());
  if (savedFunctionName === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  else process.env.AWS_LAMBDA_FUNCTION_NAME = savedFunctionName;
});

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON log and EMF lines, inspected field by field
type JsonLine = Record<string, any>;

const lines = (): JsonLine[] =>
  written
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as JsonLine);
const emf = () => lines().filter((l) => l._aws?.CloudWatchMetrics);
const logs = () => lines().filter((l) => !l._aws?.CloudWatchMetrics);

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LWFsaWNlIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

const handler = httpHandler(async (request) => {
  logger.info('handling', { access_token: 'secret-token-value', note: `Bearer ${JWT}` });
  countMetric(METRIC.unfurlOutcome, { outcome: 'found' });
  countMetric(METRIC.changeCoalesced);
  countMetric(METRIC.changeCoalesced);
  if (request.query.fail) throw new BadRequestError('nope');
  return json(200, { ok: true });
});

describe('in Lambda', () => {
  beforeEach(() => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'notion-link-preview-unfurl';
  });

  it('log lines are JSON with the request id as correlation id, and tokens are redacted', async () => {
    await handler(httpEvent({ path: '/x', query: { fail: '1' } }), lambdaContext());
    const handling = logs().find((l) => l.message === 'handling');
    expect(handling).toMatchObject({
      function_name: 'notion-link-preview-test',
      function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
      level: 'INFO',
      correlation_id: 'req-0001',
      requestId: 'req-0001',
      route: 'GET /x',
    });
    expect(handling?.access_token).toBe('[redacted]');
    expect(handling?.note).toBe('Bearer [redacted]');
    // The error mapper's line (after the route function) still carries the correlation id.
    expect(logs().find((l) => l.message === 'request rejected')).toMatchObject({ correlation_id: 'req-0001' });
    expect(written.join('')).not.toContain(JWT);
    expect(written.join('')).not.toContain('secret-token-value');
  });

  it('a body rejected while parsing is logged with the correlation id too', async () => {
    const res = await handler(
      httpEvent({ method: 'POST', path: '/x', body: '{not json', headers: { 'content-type': 'application/json' } }),
      lambdaContext(),
    );
    expect(res.statusCode).toBe(400);
    expect(logs().find((l) => l.message === 'request rejected')).toMatchObject({
      correlation_id: 'req-0001',
      route: 'POST /x',
    });
  });

  it('metrics are EMF records: dimensioned ones at once, plain counts summed and flushed once per invocation', async () => {
    await handler(httpEvent({ path: '/x' }), lambdaContext());
    const records = emf();
    const outcome = records.find((r) => r.UnfurlOutcome !== undefined);
    expect(outcome?._aws.CloudWatchMetrics[0].Namespace).toBe('NotionLinkPreview');
    expect(outcome?._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining(['service', 'outcome']));
    expect(outcome).toMatchObject({ outcome: 'found', service: 'notion-link-preview', UnfurlOutcome: 1 });
    const coalesced = records.filter((r) => r.ChangeCoalesced !== undefined);
    expect(coalesced).toHaveLength(1);
    expect(coalesced[0]?.ChangeCoalesced).toEqual([1, 1]);
  });

  it('an invocation that counted nothing prints nothing (no "no metrics" warning)', async () => {
    const quiet = httpHandler(async () => json(200, {}));
    await quiet(httpEvent({ path: '/q' }), lambdaContext());
    flushMetrics();
    expect(written.join('')).toBe('');
  });
});

describe('outside Lambda', () => {
  beforeEach(() => {
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  });

  it('metrics are not printed, but listeners see them', async () => {
    const seen: string[] = [];
    const off = onMetric((name, dimensions) => seen.push(`${name}${JSON.stringify(dimensions)}`));
    try {
      await handler(httpEvent({ path: '/x' }), lambdaContext());
    } finally {
      off();
    }
    expect(emf()).toEqual([]);
    expect(seen).toEqual(['UnfurlOutcome{"outcome":"found"}', 'ChangeCoalesced{}', 'ChangeCoalesced{}']);
  });
});

describe('worker events as metrics', () => {
  it('rate-limit waits by scope, dead letters by reason, coalescing, and plain counts for the rest', () => {
    const seen: string[] = [];
    const off = onMetric((name, dimensions) => seen.push(`${name} ${JSON.stringify(dimensions)}`));
    try {
      countWorkerEvent('push_throttled', { connectionId: 'c1', retryAfterMs: 300 });
      countWorkerEvent('push_rate_limited', { connectionId: 'c1', scope: 'workspace', status: 429 });
      countWorkerEvent('dead_lettered', { reason: 'notion_overloaded' });
      countWorkerEvent('window_opened', { resource: 'task:1' });
      countWorkerEvent('coalesced', { resource: 'task:1' });
      countWorkerEvent('pushed', { resource: 'task:1', connectionId: 'c1', status: 200 });
      countWorkerEvent('push_skipped', { reason: 'subscription_gone' });
      countWorkerEvent('push_skipped', { reason: 'upstream_login_required' });
    } finally {
      off();
    }
    expect(seen).toEqual([
      'RateLimitWait {"scope":"bucket"}',
      'RateLimitWait {"scope":"workspace"}',
      'DeadLettered {"reason":"notion_overloaded"}',
      'WindowOpened {}',
      'ChangeCoalesced {}',
      'Pushed {}',
      'PushSkippedUpstreamLogin {}',
    ]);
  });
});

/**
 * What the shared stack and the deleted-token callback log about a request they
 * refuse or cannot read: the status and code actually answered, and nothing a
 * client sent that could be a token (not as a parameter's name, not as a
 * plain field's value).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryAuthStateStore, MemoryConnectionStore } from '#adapters/memory/index.js';
import { logger } from '#shared/observability.js';
import { httpEvent } from '#test/helpers/factories.js';
import { captureLogs, runLogLevel } from '#test/helpers/output.js';
import { FakeClock, memoryEndings, tokenDependencies } from '#test/unit/oauth/fakes.js';
import { createTokenHandler } from '../../../functions/handlers/oauth-token.js';
import { createUnfurlDeleteHandler } from '../../../functions/handlers/unfurl-delete.js';
import { context, type Result, tokens, unfurlDeps } from '../unfurl/support.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON log lines, inspected field by field
type JsonLine = Record<string, any>;

const SECRET = 'Qx7_k2-PzL0aWvLm2Nf8sTgH1yRb4cDe5FjK6uVw9Xo';
const REFRESH = `f47ac10b-58cc-4372-a567-0e02b2c3d479.${SECRET}`;

let written: string[];
let restore: () => void;

beforeEach(() => {
  written = [];
  restore = captureLogs(written);
  logger.setLogLevel('INFO');
});

afterEach(() => {
  restore();
  logger.setLogLevel(runLogLevel());
});

const lines = (): JsonLine[] =>
  written
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as JsonLine);

const deleteHandler = () => {
  const env = unfurlDeps();
  return createUnfurlDeleteHandler(() => ({
    connections: env.connections,
    subscriptions: env.subscriptions,
    tokens,
    clock: env.deps.clock,
    endings: memoryEndings({ subscriptions: env.subscriptions }),
  }));
};

describe('the deleted-token callback', () => {
  it('a JSON body sent twice as a form: 200, and no log line carries the refresh token', async () => {
    const json = JSON.stringify({ refresh_token: REFRESH });
    const send = async (body: string) =>
      (await deleteHandler()(
        httpEvent({
          method: 'POST',
          path: '/deleted-token',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        context,
      )) as Result;
    // Without values the two copies are omitted parameters (RFC 6749 §3.1); with values, a repeat. The
    // parameter's name is the JSON text, token included: neither answer nor any line may show it.
    expect((await send(`${json}&${json}`)).statusCode).toBe(200);
    expect((await send(`${json}=1&${json}=2`)).statusCode).toBe(200);
    const text = written.join('');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('f47ac10b-58cc-4372-a567-0e02b2c3d479.');
    expect(lines().find((l) => l.message === 'request rejected')).toMatchObject({
      status: 200,
      reason: 'A parameter must not be repeated',
    });
  });

  it('logs plain fields only when their values are of the expected shape', async () => {
    const handler = deleteHandler();
    const send = (body: Record<string, unknown>) =>
      handler(httpEvent({ method: 'POST', path: '/deleted-token', body }), context);
    await send({
      type: 'token_deleted',
      reason: 'user_removed',
      uri: 'https://127.0.0.1:3000/demo/tasks/1',
      workspace_id: '2d3b1f0e-8c7a-4e5b-9f6d-1a2b3c4d5e6f',
    });
    await send({ type: REFRESH, reason: `see ${SECRET}`, uri: `javascript:${SECRET}`, bot_id: SECRET });
    await send({ uri: `https://user:${SECRET}@example.com/x` });
    await send({ uri: `https://example.com/${'a'.repeat(3000)}` });
    const seen = lines()
      .filter((l) => l.message === 'deleted-token callback')
      .map((l) => l.body);
    expect(seen[0]).toEqual({
      type: 'token_deleted',
      reason: 'user_removed',
      uri: 'https://127.0.0.1:3000/demo/tasks/1',
      workspace_id: '2d3b1f0e-8c7a-4e5b-9f6d-1a2b3c4d5e6f',
    });
    expect(seen[1]).toEqual({
      type: `string(${REFRESH.length})`,
      reason: `string(${SECRET.length + 4})`,
      uri: `string(${SECRET.length + 11})`,
      bot_id: `string(${SECRET.length})`,
    });
    expect(seen[2]).toEqual({ uri: expect.stringMatching(/^string\(\d+\)$/) });
    expect(seen[3]).toEqual({ uri: 'string(3020)' });
    expect(written.join('')).not.toContain(SECRET);
  });
});

describe('the request rejected line carries what was answered', () => {
  it('POST /oauth/token with a JSON body: answered and logged as 400 invalid_request', async () => {
    const handler = createTokenHandler(() =>
      tokenDependencies({
        authState: new MemoryAuthStateStore(),
        connections: new MemoryConnectionStore(),
        clock: new FakeClock(),
      }),
    );
    const r = (await handler(
      httpEvent({ method: 'POST', path: '/oauth/token', body: { grant_type: 'refresh_token' } }),
      context,
    )) as Result;
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(r.body ?? '{}').error).toBe('invalid_request');
    const line = lines().find((l) => l.message === 'request rejected');
    expect(line).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('DELETE /unfurl without a token: logged as the 401 it answers', async () => {
    const r = (await deleteHandler()(
      httpEvent({ method: 'DELETE', path: '/unfurl', body: { uri: 'https://127.0.0.1:3000/demo/tasks/1' } }),
      context,
    )) as Result;
    expect(r.statusCode).toBe(401);
    expect(lines().find((l) => l.message === 'request rejected')).toMatchObject({
      status: 401,
      code: 'invalid_token',
    });
  });
});

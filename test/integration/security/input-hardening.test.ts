/**
 * Route-level input handling against the real local system on 127.0.0.1
 * (OS-assigned port): what is logged about a refused request (the status
 * answered, never a token sent as a parameter's name), PKCE challenges S256
 * cannot produce, a repeated parameter in the upstream callback, and the
 * Bearer check of the unfurl routes before anything about the body.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MountEntry } from '#local/mounts.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { logger } from '#shared/observability.js';
import { captureLogs, runLogLevel } from '#test/helpers/output.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON log lines, inspected field by field
type JsonLine = Record<string, any>;

const MOUNTS: MountEntry[] = [
  {
    name: 'idp',
    prefix: '/idp',
    module: './idp/mount.js',
    load: async () => (await import('#local/idp/mount.js')).createMount,
  },
];

const NOTION_REDIRECT = 'https://www.notion.so/externalintegrationauthcallback';
const SECRET = 'Qx7_k2-PzL0aWvLm2Nf8sTgH1yRb4cDe5FjK6uVw9Xo';
const REFRESH = `f47ac10b-58cc-4372-a567-0e02b2c3d479.${SECRET}`;

let system: LocalSystem;
const written: string[] = [];
let restoreStdout: () => void;

beforeAll(async () => {
  logger.setLogLevel('INFO'); // the logs are read below
  restoreStdout = captureLogs(written);
  system = await startLocalSystem({
    port: 0,
    mountEntries: MOUNTS,
    workerLoop: false,
    log: () => undefined,
    env: { LOG_LEVEL: 'INFO' },
  });
}, 30_000);

afterAll(async () => {
  restoreStdout?.();
  logger.setLogLevel(runLogLevel());
  await system?.stop();
});

const lines = (): JsonLine[] =>
  written
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonLine);

/** The `request rejected` line of the request `send` makes (found by the route and the count before it). */
const rejectedLineOf = async (route: string, send: () => Promise<Response>) => {
  const before = lines().filter((l) => l.message === 'request rejected' && l.route === route).length;
  const res = await send();
  const after = lines().filter((l) => l.message === 'request rejected' && l.route === route);
  expect(after.length).toBe(before + 1);
  return { res, line: after[after.length - 1] as JsonLine };
};

const authorizeQuery = (extra: Record<string, string> = {}) =>
  new URLSearchParams({
    client_id: system.env.OAUTH_CLIENT_ID ?? '',
    redirect_uri: NOTION_REDIRECT,
    response_type: 'code',
    code: 'notion-code-1',
    state: 'st-1',
    ...extra,
  });

describe('what is logged about a refused request', () => {
  it('a JSON body sent twice as a form to /deleted-token: 200, and the refresh token is in no log line', async () => {
    // With values, so that the copies repeat: a copy without a value is an omitted parameter (RFC 6749 §3.1).
    const json = JSON.stringify({ refresh_token: REFRESH });
    const body = `${json}=1&${json}=2`;
    const { res, line } = await rejectedLineOf('POST /deleted-token', () =>
      fetch(`${system.baseUrl}/deleted-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      }),
    );
    expect(res.status).toBe(200);
    expect(line).toMatchObject({ status: 200, reason: 'A parameter must not be repeated' });
    expect(written.join('')).not.toContain(SECRET);
  });

  it('POST /oauth/token with a JSON body: answered and logged as 400 invalid_request', async () => {
    const { res, line } = await rejectedLineOf('POST /oauth/token', () =>
      fetch(`${system.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: REFRESH }),
      }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    expect(line).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(written.join('')).not.toContain(SECRET);
  });
});

describe('GET /oauth/authorize and /oauth/callback', () => {
  it('a code_challenge S256 cannot produce: redirected invalid_request with state and iss', async () => {
    for (const challenge of ['x'.repeat(44), `${'x'.repeat(42)}~`, 'x'.repeat(128)]) {
      const q = authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256' });
      const res = await fetch(`${system.baseUrl}/oauth/authorize?${q}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location') ?? '');
      expect(location.origin + location.pathname).toBe(NOTION_REDIRECT);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('state')).toBe('st-1');
      expect(location.searchParams.get('iss')).toBe(system.baseUrl);
    }
  });

  it('a callback that repeats a parameter: a 400 page, not a redirect', async () => {
    const start = await fetch(`${system.baseUrl}/oauth/authorize?${authorizeQuery()}`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const cookie = (start.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^nlp_oauth_pending=.+/);
    const res = await fetch(`${system.baseUrl}/oauth/callback?code=a&code=b&state=s`, {
      headers: { cookie },
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('repeats a parameter');
  });
});

describe('POST and DELETE /unfurl check the Bearer token before the body', () => {
  it.each([
    ['POST', '{not json', 'application/json'],
    ['POST', 'uri=x', 'application/x-www-form-urlencoded'],
    ['DELETE', 'hello', 'text/plain'],
    ['DELETE', '{not json', 'application/json'],
  ])('%s with %s (%s) and no token: 401 with the invalid_token challenge', async (method, body, type) => {
    const res = await fetch(`${system.baseUrl}/unfurl`, { method, headers: { 'content-type': type }, body });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await res.json()).toEqual({ error: { status: 401, message: expect.any(String) } });
    const forged = await fetch(`${system.baseUrl}/unfurl`, {
      method,
      headers: { 'content-type': type, authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' },
      body,
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });
});

/**
 * The local server's log lines: a request line (method, path without query,
 * status, ms), the simulator's push line (uri without query, bot id, status),
 * and the console log's level threshold.
 */
import { describe, expect, it } from '@jest/globals';
import { consoleLog, thresholdOf } from '#local/console-log.js';
import { pushLogLine } from '#local/notion-simulator/api.js';
import { requestLogLine } from '#local/server.js';

describe('requestLogLine', () => {
  it('is method, path, status and whole milliseconds', () => {
    expect(requestLogLine('GET', '/demo/tasks/1', 200, 3.4)).toBe('GET /demo/tasks/1 200 3ms');
    expect(requestLogLine('POST', '/oauth/token', 400, 12.6)).toBe('POST /oauth/token 400 13ms');
  });

  it('never carries the query string or fragment, control characters or odd methods', () => {
    const line = requestLogLine('GET', '/oauth/authorize?code=secret-code&state=s#frag', 302, 1);
    expect(line).toBe('GET /oauth/authorize 302 1ms');
    expect(requestLogLine('GET', '/a\u001b[31m\nFAKE 200', 404, 1)).toBe('GET /a[31mFAKE200 404 1ms');
    expect(requestLogLine('G\nET', '/', 400, 0)).toBe('OTHER / 400 0ms');
    expect(requestLogLine('GET', `/${'x'.repeat(500)}`, 404, 0).length).toBeLessThan(220);
  });

  it('shows a segment shaped like a generated id as :id (the IdP interaction id its cookie holds)', () => {
    expect(requestLogLine('GET', '/idp/interaction/F_2YK17qWcN8bPz4xRt0a', 200, 1)).toBe(
      'GET /idp/interaction/:id 200 1ms',
    );
    expect(requestLogLine('POST', '/idp/interaction/F_2YK17qWcN8bPz4xRt0a/login', 303, 1)).toBe(
      'POST /idp/interaction/:id/login 303 1ms',
    );
    // Words and numbers stay readable.
    expect(requestLogLine('GET', '/demo/tasks/12345678901234567890', 200, 1)).toBe(
      'GET /demo/tasks/12345678901234567890 200 1ms',
    );
    expect(requestLogLine('GET', '/.well-known/oauth-authorization-server', 200, 1)).toBe(
      'GET /.well-known/oauth-authorization-server 200 1ms',
    );
  });

  it('says when the client went away before the answer ended', () => {
    expect(requestLogLine('GET', '/playground/events', 200, 5000, true)).toBe(
      'GET /playground/events 200 5000ms (client went away)',
    );
  });
});

describe('pushLogLine', () => {
  it('names the object uri without its query, the bot and the status', () => {
    const raw = JSON.stringify({ uri: 'http://127.0.0.1:3000/demo/tasks/1?sig=abc#x', operations: [] });
    expect(pushLogLine(raw, 200, 'bot-1')).toBe(
      'PATCH /v1/external/object uri=http://127.0.0.1:3000/demo/tasks/1 bot=bot-1 → 200',
    );
  });

  it('copes with a body that is not JSON or has no uri', () => {
    expect(pushLogLine('{nope', 400)).toBe('PATCH /v1/external/object uri=- → 400');
    expect(pushLogLine('{"operations":[]}', 401)).toBe('PATCH /v1/external/object uri=- → 401');
  });
});

describe('consoleLog', () => {
  const run = (level: string | undefined) => {
    const out: string[] = [];
    const err: string[] = [];
    const log = consoleLog({
      level,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      now: () => new Date('2026-01-02T03:04:05.000Z'),
    });
    log('info', 'a request');
    log('warn', 'a warning');
    log('error', 'an error');
    return { out, err };
  };

  it('prints info to stdout and warnings and errors to stderr, with time and level', () => {
    const { out, err } = run(undefined);
    expect(out).toEqual(['2026-01-02T03:04:05.000Z INFO  a request']);
    expect(err).toEqual(['2026-01-02T03:04:05.000Z WARN  a warning', '2026-01-02T03:04:05.000Z ERROR an error']);
  });

  it('follows LOG_LEVEL', () => {
    expect(run('WARN').out).toEqual([]);
    expect(run('error').err).toHaveLength(1);
    expect(run('SILENT').err).toHaveLength(0);
    expect(thresholdOf('bogus')).toBe(thresholdOf('INFO'));
  });

  it('writes a warning or error without detail as the line alone (no trailing space on the terminal)', () => {
    const calls: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => {
      calls.push(args);
    };
    try {
      const log = consoleLog({ now: () => new Date('2026-01-02T03:04:05.000Z') });
      log('warn', 'state made on another origin');
      log('error', 'failed', 'the detail');
    } finally {
      console.error = original;
    }
    expect(calls).toEqual([
      ['2026-01-02T03:04:05.000Z WARN  state made on another origin'],
      ['2026-01-02T03:04:05.000Z ERROR failed', 'the detail'],
    ]);
  });
});

/**
 * npm start's text view of the handlers' Powertools records (ADR 0161): one short line per record with the
 * keys the code logged, the stack of a logged error below it, every other line unchanged.
 */
import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from '@jest/globals';
import { formatHandlerRecord, parseLogFormat, showHandlerRecordsAsText } from '#local/handler-log.js';
import { logReplacer } from '#shared/observability.js';
import { captureOutput } from '#test/helpers/output.js';

/** The lines a real Powertools logger (the handlers' settings, a local function's context) writes for `log`. */
const recordsOf = (log: (logger: Logger) => void): string[] => {
  const logger = new Logger({ serviceName: 'notion-link-preview', logLevel: 'DEBUG', jsonReplacerFn: logReplacer });
  logger.addContext({
    functionName: 'notion-link-preview-local-oauth-token',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:notion-link-preview-local-oauth-token',
    memoryLimitInMB: '256',
    awsRequestId: 'd4a1a4ce-0781-4064-9ad3-48b33482d532',
  } as never);
  logger.appendKeys({ requestId: 'ZP8ZlbZBcboapQ==', route: 'POST /oauth/token', correlation_id: 'ZP8ZlbZBcboapQ==' });
  const output = captureOutput();
  try {
    log(logger);
  } finally {
    output.stop();
  }
  return output.lines;
};

describe('formatHandlerRecord', () => {
  it('prints time, level, function, message and the logged keys; not the envelope every record carries', () => {
    const [record] = recordsOf((l) => l.info('tokens issued', { connectionId: 'c-1', grant: 'authorization_code' }));
    expect(record).toMatch(/^\{"level":"INFO".*"function_arn"/);
    const line = formatHandlerRecord(record as string);
    expect(line).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}\[oauth-token\] tokens issued connectionId=c-1 grant=authorization_code$/,
    );
    for (const envelope of ['arn:aws', '256', 'd4a1a4ce', 'ZP8ZlbZBcboapQ', 'cold_start', 'sampling_rate', 'route='])
      expect(line).not.toContain(envelope);
  });

  it('quotes values with spaces, shows objects as JSON and keeps the logger’s redactions', () => {
    const [record] = recordsOf((l) =>
      l.warn('request rejected', {
        reason: 'Client authentication failed',
        body: { access_token: 'secret-access-token-value', n: 2 },
        connections: ['a', 'b'],
      }),
    );
    const line = formatHandlerRecord(record as string) as string;
    expect(line).toContain(
      'WARN  [oauth-token] request rejected reason="Client authentication failed" body={"access_token":"[redacted]","n":2} connections=["a","b"]',
    );
    expect(line).not.toContain('secret-access-token-value');
  });

  it('keeps a logged error’s name, message, cause and stack, the stack on the lines below', () => {
    const error = new Error('table not found', { cause: new Error('ResourceNotFoundException') });
    const [record] = recordsOf((l) => l.error('unfurl failed', { error, connectionId: 'c-2' }));
    const lines = (formatHandlerRecord(record as string) as string).split('\n');
    expect(lines[0]).toMatch(/ERROR \[oauth-token\] unfurl failed error="Error: table not found" connectionId=c-2$/);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines[1]).toMatch(/^ {4}at /);
    expect(lines.some((l) => l.includes('handler-log.test.ts'))).toBe(true);
    const cause = lines.indexOf('    error.cause="Error: ResourceNotFoundException"');
    expect(cause).toBeGreaterThan(1);
    expect(lines[cause + 1]).toMatch(/^ {6}at /);
  });

  it('never prints a control character (a terminal escape) that a logged value carries', () => {
    const [record] = recordsOf((l) => l.info('odd \u001b[31mmessage', { uri: 'http://x/\u001b[2J', n: 1 }));
    const line = formatHandlerRecord(record as string) as string;
    expect(line).not.toContain('\u001b');
    expect(line).toContain('"odd \\u001b[31mmessage" uri="http://x/\\u001b[2J" n=1');
  });

  it('leaves everything that is not a record alone', () => {
    for (const other of [
      '2026-12-07T18:09:21.540Z INFO  [http] GET / 200 80ms\n',
      '{"not":"a record"}\n',
      '{"level":"INFO","message":"half',
      '[1,2]\n',
      'plain\n',
    ])
      expect(formatHandlerRecord(other)).toBeUndefined();
  });
});

describe('showHandlerRecordsAsText', () => {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    return { chunks, stream };
  };

  it('rewrites the records written to its streams, passes other writes unchanged, and puts the streams back', () => {
    const { chunks, stream } = sink();
    const restore = showHandlerRecordsAsText([stream]);
    const record =
      '{"level":"INFO","message":"unfurl","timestamp":"2026-12-07T18:09:22.139Z","service":"notion-link-preview","function_name":"notion-link-preview-local-unfurl","outcome":"found"}\n';
    stream.write(record);
    stream.write('banner line\n');
    restore();
    stream.write(record);
    expect(chunks).toEqual(['2026-12-07T18:09:22.139Z INFO  [unfurl] unfurl outcome=found\n', 'banner line\n', record]);
  });
});

describe('parseLogFormat', () => {
  it('takes text or json in any case, text when unset, and nothing else', () => {
    expect(parseLogFormat(undefined)).toBe('text');
    expect(parseLogFormat('')).toBe('text');
    expect(parseLogFormat('JSON')).toBe('json');
    expect(parseLogFormat(' text ')).toBe('text');
    expect(parseLogFormat('pretty')).toBeUndefined();
  });
});

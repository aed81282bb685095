/**
 * Factories for Lambda events and context, shared by handler tests and by the
 * generator of the sample events in events/ (sam local).
 */
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';

export interface HttpEventInput {
  readonly method?: string;
  readonly path?: string;
  /** Route key as in lib/routes.ts; defaults to "<method> <path>". */
  readonly routeKey?: string;
  readonly query?: string | Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: readonly string[];
  /** A string is sent as is; anything else as JSON (content-type set unless given). */
  readonly body?: unknown;
  /** Sends `body` (a string map) as application/x-www-form-urlencoded. */
  readonly form?: Readonly<Record<string, string>>;
  readonly sourceIp?: string;
  readonly domainName?: string;
}

const FIXED_TIME = Date.UTC(2026, 0, 15, 12, 0, 0);

export const httpEvent = (input: HttpEventInput = {}): APIGatewayProxyEventV2 => {
  const method = input.method ?? 'GET';
  const path = input.path ?? '/';
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
  let body: string | undefined;
  if (input.form !== undefined) {
    body = new URLSearchParams(input.form as Record<string, string>).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (typeof input.body === 'string') {
    body = input.body;
  } else if (input.body !== undefined) {
    body = JSON.stringify(input.body);
    headers['content-type'] ??= 'application/json';
  }
  const rawQueryString =
    typeof input.query === 'string' ? input.query : new URLSearchParams(input.query ?? {}).toString();
  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) {
    queryStringParameters[k] = Object.hasOwn(queryStringParameters, k) ? `${queryStringParameters[k]},${v}` : v;
  }
  const domainName = input.domainName ?? 'abc123.execute-api.us-east-1.amazonaws.com';
  headers.host ??= domainName;
  return {
    version: '2.0',
    routeKey: input.routeKey ?? `${method} ${path}`,
    rawPath: path,
    rawQueryString,
    ...(input.cookies ? { cookies: [...input.cookies] } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? 'abc123',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: input.sourceIp ?? '203.0.113.10',
        userAgent: headers['user-agent'] ?? 'test-agent',
      },
      requestId: 'req-0001',
      routeKey: input.routeKey ?? `${method} ${path}`,
      stage: '$default',
      time: '15/Jan/2026:12:00:00 +0000',
      timeEpoch: FIXED_TIME,
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
};

export const sqsRecord = (body: unknown, overrides: Partial<SQSRecord> = {}): SQSRecord => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    messageId: overrides.messageId ?? '059f36b4-87a3-44ab-83d2-661975830a7d',
    receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
    body: text,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(FIXED_TIME),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(FIXED_TIME + 5),
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:notion-link-preview-updates',
    awsRegion: 'us-east-1',
    ...overrides,
  };
};

export const sqsEvent = (records: readonly SQSRecord[]): SQSEvent => ({ Records: [...records] });

/** A fake Lambda context with a generous remaining time. */
export const lambdaContext = (overrides: Partial<Context> = {}): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'notion-link-preview-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:notion-link-preview-test',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/notion-link-preview-test',
  logStreamName: '2026/01/15/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
  ...overrides,
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ROUTES, routeKey } from '#lib/routes.js';
import {
  apiGatewayTime,
  collectHeaders,
  isTextContentType,
  matchPath,
  matchRoute,
  queryParameters,
  type RawRequest,
  selectMount,
  toApiGatewayEvent,
} from '#local/server.js';
import { toHttpRequest } from '#shared/http.js';

const NOW = new Date(Date.UTC(2026, 2, 5, 9, 7, 3, 120));

const raw = (overrides: Partial<RawRequest> = {}): RawRequest => ({
  method: 'GET',
  rawPath: '/oauth/authorize',
  rawQueryString: '',
  rawHeaders: ['Host', '127.0.0.1:3000', 'User-Agent', 'curl/8'],
  body: Buffer.alloc(0),
  sourceIp: '127.0.0.1',
  httpVersion: '1.1',
  localPort: 3000,
  ...overrides,
});

const event = (r: RawRequest, key = 'GET /oauth/authorize') =>
  toApiGatewayEvent(r, { routeKey: key, requestId: 'req-1', now: NOW });

// Header names as node delivers them (any case of a token).
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const headerValue = fc.stringMatching(/^[ -~]{0,40}$/).map((s) => s.trim());
const pathSegment = fc.stringMatching(/^[A-Za-z0-9._~%-]{0,12}$/);

describe('request → API Gateway v2 event', () => {
  it('builds the documented payload 2.0 shape', () => {
    const e = event(raw({ rawQueryString: 'state=abc&client_id=x' }));
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'GET /oauth/authorize',
      rawPath: '/oauth/authorize',
      rawQueryString: 'state=abc&client_id=x',
      queryStringParameters: { state: 'abc', client_id: 'x' },
      isBase64Encoded: false,
      requestContext: {
        accountId: expect.any(String),
        apiId: expect.any(String),
        domainName: '127.0.0.1',
        domainPrefix: '127',
        http: {
          method: 'GET',
          path: '/oauth/authorize',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'curl/8',
        },
        requestId: 'req-1',
        routeKey: 'GET /oauth/authorize',
        stage: '$default',
        time: '05/Mar/2026:09:07:03 +0000',
        timeEpoch: NOW.getTime(),
      },
    });
    expect(e.headers.host).toBe('127.0.0.1:3000');
    expect(e.body).toBeUndefined();
    expect(e.cookies).toBeUndefined();
    expect(e.pathParameters).toBeUndefined();
  });

  it('adds the forwarding headers API Gateway adds', () => {
    const e = event(raw({ rawHeaders: ['X-Forwarded-For', '198.51.100.7'] }));
    expect(e.headers['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
    expect(e.headers['x-forwarded-proto']).toBe('http');
    expect(e.headers['x-forwarded-port']).toBe('3000');
  });

  it('drops hop-by-hop headers, sets the final content-length and adds a trace id', () => {
    const e = event(
      raw({
        method: 'POST',
        rawHeaders: [
          'Connection',
          'keep-alive',
          'Transfer-Encoding',
          'chunked',
          'Keep-Alive',
          'timeout=5',
          'Content-Type',
          'text/plain',
        ],
        body: Buffer.from('hello'),
      }),
    );
    expect(e.headers.connection).toBeUndefined();
    expect(e.headers['transfer-encoding']).toBeUndefined();
    expect(e.headers['keep-alive']).toBeUndefined();
    expect(e.headers['content-length']).toBe('5');
    expect(e.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  it('lower-cases header names and joins repeated headers with commas', () => {
    const { headers } = collectHeaders([
      'Accept',
      'text/html',
      'X-Thing',
      'a',
      'x-thing',
      'b',
      'ACCEPT',
      'application/json',
    ]);
    expect(headers).toEqual({ accept: 'text/html,application/json', 'x-thing': 'a,b' });
  });

  it('moves every Cookie header into the cookies array', () => {
    const e = event(raw({ rawHeaders: ['Cookie', 'a=1; b=2', 'cookie', 'c=3;', 'Host', 'h'] }));
    expect(e.cookies).toEqual(['a=1', 'b=2', 'c=3']);
    expect(e.headers.cookie).toBeUndefined();
    // The shared request parser reads them back.
    expect(toHttpRequest(e).cookies).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('decodes query parameters and joins repeated values with commas', () => {
    expect(queryParameters('a=1&a=2&b=x%20y&c&d=&e=%E2%82%AC')).toEqual({ a: '1,2', b: 'x y', c: '', d: '', e: '€' });
    expect(queryParameters('')).toBeUndefined();
    expect(queryParameters('&&')).toBeUndefined();
    // Malformed percent-encoding is passed through rather than failing the request.
    expect(queryParameters('bad=%E0%A4%A')).toEqual({ bad: '%E0%A4%A' });
  });

  it('keeps __proto__ and friends as plain parameters', () => {
    const q = queryParameters('__proto__=x&constructor=y') as Record<string, string>;
    expect(Object.getPrototypeOf(q)).toBe(Object.prototype);
    expect(q.constructor).toBe('y');
    expect(Object.keys(q)).toEqual(['__proto__', 'constructor']);
  });

  it('passes text bodies as text and everything else base64-encoded', () => {
    const json = event(
      raw({ method: 'POST', rawHeaders: ['Content-Type', 'application/json'], body: Buffer.from('{"a":1}') }),
    );
    expect(json).toMatchObject({ body: '{"a":1}', isBase64Encoded: false });
    expect(json.headers['content-length']).toBe('7');
    const form = event(
      raw({
        method: 'POST',
        rawHeaders: ['Content-Type', 'application/x-www-form-urlencoded'],
        body: Buffer.from('a=1&b=2'),
      }),
    );
    expect(form).toMatchObject({ body: Buffer.from('a=1&b=2').toString('base64'), isBase64Encoded: true });
    // Handlers read both the same way through the shared parser.
    expect(toHttpRequest(form, { accept: ['form'] }).body).toEqual({ a: '1', b: '2' });
    const none = event(raw({ method: 'POST', rawHeaders: [], body: Buffer.from([0xff, 0x00, 0x01]) }));
    expect(none).toMatchObject({ body: '/wAB', isBase64Encoded: true });
  });

  it('classifies content types as API Gateway HTTP APIs do', () => {
    for (const t of [
      'text/plain',
      'text/html; charset=utf-8',
      'application/json',
      'Application/JSON;charset=UTF-8',
      'application/xml',
      'application/javascript',
    ]) {
      expect(isTextContentType(t)).toBe(true);
    }
    for (const t of [
      undefined,
      '',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'image/png',
      'multipart/form-data; boundary=x',
    ]) {
      expect(isTextContentType(t)).toBe(false);
    }
  });

  it('formats requestContext.time like API Gateway', () => {
    expect(apiGatewayTime(new Date(Date.UTC(2020, 11, 1, 0, 0, 9)))).toBe('01/Dec/2020:00:00:09 +0000');
  });

  it('turns any request into a valid v2 event (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'),
        fc.array(pathSegment, { maxLength: 5 }),
        fc.array(
          fc.tuple(fc.stringMatching(/^[A-Za-z0-9%+._~-]{0,8}$/), fc.stringMatching(/^[A-Za-z0-9%+=._~,-]{0,8}$/)),
          { maxLength: 6 },
        ),
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
        fc.array(fc.stringMatching(/^[a-z]{1,5}=[a-z0-9]{0,5}$/), { maxLength: 4 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'image/png'),
        (method, segments, query, headerPairs, cookies, bytes, contentType) => {
          const rawPath = `/${segments.join('/')}`;
          const rawQueryString = query.map(([k, v]) => `${k}=${v}`).join('&');
          const rawHeaders = headerPairs.filter(([n]) => !['cookie', 'content-type'].includes(n.toLowerCase())).flat();
          if (cookies.length > 0) rawHeaders.push('Cookie', cookies.join('; '));
          if (contentType) rawHeaders.push('Content-Type', contentType);
          const body = Buffer.from(bytes);
          const e = event(raw({ method, rawPath, rawQueryString, rawHeaders, body }), `${method} ${rawPath}`);

          expect(e.version).toBe('2.0');
          expect(e.rawPath).toBe(rawPath);
          expect(e.rawQueryString).toBe(rawQueryString);
          expect(e.requestContext.http.method).toBe(method);
          expect(e.requestContext.stage).toBe('$default');
          expect(e.requestContext.routeKey).toBe(e.routeKey);
          for (const [k, v] of Object.entries(e.headers)) {
            expect(k).toBe(k.toLowerCase());
            expect(typeof v).toBe('string');
          }
          expect(e.headers.cookie).toBeUndefined();
          expect(e.cookies ?? []).toEqual(cookies);
          // queryStringParameters exists exactly when the query string has a pair, with at most one key per pair.
          const pairs = rawQueryString.split('&').filter((p) => p !== '');
          if (pairs.length === 0) expect(e.queryStringParameters).toBeUndefined();
          else {
            const n = Object.keys(e.queryStringParameters ?? {}).length;
            expect(n).toBeGreaterThanOrEqual(1);
            expect(n).toBeLessThanOrEqual(pairs.length);
          }
          // The body round-trips exactly.
          if (body.length === 0) {
            expect(e.body).toBeUndefined();
            expect(e.isBase64Encoded).toBe(false);
          } else {
            const back = e.isBase64Encoded
              ? Buffer.from(e.body as string, 'base64')
              : Buffer.from(e.body as string, 'utf8');
            if (e.isBase64Encoded) expect(back.equals(body)).toBe(true);
            else expect(e.body).toBe(body.toString('utf8'));
            expect(e.isBase64Encoded).toBe(!isTextContentType(contentType));
          }
          // It survives a JSON round trip (what Lambda actually receives).
          expect(JSON.parse(JSON.stringify(e))).toEqual(e);
        },
      ),
    );
  });

  it('comma-joins repeated query values in order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9]{0,6}$/), { minLength: 1, maxLength: 6 }), (values) => {
        const q = queryParameters(values.map((v) => `k=${v}`).join('&'));
        expect(q?.k).toBe(values.join(','));
      }),
    );
  });
});

describe('route matching', () => {
  it('matches every contract route by method and exact path', () => {
    for (const r of ROUTES) {
      const m = matchRoute(ROUTES, r.method, r.path);
      expect(m.kind).toBe('route');
      if (m.kind === 'route') expect(`${m.route.method} ${m.route.path}`).toBe(routeKey(r));
    }
  });

  it('answers method-not-allowed with every method of a known path', () => {
    expect(matchRoute(ROUTES, 'PUT', '/unfurl')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE', 'POST'] });
    expect(matchRoute(ROUTES, 'GET', '/deleted-token')).toEqual({
      kind: 'method-not-allowed',
      allow: ['DELETE', 'POST'],
    });
  });

  it('does not match trailing slashes, prefixes or case variants', () => {
    for (const p of ['/unfurl/', '/unfurl/x', '/UNFURL', '/oauth', '/'])
      expect(matchRoute(ROUTES, 'POST', p).kind).toBe('none');
  });

  it('extracts path parameters, including a greedy last one', () => {
    expect(matchPath('/tasks/{id}', '/tasks/42')).toEqual({ id: '42' });
    expect(matchPath('/tasks/{id}', '/tasks/a%20b')).toEqual({ id: 'a b' });
    expect(matchPath('/tasks/{id}', '/tasks/')).toBeUndefined();
    expect(matchPath('/files/{path+}', '/files/a/b/c')).toEqual({ path: 'a/b/c' });
    expect(matchPath('/files/{path+}', '/files/')).toBeUndefined();
  });

  it('prefers an exact route over a templated one', () => {
    const routes = [
      { method: 'GET', path: '/tasks/{id}', handler: 'a' },
      { method: 'GET', path: '/tasks/new', handler: 'b' },
    ];
    const m = matchRoute(routes, 'GET', '/tasks/new');
    expect(m.kind === 'route' && m.route.handler).toBe('b');
  });
});

describe('mount selection', () => {
  const mounts = [{ prefix: '' }, { prefix: '/notion' }, { prefix: '/notion/v1' }, { prefix: '/demo' }];

  it('takes the longest matching prefix on a segment boundary, else the catch-all', () => {
    expect(selectMount(mounts, '/notion/v1/pages')?.prefix).toBe('/notion/v1');
    expect(selectMount(mounts, '/notion/x')?.prefix).toBe('/notion');
    expect(selectMount(mounts, '/notion')?.prefix).toBe('/notion');
    expect(selectMount(mounts, '/notionx')?.prefix).toBe('');
    expect(selectMount(mounts, '/demo/tasks/1')?.prefix).toBe('/demo');
    expect(selectMount(mounts, '/')?.prefix).toBe('');
    expect(selectMount([{ prefix: '/demo' }], '/other')).toBeUndefined();
  });

  it('skips a mount that says a path is not its own', () => {
    const picky = [
      { prefix: '', owns: (p: string) => p === '/' || p.startsWith('/playground/') },
      { prefix: '/demo', owns: () => false },
    ];
    expect(selectMount(picky, '/')?.prefix).toBe('');
    expect(selectMount(picky, '/playground/state')?.prefix).toBe('');
    expect(selectMount(picky, '/nope')).toBeUndefined();
    expect(selectMount(picky, '/demo/x')).toBeUndefined();
  });
});

/**
 * The HTTP adapter on its own, in front of test handlers: what a handler
 * receives from a real HTTP request, and what the client gets back.
 */

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import type { LocalMount } from '#local/mount.js';
import { createLocalServer, type LambdaHttpHandler, type LocalServer, serveHandlers } from '#local/server.js';
import { NotImplementedError } from '#shared/errors.js';
import { httpHandler, json } from '#shared/http.js';

let last: { event: APIGatewayProxyEventV2; context: Context } | undefined;
const errors: string[] = [];

const handlers: Record<string, LambdaHttpHandler> = {
  echo: async (event, context) => {
    last = { event, context };
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
  },
  placeholder: httpHandler(async (request) => {
    throw new NotImplementedError(request.routeKey);
  }) as unknown as LambdaHttpHandler,
  parsed: httpHandler(async (request) => json(200, { body: request.body, cookies: request.cookies }), {
    accept: ['json', 'form'],
  }) as unknown as LambdaHttpHandler,
  throws: async () => {
    throw new Error('secret internals at /srv/app.ts:12');
  },
  invalid: async () => ({ statusCode: 'teapot', body: 'x' }),
  plain: async () => ({ hello: 'world' }),
  binary: async () => ({
    statusCode: 200,
    headers: { 'content-type': 'image/png' },
    isBase64Encoded: true,
    body: Buffer.from([137, 80, 78, 71]).toString('base64'),
  }),
  cookies: async () => ({
    statusCode: 204,
    cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
    headers: { 'x-one': 'y' },
    multiValueHeaders: { 'x-many': ['1', '2'] },
  }),
  slow: () => new Promise(() => undefined),
};

const routes = [
  { method: 'POST', path: '/echo', handler: 'echo' },
  { method: 'GET', path: '/echo', handler: 'echo' },
  { method: 'GET', path: '/tasks/{id}', handler: 'echo' },
  { method: 'GET', path: '/placeholder', handler: 'placeholder' },
  { method: 'POST', path: '/parsed', handler: 'parsed' },
  { method: 'GET', path: '/throws', handler: 'throws' },
  { method: 'GET', path: '/invalid', handler: 'invalid' },
  { method: 'GET', path: '/plain', handler: 'plain' },
  { method: 'GET', path: '/binary', handler: 'binary' },
  { method: 'GET', path: '/cookies', handler: 'cookies' },
  { method: 'GET', path: '/slow', handler: 'slow' },
  { method: 'GET', path: '/demo/route-wins', handler: 'echo' },
];

const mount = (name: string, prefix: string, fail = false): LocalMount => ({
  name,
  prefix,
  handle: async (req, res) => {
    if (fail) throw new Error('mount exploded');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${name} ${req.url}`);
  },
});

let local: LocalServer;
let base: string;

beforeAll(async () => {
  local = createLocalServer({
    routes,
    handlerFor: (name) => handlers[name],
    mounts: () => [
      mount('catch-all', ''),
      mount('demo', '/demo'),
      mount('demo-api', '/demo/api'),
      mount('broken', '/broken', true),
    ],
    integrationTimeoutMs: 300,
    maxBodyBytes: 1024,
    onError: (message) => errors.push(message),
  });
  const port = await local.listen(0);
  base = `http://127.0.0.1:${port}`;
});

afterAll(() => local.close());

/** node:http rather than fetch, to send repeated headers and cookies exactly. */
const send = (method: string, path: string, headers: Array<[string, string]>, body?: Buffer | string) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (resolve, reject) => {
      // Raw header arrays get no Host from node: add it like any client would.
      const flat = [['Host', new URL(base).host], ...headers].flat();
      const req = httpRequest(
        `${base}${path}`,
        { method, headers: flat as unknown as Record<string, string> },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    },
  );

describe('local HTTP adapter', () => {
  it('hands the handler a faithful v2 event built from the real request', async () => {
    const res = await send(
      'POST',
      '/echo?a=1&a=2&b=%C3%A9&empty=',
      [
        ['Content-Type', 'application/json'],
        ['X-Multi', 'one'],
        ['X-Multi', 'two'],
        ['Cookie', 'sid=abc; theme=dark'],
        ['User-Agent', 'adapter-test/1'],
      ],
      '{"hello":"world"}',
    );
    expect(res.status).toBe(200);
    const e = last?.event as APIGatewayProxyEventV2;
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'POST /echo',
      rawPath: '/echo',
      rawQueryString: 'a=1&a=2&b=%C3%A9&empty=',
      queryStringParameters: { a: '1,2', b: 'é', empty: '' },
      cookies: ['sid=abc', 'theme=dark'],
      body: '{"hello":"world"}',
      isBase64Encoded: false,
      requestContext: {
        http: {
          method: 'POST',
          path: '/echo',
          sourceIp: '127.0.0.1',
          userAgent: 'adapter-test/1',
          protocol: 'HTTP/1.1',
        },
        stage: '$default',
        routeKey: 'POST /echo',
      },
    });
    expect(e.headers['x-multi']).toBe('one,two');
    expect(e.headers.cookie).toBeUndefined();
    expect(e.requestContext.requestId).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(last?.context.functionName).toMatch(/echo$/);
    expect(last?.context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });

  it('fills path parameters from templated routes', async () => {
    await send('GET', '/tasks/42', []);
    expect(last?.event.pathParameters).toEqual({ id: '42' });
    expect(last?.event.routeKey).toBe('GET /tasks/{id}');
  });

  it('delivers form posts base64-encoded, and the shared parser reads them', async () => {
    const res = await send(
      'POST',
      '/parsed',
      [
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Cookie', 'a=1'],
      ],
      'x=1&y=two+words',
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ body: { x: '1', y: 'two words' }, cookies: { a: '1' } });
  });

  it('a malformed JSON body gets 400 JSON from the shared stack', async () => {
    const res = await send('POST', '/parsed', [['Content-Type', 'application/json']], '{nope');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: { status: 400, code: 'invalid_json' } });
  });

  it('a placeholder handler answers 501 JSON', async () => {
    const res = await send('GET', '/placeholder', []);
    expect(res.status).toBe(501);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: { status: 501, code: 'not_implemented' } });
  });

  it('a thrown error or an invalid result is a 500 JSON without internals', async () => {
    for (const path of ['/throws', '/invalid']) {
      const res = await send('GET', path, []);
      expect(res.status).toBe(500);
      const text = res.body.toString();
      expect(JSON.parse(text)).toEqual({ error: { status: 500, code: 'internal_error', message: 'Internal error' } });
      expect(text).not.toContain('secret');
      expect(text).not.toContain('teapot');
    }
    expect(errors.some((e) => e.includes('GET /throws'))).toBe(true);
  });

  it('a client that goes away in the middle of its body is no error of the server', async () => {
    const before = errors.length;
    await new Promise<void>((done) => {
      const socket = connect(Number(new URL(base).port), '127.0.0.1', () => {
        socket.write('POST /echo HTTP/1.1\r\nHost: x\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\nhalf');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => done());
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(errors.slice(before)).toEqual([]);
    expect((await send('GET', '/plain', [])).status).toBe(200);
  });

  it('infers 200 application/json for a result without statusCode', async () => {
    const res = await send('GET', '/plain', []);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body.toString())).toEqual({ hello: 'world' });
  });

  it('decodes base64 response bodies', async () => {
    const res = await send('GET', '/binary', []);
    expect(res.headers['content-type']).toBe('image/png');
    expect([...res.body]).toEqual([137, 80, 78, 71]);
  });

  it('sends cookies as Set-Cookie headers and multi-value headers as repeated lines', async () => {
    const res = await send('GET', '/cookies', []);
    expect(res.status).toBe(204);
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(res.headers['x-one']).toBe('y');
    expect(res.headers['x-many']).toBe('1, 2');
  });

  it('answers 504 when a handler does not answer in time', async () => {
    const res = await send('GET', '/slow', []);
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: { code: 'gateway_timeout' } });
  });

  it('routes first, then the longest mount prefix, then the catch-all mount', async () => {
    expect((await send('GET', '/demo/route-wins', [])).headers['content-type']).toBe('application/json');
    expect((await send('GET', '/demo/api/tasks', [])).body.toString()).toBe('demo-api /demo/api/tasks');
    expect((await send('GET', '/demo/tasks/1', [])).body.toString()).toBe('demo /demo/tasks/1');
    expect((await send('GET', '/demox', [])).body.toString()).toBe('catch-all /demox');
  });

  it("answers the browser's icon request with 204, before the catch-all mount", async () => {
    const res = await send('GET', '/favicon.ico', []);
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect(res.headers['cache-control']).toContain('max-age');
  });

  it('a failing mount is a 500 JSON, and the server keeps serving', async () => {
    const res = await send('GET', '/broken/x', []);
    expect(res.status).toBe(500);
    expect(res.body.toString()).not.toContain('exploded');
    expect((await send('GET', '/plain', [])).status).toBe(200);
  });

  it('wrong method on a route path is 405 with Allow; /healthz too', async () => {
    const res = await send('DELETE', '/echo', []);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST');
    expect((await send('POST', '/healthz', [])).status).toBe(405);
  });

  it('rejects bodies over the limit with 413, declared or streamed', async () => {
    const declared = await send('POST', '/echo', [['Content-Type', 'application/json']], 'x'.repeat(2048));
    expect(declared.status).toBe(413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${base}/echo`,
        { method: 'POST', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write('y'.repeat(512));
      req.end();
    });
    expect(streamed).toBe(413);
  });

  it('an unknown route without a catch-all mount is 404 JSON', async () => {
    const bare = createLocalServer({ routes, handlerFor: (n) => handlers[n] });
    const port = await bare.listen(0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/nowhere?x=1`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { status: 404, code: 'not_found' } });
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await bare.close();
    }
  });

  it('answers 503 starting, not 404, for a path nothing serves yet while the parts load', async () => {
    let starting = true;
    const early = createLocalServer({ routes, handlerFor: (n) => handlers[n], starting: () => starting });
    const port = await early.listen(0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { status: 503, code: 'starting' } });
      starting = false;
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    } finally {
      await early.close();
    }
  });

  it('logs the path the client asked for, even when a mount rewrites req.url (as the /idp mount does)', async () => {
    const lines: string[] = [];
    const rewriting: LocalMount = {
      name: 'idp',
      prefix: '/idp',
      handle: async (req, res) => {
        req.url = (req.url ?? '/').slice('/idp'.length) || '/';
        res.writeHead(303, { location: '/idp/interaction/x' });
        res.end();
      },
    };
    const logged = createLocalServer({
      routes,
      handlerFor: (n) => handlers[n],
      mounts: () => [rewriting],
      requestLog: (line) => lines.push(line),
    });
    const port = await logged.listen(0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/idp/auth?client_id=c&state=s`, { redirect: 'manual' });
      expect(res.status).toBe(303);
      await res.arrayBuffer();
      const deadline = Date.now() + 2000;
      while (lines.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(lines).toEqual([expect.stringMatching(/^GET \/idp\/auth 303 \d+ms$/)]);
    } finally {
      await logged.close();
    }
  });

  it('serves a single handler on its own', async () => {
    const served = await serveHandlers([
      { method: 'GET', path: '/one', handler: async (event) => ({ statusCode: 200, body: event.routeKey }) },
    ]);
    try {
      const res = await fetch(`${served.baseUrl}/one`);
      expect(await res.text()).toBe('GET /one');
      expect((await fetch(`${served.baseUrl}/two`)).status).toBe(404);
    } finally {
      await served.close();
    }
  });

  it('survives arbitrary bytes and malformed requests on the socket (property)', async () => {
    const port = Number(new URL(base).port);
    const exchange = (payload: Buffer) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let out = '';
        socket.on('data', (c: Buffer) => {
          out += c.toString('latin1');
        });
        socket.on('error', () => resolve(out));
        socket.on('close', () => resolve(out));
        socket.setTimeout(2_000, () => socket.destroy());
        socket.end(payload);
      });
    const requestLine = fc
      .tuple(
        fc.constantFrom('GET', 'POST', 'DELETE', 'BREW', ''),
        fc.constantFrom('/echo', '/parsed', '/throws', '/demo/x', '*', 'http://x/echo', '/%zz', ''),
        fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', ''),
      )
      .map(([m, p, v]) => `${m} ${p} ${v}\r\n`);
    const headers = fc
      .array(fc.stringMatching(/^[ -~]{0,30}$/), { maxLength: 5 })
      .map((hs) => hs.map((h) => `${h}\r\n`).join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc
            .tuple(requestLine, headers, fc.string({ maxLength: 50 }))
            .map(([l, h, b]) => Buffer.from(`${l}Host: x\r\n${h}\r\n${b}`, 'latin1')),
        ),
        async (payload) => {
          const answer = await exchange(payload);
          // Either no answer (incomplete request) or a well-formed status line, never a crash.
          if (answer !== '') expect(answer).toMatch(/^HTTP\/1\.[01] \d{3} /);
          expect(answer).not.toContain('secret internals');
        },
      ),
      { numRuns: 60 },
    );
    expect((await send('GET', '/plain', [])).status).toBe(200);
  }, 30_000);
});

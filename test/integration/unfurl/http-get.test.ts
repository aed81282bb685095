/**
 * The source adapters' HTTP GET (functions/adapters/sources/http-get.ts: the
 * global fetch with the adapters' limits) against a real HTTP server on
 * 127.0.0.1: answers, limits, failures, the deadline and connection reuse.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { sourceGet } from '#adapters/sources/http-get.js';
import { MAX_SOURCE_BODY_BYTES, SourceUnavailableError } from '#core/sources/source-adapter.js';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
const routes = new Map<string, Route>();
const connections = new Set<Socket>();
let endlessClosed = false;
let connectionCount = 0;
/** Each request: its path, its number on its connection and its headers. */
const seen: Array<{ path: string; nth: number; headers: IncomingMessage['headers'] }> = [];

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const socket = req.socket as Socket & { served?: number };
    socket.served = (socket.served ?? 0) + 1;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.push({ path, nth: socket.served, headers: req.headers });
    const route = routes.get(path);
    if (route) route(req, res);
    else json(res, 404, { error: 'no such route' });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    connectionCount++;
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  routes.set('/task', (_req, res) => json(res, 200, { id: '1', title: 'Ship it' }));
  routes.set('/bom', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`\ufeff${JSON.stringify({ ok: true })}`);
  });
  routes.set('/forbidden', (_req, res) => json(res, 403, { error: 'no' }));
  routes.set('/redirect', (_req, res) => {
    res.writeHead(302, { location: '/task' });
    res.end();
  });
  routes.set('/not-json', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"unterminated": ');
  });
  routes.set('/declared-too-big', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': MAX_SOURCE_BODY_BYTES + 1 });
    res.write('{');
  });
  routes.set('/streamed-too-big', (_req, res) => {
    // No content-length: chunked, and larger than the limit only once read.
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = 'x'.repeat(64 * 1024);
    res.write('["');
    for (let i = 0; i < 5; i++) res.write(chunk);
    res.end('"]');
  });
  const encoded = (coding: string, body: Buffer) => (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': coding });
    res.end(body);
  };
  routes.set('/gzip', encoded('gzip', gzipSync(JSON.stringify({ coded: 'gzip' }))));
  routes.set('/br', encoded('br', brotliCompressSync(JSON.stringify({ coded: 'br' }))));
  // A few hundred bytes on the wire, a megabyte once decoded.
  routes.set('/gzip-bomb', encoded('gzip', gzipSync(`["${'0'.repeat(1024 * 1024)}"]`)));
  routes.set('/gzip-corrupt', encoded('gzip', Buffer.from('this is not gzip at all')));
  routes.set('/endless-404', (req, res) => {
    // An error page of unknown length that never ends: whoever discards it must not read it all.
    res.writeHead(404, { 'content-type': 'text/html' });
    const timer = setInterval(() => res.write('x'.repeat(16 * 1024)), 5);
    req.socket.once('close', () => {
      clearInterval(timer);
      endlessClosed = true;
    });
  });
  routes.set('/slow', (_req, res) => {
    setTimeout(() => json(res, 200, { late: true }), 2_000).unref();
  });
  routes.set('/cut', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
    res.write('{"partial": ');
    setTimeout(() => res.socket?.destroy(), 20);
  });
});

afterAll(async () => {
  for (const socket of connections) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

const init = (signal = new AbortController().signal) => ({ headers: { accept: 'application/json' }, signal });

const rejection = async (promise: Promise<unknown>): Promise<SourceUnavailableError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceUnavailableError);
  return error as SourceUnavailableError;
};

describe('sourceGet (the global fetch)', () => {
  const get = sourceGet();
  it('answers the status and the JSON body, and sends the headers it was given', async () => {
    const answer = await get(`${base}/task`, {
      headers: { accept: 'application/json', authorization: 'Bearer a.b.c' },
      signal: new AbortController().signal,
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ id: '1', title: 'Ship it' });
    expect(seen[0]?.headers.authorization).toBe('Bearer a.b.c');
    expect(seen[0]?.headers.accept).toBe('application/json');
  });

  it('reads a body that starts with a byte order mark', async () => {
    expect(await (await get(`${base}/bom`, init())).json()).toEqual({ ok: true });
  });

  it('answers other statuses without reading the body, and follows no redirect', async () => {
    const forbidden = await get(`${base}/forbidden`, init());
    expect(forbidden.status).toBe(403);
    forbidden.discard();
    const redirect = await get(`${base}/redirect`, init());
    expect(redirect.status).toBe(302);
    redirect.discard();
    expect(seen.map((s) => s.path)).toEqual(['/forbidden', '/redirect']);
  });

  it('turns a body that is not JSON into "no answer"', async () => {
    const error = await rejection((await get(`${base}/not-json`, init())).json());
    expect(error.message).toBe('source answered with invalid JSON');
  });

  it.each(['/declared-too-big', '/streamed-too-big'])('stops reading a body over the limit: %s', async (path) => {
    const error = await rejection((await get(`${base}${path}`, init())).json());
    expect(error.message).toBe('source answered with an oversized body');
  });

  it.each([
    ['/gzip', 'gzip'],
    ['/br', 'br'],
  ])('decodes a compressed body: %s', async (path, coded) => {
    expect(await (await get(`${base}${path}`, init())).json()).toEqual({ coded });
  });

  it('counts the limit in decoded bytes (a compressed body that unpacks too large)', async () => {
    const error = await rejection((await get(`${base}/gzip-bomb`, init())).json());
    expect(error.message).toBe('source answered with an oversized body');
  });

  it('a body that does not decode is "no answer"', async () => {
    await rejection((await get(`${base}/gzip-corrupt`, init())).json());
  });

  it('a closed port is "source unreachable"', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await rejection(get(`http://127.0.0.1:${port}/task`, init()));
    expect(error.message).toBe('source unreachable');
  });

  it('ends the request when the signal aborts: "source missed the deadline"', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('deadline')), 50);
    const started = Date.now();
    const error = await rejection(get(`${base}/slow`, init(controller.signal)));
    expect(error.message).toBe('source missed the deadline');
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('a connection cut while the body is read is "no answer"', async () => {
    await rejection((await get(`${base}/cut`, init())).json());
  });
});

describe('sourceGet: connections and refusals', () => {
  const get = sourceGet();

  it('keeps the connection alive between requests', async () => {
    const before = connectionCount;
    for (let i = 0; i < 3; i++) await (await get(`${base}/task`, init())).json();
    expect(connectionCount - before).toBeLessThanOrEqual(1);
  });

  it('a discarded body of unknown length ends its connection instead of being read', async () => {
    const answer = await get(`${base}/endless-404`, init());
    expect(answer.status).toBe(404);
    answer.discard();
    for (let i = 0; i < 100 && !endlessClosed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(endlessClosed).toBe(true);
    expect(await (await get(`${base}/task`, init())).json()).toEqual({ id: '1', title: 'Ship it' });
  });

  it.each([['ftp://127.0.0.1/task'], ['not a url']])('refuses %s without a request', async (url) => {
    await rejection(get(url, init()));
    expect(seen).toHaveLength(0);
  });

  it('a header value fetch refuses is "no answer", not a crash', async () => {
    await rejection(get(`${base}/task`, { headers: { 'x-bad': 'a\r\nb' }, signal: new AbortController().signal }));
    expect(seen).toHaveLength(0);
  });
});

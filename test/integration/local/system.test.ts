/**
 * The whole local system, as `npm start` runs it, on an OS-assigned port.
 */

import { request } from 'node:http';
import { connect } from 'node:net';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import { ENV } from '#lib/env-names.js';
import { ROUTES } from '#lib/routes.js';
import { useLocalSystem } from '#test/helpers/system.js';

const received: SQSEvent[] = [];
let onBatch: (() => void) | undefined;

const system = useLocalSystem({
  workerHandler: async (event) => {
    received.push(event);
    onBatch?.();
    return { batchItemFailures: [] };
  },
});

/** Sends raw bytes and returns whatever comes back before the server closes the connection. */
const rawExchange = (port: number, payload: string | Buffer): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(e),
    );
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.setTimeout(5_000, () => socket.destroy());
    socket.end(payload);
  });

const expectJsonError = async (res: Response, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { status: number; message: string } };
  expect(body.error.status).toBe(status);
  expect(typeof body.error.message).toBe('string');
  return body;
};

describe('local system', () => {
  it('listens on 127.0.0.1 and writes its settings into process.env', () => {
    const s = system();
    expect(s.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.env[ENV.PUBLIC_BASE_URL]).toBe(s.baseUrl);
    expect(s.env[ENV.NOTION_API_BASE_URL]).toBe(`${s.baseUrl}/notion`);
    expect(s.env[ENV.OIDC_ISSUER]).toBe(`${s.baseUrl}/idp`);
    expect(process.env[ENV.UPDATE_QUEUE_URL]).toBe(s.env[ENV.UPDATE_QUEUE_URL]);
    expect(process.env[ENV.DYNAMODB_ENDPOINT]).toBe(s.emulators.dynamodbEndpoint);
  });

  it('GET /healthz is 200 with every part up', async () => {
    const res = await fetch(`${system().baseUrl}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; parts: Record<string, string> };
    expect(body.status).toBe('up');
    expect(body.parts).toMatchObject({ http: 'up', dynamodb: 'up', sqs: 'up', 'worker-loop': 'up' });
    for (const r of ROUTES) expect(body.parts[`handler:${r.handler}`]).toBe('up');
    for (const m of system().mounts) expect(body.parts[`mount:${m.name}`]).toBe('up');
    expect(Object.values(body.parts).every((p) => p === 'up')).toBe(true);
  });

  it('an unknown path is 404 JSON, even with the playground mounted at /', async () => {
    for (const path of ['/nope', '/oauth/nope', '/unfurl/extra']) {
      const res = await fetch(`${system().baseUrl}${path}`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await res.json()) as { error: { status: number } };
      expect(body.error.status).toBe(404);
    }
    const playground = await fetch(`${system().baseUrl}/`);
    expect(playground.status).toBe(200);
    expect(playground.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('a known path with the wrong method is 405 JSON with Allow', async () => {
    const res = await fetch(`${system().baseUrl}/unfurl`, { method: 'PUT' });
    await expectJsonError(res, 405);
    expect(res.headers.get('allow')).toBe('DELETE, POST');
    const token = await fetch(`${system().baseUrl}/oauth/token`, { method: 'GET' });
    await expectJsonError(token, 405);
    expect(token.headers.get('allow')).toBe('POST');
  });

  it('a malformed JSON body gets a 4xx JSON error', async () => {
    for (const path of ['/unfurl', '/changes']) {
      const res = await fetch(`${system().baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token' },
        body: '{"uri": ',
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      await res.json();
    }
  });

  it('no route answers an empty or junk request with a 5xx other than 501, or with a stack trace', async () => {
    for (const r of ROUTES) {
      for (const body of [undefined, 'junk', '{"a":']) {
        const res = await fetch(`${system().baseUrl}${r.path}?x=%ZZ&x=2`, {
          method: r.method,
          headers: { 'content-type': 'application/json', cookie: 'a=%ZZ; b' },
          ...(body !== undefined && r.method !== 'GET' ? { body } : {}),
        });
        const text = await res.text();
        expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({
          route: `${r.method} ${r.path}`,
          status: res.status >= 500 && res.status !== 501 ? 'not a 5xx' : res.status,
        });
        expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
      }
    }
  });

  it("a body over API Gateway's 10 MB limit is 413", async () => {
    const res = await fetch(`${system().baseUrl}/unfurl`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    await expectJsonError(res, 413);
  });

  it('answers request-line junk and oversized headers, and keeps serving', async () => {
    const { port } = system();
    expect(await rawExchange(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawExchange(port, Buffer.from([0, 255, 1, 254, 13, 10, 13, 10]))).toMatch(/^HTTP\/1\.1 400 /);
    const huge = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
    expect(await rawExchange(port, huge)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await rawExchange(port, 'GET * HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    // A request cut off in the middle of its body.
    expect(await rawExchange(port, 'POST /unfurl HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"a"')).toBe(
      '',
    );
    // Still serving, and healthy: on a loaded machine one health report's emulator probes may time out
    // (2 s each), so the report is asked again until it says up.
    let status = 0;
    for (const deadline = Date.now() + 15_000; status !== 200 && Date.now() < deadline; ) {
      status = (await fetch(`${system().baseUrl}/healthz`)).status;
    }
    expect(status).toBe(200);
  }, 30_000);

  it("answers only requests addressed to a loopback name or PUBLIC_BASE_URL's host (DNS rebinding)", async () => {
    const { port } = system();
    const ask = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/healthz', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    // The name of another site that an attacker points at 127.0.0.1: refused before any part answers.
    expect(await ask(`rebind.attacker.example:${port}`)).toBe(403);
    expect(await ask('127.0.0.1.attacker.example')).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `[::1]:${port}`]) {
      expect([200, 503]).toContain(await ask(host));
    }
  }, 30_000);

  it('serves the mounted parts under their prefixes', async () => {
    const s = system();
    expect(s.mounts.some((m) => m.prefix === '/demo')).toBe(true);
    const demo = await fetch(`${s.baseUrl}/demo/tasks/1`);
    expect(demo.status).toBeLessThan(500);
  });

  it('runs the worker with real SQS events from the update queue', async () => {
    const s = system();
    const sqs = new SQSClient({
      endpoint: s.emulators.sqsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const batch = new Promise<void>((resolve) => {
        onBatch = resolve;
      });
      await sqs.send(
        new SendMessageCommand({ QueueUrl: s.env[ENV.UPDATE_QUEUE_URL], MessageBody: '{"resource":"task:1"}' }),
      );
      await batch;
      const record = received.at(-1)?.Records[0];
      expect(record).toMatchObject({ body: '{"resource":"task:1"}', eventSource: 'aws:sqs', awsRegion: 'us-east-1' });
      expect(record?.eventSourceARN).toMatch(/^arn:aws:sqs:us-east-1:\d{12}:nlp-local-update-queue$/);
      expect(record?.attributes.ApproximateReceiveCount).toBe('1');
    } finally {
      onBatch = undefined;
      sqs.destroy();
    }
  });
});

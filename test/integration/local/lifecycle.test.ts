/**
 * Start-up and shut-down of the local system: one per process, a clean stop,
 * a failed start that leaves nothing behind, a taken port, and a stop that
 * lets a request in flight finish against the parts it uses.
 */

import { existsSync, mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { ENV } from '#lib/env-names.js';
import { PortInUseError, startLocalSystem } from '#local/system.js';
import { startTestSystem } from '#test/helpers/system.js';

const quiet = { mounts: false, workerLoop: false } as const;

describe('local system lifecycle', () => {
  it('runs one system at a time, stops cleanly and restores process.env', async () => {
    const before = process.env[ENV.UPDATE_QUEUE_URL];
    const system = await startTestSystem(quiet);
    try {
      await expect(startTestSystem(quiet)).rejects.toThrow(/already running/);
      expect(process.env[ENV.UPDATE_QUEUE_URL]).toBe(system.env[ENV.UPDATE_QUEUE_URL]);
      expect((await fetch(`${system.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await system.stop();
    }
    expect(process.env[ENV.UPDATE_QUEUE_URL]).toBe(before);
    await expect(fetch(`${system.baseUrl}/healthz`)).rejects.toThrow();
    // stop() is idempotent.
    await system.stop();

    // A second system in the same process gets fresh settings.
    const again = await startTestSystem(quiet);
    try {
      expect(again.env[ENV.DYNAMODB_ENDPOINT]).not.toBe(system.env[ENV.DYNAMODB_ENDPOINT]);
      expect((await fetch(`${again.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await again.stop();
    }
  }, 30_000);

  it('a part failing to start fails start-up loudly and leaves nothing running', async () => {
    const closed: string[] = [];
    const before = process.env[ENV.PUBLIC_BASE_URL];
    await expect(
      startTestSystem({
        workerLoop: false,
        mountEntries: [
          {
            name: 'ok',
            prefix: '/ok',
            module: './ok.js',
            load: async () => async () => ({
              name: 'ok',
              prefix: '/ok',
              handle: async () => undefined,
              close: async () => void closed.push('ok'),
            }),
          },
          {
            name: 'broken',
            prefix: '/broken',
            module: './broken.js',
            load: async () => Promise.reject(new SyntaxError('broken module')),
          },
        ],
      }),
    ).rejects.toThrow('broken module');
    expect(closed).toEqual(['ok']);
    expect(process.env[ENV.PUBLIC_BASE_URL]).toBe(before);
    // Nothing is left registered: the next start succeeds.
    const system = await startTestSystem(quiet);
    await system.stop();
  }, 30_000);

  it('reports a taken port as PortInUseError', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const dataDir = join(mkdtempSync(join(tmpdir(), 'nlp-lifecycle-')), 'state');
      const attempt = startLocalSystem({ port, dataDir, ...quiet, log: () => undefined });
      await expect(attempt).rejects.toBeInstanceOf(PortInUseError);
      await expect(attempt).rejects.toThrow(`Port ${port} on 127.0.0.1 is already in use`);
      // The state directory this start made is not left behind, empty.
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const system = await startTestSystem(quiet);
    await system.stop();
  }, 30_000);

  it('stops taking requests first: one in flight when the stop begins finishes against running emulators', async () => {
    let entered: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const system = await startTestSystem({
      workerLoop: false,
      mountEntries: [
        {
          name: 'slow',
          prefix: '/slow',
          module: './slow.js',
          load: async () => async (context) => ({
            name: 'slow',
            prefix: '/slow',
            // A request that reads DynamoDB after a pause, as a handler in the middle of an OAuth round-trip does.
            handle: async (_req, res) => {
              entered();
              await gate;
              const client = new DynamoDBClient({
                endpoint: context.env[ENV.DYNAMODB_ENDPOINT] as string,
                region: 'us-east-1',
                credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
                maxAttempts: 1,
              });
              try {
                await client.send(new ListTablesCommand({}));
                res.writeHead(200).end('read');
              } catch {
                res.writeHead(500).end('the store was gone');
              } finally {
                client.destroy();
              }
            },
          }),
        },
      ],
    });
    const answer = fetch(`${system.baseUrl}/slow`).then(async (r) => [r.status, await r.text()]);
    await inFlight;
    const stopped = system.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // No new request is taken once the stop began.
    await expect(fetch(`${system.baseUrl}/healthz`)).rejects.toThrow();
    release();
    expect(await answer).toEqual([200, 'read']);
    await stopped;
  }, 30_000);

  it('/healthz is 503 and names the part while a part is down', async () => {
    let healthy = false;
    const system = await startTestSystem({
      workerLoop: false,
      mountEntries: [
        {
          name: 'flaky',
          prefix: '/flaky',
          module: './flaky.js',
          load: async () => async () => ({
            name: 'flaky',
            prefix: '/flaky',
            handle: async () => undefined,
            health: async () => healthy,
          }),
        },
      ],
    });
    try {
      const down = await fetch(`${system.baseUrl}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({
        status: 'down',
        parts: { 'mount:flaky': 'down', dynamodb: 'up', sqs: 'up' },
      });
      healthy = true;
      const up = await fetch(`${system.baseUrl}/healthz`);
      expect(up.status).toBe(200);
      expect(await up.json()).toMatchObject({ status: 'up', parts: { 'mount:flaky': 'up' } });
    } finally {
      await system.stop();
    }
  }, 30_000);
});

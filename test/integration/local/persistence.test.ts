/**
 * The local system remembers (ADR 0101): with a data directory, tables,
 * queues and their messages, the Notion simulator's world and the demo
 * product's tasks survive a stop and a start; `fresh` starts clean; and
 * `npm start` stopped by SIGTERM or SIGINT leaves no listener behind and
 * exits 0. Without a data directory (every other test) nothing touches disk.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ENV } from '#lib/env-names.js';
import type { NotionDriver } from '#local/notion-simulator/driver.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import { DataDirInUseError, statePaths } from '#local/state-dir.js';
import type { LocalSystem } from '#local/system.js';
import { dynamoClientFor, startTestEmulators } from '#test/helpers/emulators.js';
import { demoTaskUrl, editDemoTask, openDriver } from '#test/helpers/playground.js';
import { startTestSystem } from '#test/helpers/system.js';

const dirs: string[] = [];
const running: LocalSystem[] = [];

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'nlp-local-data-'));
  dirs.push(dir);
  return dir;
};

/**
 * The handler modules load once per test file and keep what they set up from
 * the settings (SDK clients, the issuer's discovery), as a warm Lambda does; so
 * every system of this file runs on the same ports, as `npm start` restarted
 * on its usual port does (a new process, which needs no such care).
 */
let ports: { port: number; dynamodbPort: number; sqsPort: number } | undefined;

const start = async (options: Parameters<typeof startTestSystem>[0]): Promise<LocalSystem> => {
  ports ??= { port: await freePort(), dynamodbPort: await freePort(), sqsPort: await freePort() };
  const { port, ...emulatorPorts } = ports;
  const system = await startTestSystem({ ...options, port, emulators: { ...options?.emulators, ...emulatorPorts } });
  running.push(system);
  return system;
};

const stop = async (system: LocalSystem): Promise<void> => {
  await system.stop();
  running.splice(running.indexOf(system), 1);
};

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const simulatorOf = (system: LocalSystem) => {
  const sim = simulatorFor(system.baseUrl);
  if (!sim) throw new Error('no simulator mounted');
  return sim;
};

/** The simulator session (Notion user) behind a driver, from its cookie. */
const sessionIdOf = (driver: NotionDriver, system: LocalSystem): string => {
  const cookie = driver.jar.header(new URL(`${system.baseUrl}/`)) ?? '';
  return new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(cookie)?.[1] ?? '';
};

const demoCard = async (system: LocalSystem, id: number): Promise<string> =>
  (await fetch(`${system.baseUrl}/demo/tasks/${id}/card`)).text();

describe('the local system with a data directory', () => {
  it('keeps the connection and its previews: after a restart the token unfurls and edits still update the card', async () => {
    const dataDir = tempDir();
    const first = await start({ dataDir });
    const driver = await openDriver(first);
    const preview = await driver.paste(demoTaskUrl(first, 1));
    expect(preview.state).toBe('card');
    const sessionId = sessionIdOf(driver, first);
    const connection = simulatorOf(first).session(sessionId)?.notionConnectionId;
    expect(connection).toBeTruthy();
    await editDemoTask(first, 2, 'Kept across restarts');
    await stop(first);
    expect(existsSync(statePaths(dataDir).lock)).toBe(false);

    // On the same port: the state names the origin it was made on.
    const second = await start({ dataDir });
    const sim = simulatorOf(second);
    const before = await driver.state();
    expect(before.connected).toBe(true);
    expect(before.notionConnection?.botId).toBe(sim.connection(connection as string)?.botId);
    const kept = before.previews.find((p) => p.id === preview.id);
    expect(kept?.state).toBe('card');
    expect(kept?.card?.title).toBe(preview.card?.title);

    // Notion unfurls again with the service's token it kept; the service still knows that token.
    const revisited = await driver.revisit();
    const again = revisited.previews.find((p) => p.id === preview.id);
    expect(again?.unfurls).toBe((kept?.unfurls ?? 0) + 1);
    expect(again?.state).toBe('card');
    expect(again?.failure).toBeUndefined();
    const unfurl = [...sim.log.all()]
      .reverse()
      .find((e) => e.sessionId === sessionId && e.summary.startsWith('Unfurl callback'));
    expect(unfurl?.status).toBe(200);

    // The service still has the subscription and the Notion token: an edit is pushed to the kept preview.
    const title = `Renamed after restart ${Date.now()}`;
    await editDemoTask(second, 1, title);
    const updated = await driver.waitFor(
      (s) => s.previews.some((p) => p.id === preview.id && p.card?.title === title),
      15_000,
    );
    expect(updated.previews.find((p) => p.id === preview.id)?.updates).toBeGreaterThanOrEqual(1);

    // The demo product kept its edit from the first run.
    expect(await demoCard(second, 2)).toContain('Kept across restarts');
  }, 60_000);

  it('delivers changes published while the worker was stopped once it runs again', async () => {
    const dataDir = tempDir();
    const first = await start({ dataDir });
    const driver = await openDriver(first);
    const preview = await driver.paste(demoTaskUrl(first, 1));
    expect(preview.state).toBe('card');
    await stop(first);

    // Two edits published with no worker polling: they wait in the kept queue.
    const quiet = await start({ dataDir, workerLoop: false });
    await editDemoTask(quiet, 1, 'First edit while stopped');
    const title = `Second edit while stopped ${Date.now()}`;
    await editDemoTask(quiet, 1, title);
    await stop(quiet);

    await start({ dataDir });
    const updated = await driver.waitFor(
      (s) => s.previews.some((p) => p.id === preview.id && p.card?.title === title),
      20_000,
    );
    expect(updated.previews.find((p) => p.id === preview.id)?.card?.title).toBe(title);
  }, 60_000);

  it('starts clean with fresh: no connections, seed tasks, empty tables', async () => {
    const dataDir = tempDir();
    const first = await start({ dataDir });
    const driver = await openDriver(first);
    expect((await driver.paste(demoTaskUrl(first, 1))).state).toBe('card');
    await editDemoTask(first, 2, 'Forgotten by fresh');
    await stop(first);

    const second = await start({ dataDir, fresh: true });
    expect(simulatorOf(second).stats().connections).toEqual([]);
    expect(await demoCard(second, 2)).not.toContain('Forgotten by fresh');
    const ddb = dynamoClientFor(second.emulators.dynamodbEndpoint);
    try {
      const scan = await ddb.send(new ScanCommand({ TableName: second.env[ENV.CONNECTIONS_TABLE] }));
      expect(scan.Count).toBe(0);
    } finally {
      ddb.destroy();
    }
  }, 60_000);

  it('refuses a data directory a live process holds, and takes over one a dead process left', async () => {
    const dataDir = tempDir();
    const lock = statePaths(dataDir).lock;
    writeFileSync(lock, String(process.ppid));
    await expect(start({ dataDir })).rejects.toThrow(DataDirInUseError);
    expect(readFileSync(lock, 'utf8')).toBe(String(process.ppid));

    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(lock, String(gone.pid));
    const system = await start({ dataDir });
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    await stop(system);
    expect(existsSync(lock)).toBe(false);
  }, 30_000);
});

describe('the emulators with a data directory', () => {
  it('keep items, queues and messages, and accept their tables and queues again', async () => {
    const dataDir = tempDir();
    const first = await startTestEmulators({ dataDir, visibilityTimeoutSeconds: 5 });
    const table = first.env[ENV.CONNECTIONS_TABLE] as string;
    const queueUrl = first.env[ENV.UPDATE_QUEUE_URL] as string;
    const ddb = dynamoClientFor(first.dynamodbEndpoint);
    await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'kept' } } }));
    ddb.destroy();
    await first.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"kept":true}' }));
    await first.stop();
    expect(readdirSync(join(dataDir, 'dynamodb')).length).toBeGreaterThan(0);

    // Another visibility timeout this time: the kept queue takes it instead of failing.
    const second = await startTestEmulators({ dataDir, visibilityTimeoutSeconds: 7 });
    try {
      const again = dynamoClientFor(second.dynamodbEndpoint);
      const item = await again.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'kept' } } }));
      again.destroy();
      expect(item.Item?.pk?.S).toBe('kept');
      const url = second.env[ENV.UPDATE_QUEUE_URL] as string;
      expect(new URL(url).port).toBe(new URL(second.sqsEndpoint).port);
      const attrs = await second.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout'] }),
      );
      expect(attrs.Attributes?.VisibilityTimeout).toBe('7');
      const received = await second.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
      expect(received.Messages?.map((m) => m.Body)).toEqual(['{"kept":true}']);
    } finally {
      await second.stop();
    }
  }, 30_000);
});

/** A port that was free a moment ago (a throwaway server's). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Whether something accepts connections on 127.0.0.1:port (binding it ourselves would succeed otherwise). */
const portIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

const runStart = (env: Record<string, string>, args: string[] = []) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let onOut: (() => void) | undefined;
  const collect = (chunk: Buffer) => {
    out += chunk.toString();
    onOut?.();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    onOut = () => {
      if (out.includes('Press Ctrl-C to stop.')) resolve();
    };
    exited.then(() => reject(new Error(`exited before it was up:\n${out}`)));
  });
  return { child, exited, ready, output: () => out };
};

describe('npm start stops cleanly and keeps its state', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s: exit code 0, no listener left, state saved',
    async (signal) => {
      const dataDir = tempDir();
      const port = await freePort();
      const run = runStart({ PORT: String(port), LOCAL_DATA_DIR: dataDir }, signal === 'SIGINT' ? ['--fresh'] : []);
      try {
        await run.ready;
        expect(run.output()).toContain(`State kept across restarts in ${dataDir}`);
        expect(await portIsFree(port)).toBe(false);
        run.child.kill(signal);
        expect(await run.exited).toBe(0);
        expect(run.output()).toContain('Stopped.');
        expect(await portIsFree(port)).toBe(true);
        const paths = statePaths(dataDir);
        expect(existsSync(paths.lock)).toBe(false);
        for (const kept of [paths.notionSimulator, paths.demoProduct, paths.system, paths.dynamodb, paths.sqs])
          expect(existsSync(kept)).toBe(true);
      } finally {
        run.child.kill('SIGKILL');
      }
    },
    60_000,
  );
});

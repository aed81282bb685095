/**
 * The kept state's directory when it fails (ADR 0167): a store that cannot
 * write or read is named in one line with what to do, a killed process's
 * half-written files are cleared at the next start, and GET /healthz is not
 * 200 while the state can no longer be saved.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { stopFailureLines } from '#local/start.js';
import { openDataDir, stateDirProblem, statePaths } from '#local/state-dir.js';
import { editDemoTask } from '#test/helpers/playground.js';
import { startTestSystem } from '#test/helpers/system.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'nlp-state-failures-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A pid no process has (one that ran and exited). */
const deadPid = async (): Promise<number> => {
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.on('exit', resolve));
  return gone.pid as number;
};

describe('what npm start says when the state directory fails', () => {
  it('names the store, why it cannot write, and what to do', () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'file'), '');
    const dataDir = join(parent, 'file', 'state');
    // The embedded DynamoDB reports a database that could not be opened without its cause.
    const notOpen = Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN' });
    const line = stateDirProblem(notOpen, dataDir);
    expect(line).toContain(`DynamoDB's tables in ${statePaths(dataDir).dynamodb} cannot be written (ENOTDIR`);
    expect(line).toContain('set LOCAL_DATA_DIR to another directory');
    // …and rewrites it into a bare error.
    expect(stateDirProblem(new Error('Database is closed'), dataDir)).toBe(line);
    const mkdir = Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dataDir}'`), {
      code: 'ENOTDIR',
      path: dataDir,
    });
    expect(stateDirProblem(mkdir, dataDir)).toContain(`the state directory ${dataDir} cannot be written`);
  });

  it('says to move a store that cannot be read aside or start fresh, and leaves other failures alone', () => {
    const dataDir = tempDir();
    const sqlite = Object.assign(new Error('file is not a database'), { code: 'ERR_SQLITE_ERROR' });
    expect(stateDirProblem(sqlite, dataDir)).toBe(
      `the queues in ${statePaths(dataDir).sqs} cannot be read (file is not a database). Move that directory aside, or start clean with npm start -- --fresh.`,
    );
    expect(stateDirProblem(new TypeError('x is not a function'), dataDir)).toBeUndefined();
    const elsewhere = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', path: '/etc/shadow' });
    expect(stateDirProblem(elsewhere, dataDir)).toBeUndefined();
  });
});

describe('a start after a killed one', () => {
  it("removes the temporary files of writes a dead process never finished, and keeps a live process's", async () => {
    const dataDir = tempDir();
    const dead = await deadPid();
    const left = [`demo-product.json.${dead}.0badc0de.tmp`, `local-server.json.${dead}.tmp`, `.probe.${dead}.tmp`];
    const live = `notion-simulator.json.${process.ppid}.0badc0de.tmp`;
    for (const name of [...left, live, 'notes.tmp']) writeFileSync(join(dataDir, name), '{');
    const lock = openDataDir(dataDir);
    try {
      const names = readdirSync(dataDir);
      for (const name of left) expect(names).not.toContain(name);
      expect(names).toContain(live);
      expect(names).toContain('notes.tmp');
    } finally {
      lock.release();
    }
  });
});

describe('GET /healthz with a data directory', () => {
  it('is 503 naming the state while the directory takes no write, and 200 again once it does', async () => {
    const dataDir = tempDir();
    const system = await startTestSystem({ dataDir, workerLoop: false });
    try {
      const up = await fetch(`${system.baseUrl}/healthz`);
      expect(up.status).toBe(200);
      expect(await up.json()).toMatchObject({ parts: { state: 'up' } });

      // What a full disk or a read-only directory does to every save, and what root cannot be denied: it is gone.
      rmSync(dataDir, { recursive: true, force: true });
      const down = await fetch(`${system.baseUrl}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'down', parts: { state: 'down', dynamodb: 'up', sqs: 'up' } });

      mkdirSync(dataDir);
      expect((await fetch(`${system.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await system.stop();
    }
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
  }, 30_000);
});

describe('a last save that fails while the system stops', () => {
  it('fails the stop naming the state directory, after every part has stopped', async () => {
    const dataDir = tempDir();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const system = await startTestSystem({ dataDir, workerLoop: false });
    let stopped: unknown;
    try {
      // An edit schedules the demo product's save a moment later; the directory goes before it is written.
      await editDemoTask(system, 2, 'Never saved');
      rmSync(dataDir, { recursive: true, force: true });
    } finally {
      stopped = await system.stop().then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    const warned = warn.mock.calls.map(([line]) => String(line));
    warn.mockRestore();
    expect(stopped).toBeDefined();
    expect(warned).toContainEqual(
      expect.stringContaining(
        `Demo product: could not save its tasks to ${join(dataDir, 'demo-product.json')}: ENOENT`,
      ),
    );
    const lines = stopFailureLines(stopped, dataDir);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(new RegExp(`^the state directory ${dataDir} cannot be written \\(ENOENT`));
    // Every part was still asked to stop: nothing listens any more.
    await expect(fetch(`${system.baseUrl}/healthz`)).rejects.toThrow();
  }, 30_000);
});

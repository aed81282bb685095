/**
 * `npm start` as a user runs it: a child process with the banner, a clean
 * stop on Ctrl-C, and a clear message when the port is taken.
 */

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { readRuntimeInfo, runtimeInfoFile } from '#local/runtime-info.js';
import { editDemoTask } from '#test/helpers/playground.js';

// Kept state goes to a directory of this file's own, never to the checkout's .local-data/.
const dataDir = mkdtempSync(join(tmpdir(), 'nlp-start-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Run {
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  readonly kill: (signal: NodeJS.Signals) => void;
  readonly waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
}

const start = (env: Record<string, string>, args: readonly string[] = [], nodeArgs: readonly string[] = []): Run => {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'local/start.ts', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'ERROR', LOCAL_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    output: () => out,
    exited,
    kill: (signal) => child.kill(signal),
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            listeners.delete(check);
            resolve(m);
          }
        };
        listeners.add(check);
        exited.then(() => reject(new Error(`exited before printing ${pattern}:\n${out}`)));
        check();
      }),
  };
};

describe('npm start', () => {
  it('prints every URL, serves /healthz, logs a line per request, and stops cleanly on SIGINT', async () => {
    const run = start({ PORT: '0', LOG_LEVEL: 'INFO' });
    try {
      const base = (await run.waitFor(/local system is up on (http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
      await run.waitFor(/Press Ctrl-C to stop\./);
      const banner = run.output();
      for (const path of [
        '/oauth/authorize',
        '/oauth/token',
        '/unfurl',
        '/deleted-token',
        '/changes',
        '/.well-known/oauth-authorization-server',
        '/healthz',
      ]) {
        expect(banner).toContain(`${base}${path}`);
      }
      for (const field of [
        'OAuth Authorize URL',
        'OAuth Token URL',
        'Unfurl Callback URL',
        'Deleted Token Callback URL',
      ]) {
        expect(banner).toContain(field);
      }
      // What to do next, as the README's first screen says it.
      expect(banner).toContain(`Next: open ${base}/ (the playground), paste ${base}/demo/tasks/1,`);
      expect(banner).toContain('sign in as alice / alice-password.');
      expect(banner).toMatch(/DynamoDB \(dynalite\)\s+http:\/\/127\.0\.0\.1:\d+/);
      expect(banner).toMatch(/SQS \(fauxqs\)\s+http:\/\/127\.0\.0\.1:\d+/);
      expect(banner).toContain(`NOTION_API_BASE_URL                       ${base}/notion`);
      expect(banner).toContain(`PORT                                      ${base.split(':').at(-1)}`);
      // Secrets are named, never printed.
      expect(banner).not.toContain('local-oauth-client-secret-change-me');
      expect(banner).not.toContain('local-notion-integration-secret');

      const health = await fetch(`${base}/healthz?probe=not-for-the-log`);
      expect(health.status).toBe(200);
      // One INFO line per request: method, path without its query string, status, milliseconds.
      await run.waitFor(/\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}\[http\] GET \/healthz 200 \d+ms\n/);
      expect(run.output()).not.toContain('not-for-the-log');
      // A handler's log record is one short line beside the request's (LOG_FORMAT=text, ADR 0161), not its JSON.
      const rejected = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=not-for-the-log-either&client_id=notion-local&client_secret=wrong',
      });
      expect(rejected.status).toBe(401);
      await run.waitFor(
        /\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}\[oauth-token\] request rejected status=401 code=invalid_client .*\n(?:.*\n)*.*\[http\] POST \/oauth\/token 401 \d+ms\n/,
      );
      expect(run.output()).not.toMatch(/^\{/m);
      expect(run.output()).not.toContain('not-for-the-log-either');
      expect(run.output()).not.toContain('function_arn');

      // Where it runs is recorded for the scripts (<state dir>/local-server.json), and npm run dashboard, given
      // the same LOCAL_DATA_DIR, uses it.
      const record = readRuntimeInfo(runtimeInfoFile(dataDir));
      expect(record?.baseUrl).toBe(base);
      expect(banner).toMatch(new RegExp(`DynamoDB \\(dynalite\\)\\s+${record?.dynamodbEndpoint}\n`));
      if (!existsSync('cdk-outputs.json')) {
        const dashboard = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/dashboard.ts'], {
          env: { ...process.env, NODE_OPTIONS: '', PORT: '', PUBLIC_BASE_URL: '', LOCAL_DATA_DIR: dataDir },
        });
        expect(dashboard.stdout).toContain(`OAuth Authorize URL         ${base}/oauth/authorize`);
      }

      run.kill('SIGINT');
      expect(await run.exited).toBe(0);
      expect(run.output()).toContain('Stopped.');
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
      expect(readRuntimeInfo(runtimeInfoFile(dataDir))?.baseUrl).not.toBe(base);
    } finally {
      run.kill('SIGKILL');
    }
  }, 30_000);

  it("prints the handlers' records as Powertools writes them with LOG_FORMAT=json, and refuses another format", async () => {
    const run = start({ PORT: '0', LOG_LEVEL: 'INFO', LOG_FORMAT: 'json' });
    try {
      const base = (await run.waitFor(/local system is up on (http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
      await run.waitFor(/Press Ctrl-C to stop\./);
      await fetch(`${base}/oauth/token`, { method: 'POST', body: 'grant_type=refresh_token' });
      const line = (await run.waitFor(/^\{"level":"INFO","message":"request rejected".*\}$/m))[0];
      expect(JSON.parse(line)).toMatchObject({
        function_name: 'notion-link-preview-local-oauth-token',
        route: 'POST /oauth/token',
        status: 400,
      });
      run.kill('SIGINT');
      expect(await run.exited).toBe(0);
    } finally {
      run.kill('SIGKILL');
    }
    const wrong = start({ PORT: '0', LOG_FORMAT: 'pretty' });
    expect(await wrong.exited).toBe(1);
    expect(wrong.output()).toBe(
      'npm start: LOG_FORMAT must be text or json, not "pretty" (LOG_FORMAT set in the environment)\n',
    );
  }, 30_000);

  it('exits 1 with a clear message when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const run = start({ PORT: String(port) });
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(run.output()).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 30_000);

  it('tells a second npm start on the same port and directory where the first one is up, and how to run beside it', async () => {
    const first = start({ PORT: '0' });
    try {
      const base = (await first.waitFor(/local system is up on (http:\/\/127\.0\.0\.1:(\d+))/))[1] as string;
      await first.waitFor(/Press Ctrl-C to stop\./);
      const port = Number(base.split(':').at(-1));
      const second = start({ PORT: String(port) });
      expect(await second.exited).toBe(1);
      const lines = second.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`is using ${dataDir}, already up on ${base}.`);
      expect(lines[0]).toContain(`PORT=${port + 1} LOCAL_DATA_DIR=.local-data-2 npm start`);
      // With --fresh too: refused the same way, and it says nothing of removing what it did not remove.
      const fresh = start({ PORT: String(port) }, ['--fresh']);
      expect(await fresh.exited).toBe(1);
      expect(fresh.output().trim().split('\n')).toEqual(lines);
      // The first one is untouched, its kept state too.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(existsSync(join(dataDir, 'demo-product.json'))).toBe(true);
      first.kill('SIGINT');
      expect(await first.exited).toBe(0);
    } finally {
      first.kill('SIGKILL');
    }
  }, 30_000);

  it('names a part that fails while it runs in one line, stops cleanly and exits 1', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nlp-start-crash-'));
    try {
      // What the embedded DynamoDB throws, out of its request handler, when its disk is full; on SIGUSR2.
      const fault = join(own, 'fault.mjs');
      writeFileSync(
        fault,
        `process.on('SIGUSR2', () => setImmediate(() => { throw Object.assign(new Error('IO error: ${own}/dynamodb/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }); }));\n`,
      );
      const run = start({ PORT: '0', LOCAL_DATA_DIR: own }, [], ['--import', fault]);
      try {
        const base = (await run.waitFor(/local system is up on (http:\/\/127\.0\.0\.1:(\d+))/))[1] as string;
        await run.waitFor(/Press Ctrl-C to stop\./);
        // The record of the running system is written just after the banner.
        for (let i = 0; i < 50 && !readRuntimeInfo(runtimeInfoFile(own)); i++)
          await new Promise((r) => setTimeout(r, 20));
        expect(readRuntimeInfo(runtimeInfoFile(own))?.baseUrl).toBe(base);
        const before = run.output().length;
        run.kill('SIGUSR2');
        expect(await run.exited).toBe(1);
        const after = run.output().slice(before).trim().split('\n');
        expect(after[0]).toBe(
          `npm start: DynamoDB's tables in ${join(own, 'dynamodb')} failed (IO error: ${own}/dynamodb/000003.log: No space left on device). Check the directory, or set LOCAL_DATA_DIR to another one; npm start -- --fresh starts clean. Stopping.`,
        );
        expect(after.at(-1)).toBe('Stopped.');
        expect(run.output()).not.toMatch(/\n\s+at /);
        // Stopped as Ctrl-C stops: nothing listens, the directory is not locked, no record of a running system.
        await expect(fetch(`${base}/healthz`)).rejects.toThrow();
        expect(existsSync(join(own, 'lock'))).toBe(false);
        expect(existsSync(runtimeInfoFile(own))).toBe(false);
        expect(existsSync(join(own, 'demo-product.json'))).toBe(true);
      } finally {
        run.kill('SIGKILL');
      }
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 30_000);

  it('exits 1 naming the state directory when the last save fails as it stops, after stopping every part', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nlp-start-last-save-'));
    const run = start({ PORT: '0', LOCAL_DATA_DIR: own });
    try {
      const base = (await run.waitFor(/local system is up on (http:\/\/127\.0\.0\.1:(\d+))/))[1] as string;
      await run.waitFor(/Press Ctrl-C to stop\./);
      // An edit schedules the demo product's save a moment later; the directory goes before it is written.
      await editDemoTask({ baseUrl: base }, 2, 'Never saved');
      rmSync(own, { recursive: true, force: true });
      const before = run.output().length;
      run.kill('SIGTERM');
      expect(await run.exited).toBe(1);
      const after = run.output().slice(before);
      expect(after).toContain(
        `npm start: the state directory ${own} cannot be written (ENOENT: no such file or directory`,
      );
      expect(after.trim().split('\n').at(-1)).toBe('Stopped, but not everything was saved (above).');
      expect(after).not.toMatch(/\n\s+at /);
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    } finally {
      run.kill('SIGKILL');
      rmSync(own, { recursive: true, force: true });
    }
  }, 30_000);

  it('exits 1 with one line saying what to do when the state directory cannot be written or read', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nlp-start-state-'));
    try {
      writeFileSync(join(own, 'file'), '');
      const unwritable = join(own, 'file', 'state');
      const run = start({ PORT: '0', LOCAL_DATA_DIR: unwritable });
      expect(await run.exited).toBe(1);
      expect(run.output()).toMatch(
        new RegExp(
          `^npm start: the state directory ${unwritable} cannot be written \\(ENOTDIR: not a directory.*set LOCAL_DATA_DIR to another directory; what was saved before is kept\\.\n$`,
        ),
      );

      // The queues' SQLite database overwritten by something else.
      const kept = join(own, 'kept');
      mkdirSync(join(kept, 'sqs'), { recursive: true });
      writeFileSync(
        join(kept, 'sqs', 'fauxqs.db'),
        'not SQLite at all, but long enough to be read as a header.'.repeat(20),
      );
      const second = start({ PORT: '0', LOCAL_DATA_DIR: kept });
      expect(await second.exited).toBe(1);
      expect(second.output()).toBe(
        `npm start: the queues in ${join(kept, 'sqs')} cannot be read (file is not a database). Move that directory aside, or start clean with npm start -- --fresh.\n`,
      );
      expect(existsSync(join(kept, 'lock'))).toBe(false);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 30_000);

  it('exits 1 on an invalid PORT', async () => {
    const run = start({ PORT: 'eighty' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('PORT must be a TCP port number');
  }, 30_000);

  it('exits 1 with one line naming a bad setting and where it was set, and keeps no record of the failed start', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nlp-start-bad-setting-'));
    try {
      const run = start({ PORT: '0', LOG_LEVEL: 'LOUD', LOCAL_DATA_DIR: own });
      expect(await run.exited).toBe(1);
      expect(run.output().trim()).toBe(
        'npm start: Invalid configuration: LOG_LEVEL: Invalid option: expected one of "DEBUG"|"INFO"|"WARN"|"ERROR"|"SILENT", not "LOUD" (LOG_LEVEL set in the environment)',
      );
      // No origin recorded for a system that never came up: the next start, on any port, has nothing to warn about.
      expect(existsSync(join(own, 'system.json'))).toBe(false);
      expect(existsSync(join(own, 'lock'))).toBe(false);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 30_000);

  it.each([
    ['SOURCE_ADAPTER_MODULE', './no-such-adapter.ts', 'SOURCE_ADAPTER_MODULE: source adapter module '],
    ['TOKEN_SIGNING_KEY', 'short', 'TOKEN_SIGNING_KEY: secret #0 must be at least 32 characters'],
  ])(
    'exits 1 naming %s when its value cannot be used',
    async (name, value, message) => {
      const own = mkdtempSync(join(tmpdir(), 'nlp-start-bad-value-'));
      try {
        const run = start({ PORT: '0', [name]: value, LOCAL_DATA_DIR: own });
        expect(await run.exited).toBe(1);
        const lines = run.output().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`npm start: ${message}`);
        expect(lines[0]).toContain(`(${name} set in the environment)`);
      } finally {
        rmSync(own, { recursive: true, force: true });
      }
    },
    30_000,
  );

  it('answers a wrong option with one line and exit status 2, as every script does', async () => {
    const run = start({}, ['--frsh']);
    expect(await run.exited).toBe(2);
    expect(run.output()).toBe('npm start: unknown option --frsh (see --help)\n');
  }, 30_000);

  it('repeats in the banner, where the state is named, that the kept state was made on another port', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nlp-start-other-origin-'));
    try {
      writeFileSync(join(own, 'system.json'), JSON.stringify({ baseUrl: 'http://127.0.0.1:1' }));
      const run = start({ PORT: '0', LOG_LEVEL: 'WARN', LOCAL_DATA_DIR: own });
      try {
        await run.waitFor(/Press Ctrl-C to stop\./);
        expect(run.output()).toContain('WARN  The state kept in');
        expect(run.output()).toContain(
          `State kept across restarts in ${own} (npm start -- --fresh starts clean)\n  made on http://127.0.0.1:1, not here: its links and connections name that origin (PORT=1, or --fresh)\n`,
        );
        run.kill('SIGINT');
        expect(await run.exited).toBe(0);
      } finally {
        run.kill('SIGKILL');
      }
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 30_000);

  it('takes `npm start --fresh` (the option npm kept for itself) as --fresh', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nlp-start-npm-fresh-'));
    try {
      // State made on another origin: kept, it would be reported at start; removed by --fresh, it is not.
      writeFileSync(join(own, 'system.json'), JSON.stringify({ baseUrl: 'http://127.0.0.1:1' }));
      const run = start({ PORT: '0', LOCAL_DATA_DIR: own, npm_lifecycle_event: 'start', npm_config_fresh: 'true' });
      try {
        await run.waitFor(/Press Ctrl-C to stop\./);
        expect(run.output()).toContain('--fresh reached npm, not the start script');
        expect(run.output()).toContain('--fresh: the kept state was removed; started clean.');
        expect(run.output()).not.toContain('was made on http://127.0.0.1:1');
        run.kill('SIGINT');
        expect(await run.exited).toBe(0);
      } finally {
        run.kill('SIGKILL');
      }
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 30_000);
});

/**
 * Every script the project ships, run as a user runs it (a child process):
 * `--help` and `-h` print the usage with exit 0 and touch nothing; an unknown
 * option is one line on stderr with exit 2 and no stack trace. Also the
 * events script's outputs: an explicit folder, or one sample on stdout.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const ROOT = process.cwd();

/** npm scripts that run a TypeScript file with tsx (after the Node.js version check), except npm start. */
const scripts = (): Array<[name: string, file: string]> => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return Object.entries(pkg.scripts).flatMap(([name, command]): Array<[string, string]> => {
    const m = /^node --import \.\/scripts\/require-node\.mjs --import tsx (\S+\.ts)$/.exec(command);
    return m && name !== 'start' ? [[name, m[1] as string]] : [];
  });
};

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const run = (file: string, args: readonly string[]): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', DEBUG: '', LOAD_DURATION: '', LOAD_CONNECTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

/** What a script may not change: the work tree as git sees it, the committed samples, the usual outputs. */
const snapshot = (): string => {
  let git = '(no git)';
  try {
    git = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' });
  } catch {
    // Not a git checkout: the files below still count.
  }
  const mtime = (p: string) => (existsSync(p) ? statSync(p).mtimeMs : 'absent');
  const events = readdirSync(path.join(ROOT, 'events')).map((f) => `${f}:${mtime(path.join(ROOT, 'events', f))}`);
  const outputs = ['.local-data/events', 'bench/results/latest.json', 'cdk.out'].map(
    (p) => `${p}:${mtime(path.join(ROOT, p))}`,
  );
  return [git, ...events, ...outputs].join('\n');
};

/** Runs the calls two at a time (two cores). */
const inPairs = async <T>(calls: Array<() => Promise<T>>): Promise<T[]> => {
  const results: T[] = [];
  for (let i = 0; i < calls.length; i += 2) results.push(...(await Promise.all(calls.slice(i, i + 2).map((c) => c()))));
  return results;
};

describe('the scripts as command-line tools', () => {
  const help = new Map<string, Result>();
  const short = new Map<string, Result>();
  const unknown = new Map<string, Result>();
  let before = '';
  let after = '';

  beforeAll(async () => {
    before = snapshot();
    const list = scripts();
    await inPairs(
      list.flatMap(([name, file]) => [
        async () => help.set(name, await run(file, ['--help'])),
        async () => short.set(name, await run(file, ['-h'])),
        async () => unknown.set(name, await run(file, ['--definitely-unknown'])),
      ]),
    );
    after = snapshot();
  }, 240_000);

  it('covers every script of package.json', () => {
    expect(
      scripts()
        .map(([name]) => name)
        .sort(),
    ).toEqual(
      [
        'bench',
        'connections',
        'dashboard',
        'deliveries',
        'events',
        'load',
        'redrive',
        'schema:change-event',
        'settings',
        'smoke',
      ].sort(),
    );
  });

  it.each(scripts())('%s --help and -h print the usage on stdout, exit 0', (name) => {
    const r = help.get(name);
    expect(r?.stderr).toBe('');
    expect(r?.code).toBe(0);
    expect(r?.stdout).toMatch(new RegExp(`^Usage: npm run ${name}\\b`));
    expect(r?.stdout).toMatch(/^ {2}-h, --help {2,}show this help and exit$/m);
    expect(short.get(name)).toEqual(r);
  });

  it.each(scripts())('%s --definitely-unknown: one line on stderr, exit 2, no stack trace', (name) => {
    const r = unknown.get(name);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: `${name}: unknown option --definitely-unknown (see --help)\n`,
    });
  });

  it('--help and wrong options change no file', () => {
    expect(after).toBe(before);
  });
});

describe('npm run events', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'events-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the samples to the folder given, and leaves events/ alone', async () => {
    const before = snapshot();
    const r = await run('scripts/events.ts', ['--out', dir, '--base-url', 'https://previews.example.com']);
    expect(r.code).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files).toContain('changes.json');
    expect(files).toEqual(readdirSync(path.join(ROOT, 'events')).sort());
    expect(r.stdout.trim().split('\n')).toHaveLength(files.length);
    const unfurl = JSON.parse(readFileSync(path.join(dir, 'unfurl.json'), 'utf8')) as { body: string };
    expect(unfurl.body).toContain('https://previews.example.com/demo/tasks/1');
    expect(snapshot()).toBe(before);
  }, 60_000);

  it('prints one sample with --print and writes nothing; an unknown name is a usage error', async () => {
    const before = snapshot();
    const printed = await run('scripts/events.ts', ['--print', 'metadata']);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({ routeKey: 'GET /.well-known/oauth-authorization-server' });
    const wrong = await run('scripts/events.ts', ['--print', 'nope']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^events: no sample named nope; one of oauth-authorize, .*\(see --help\)\n$/);
    expect(snapshot()).toBe(before);
  }, 60_000);
});

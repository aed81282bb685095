/**
 * A throw-away copy of the repository (its tracked and unignored files, as a
 * clean clone has them, with this checkout's node_modules linked in) under git
 * of its own, for tests that make a change as a contributor would and count
 * the files it took:
 *
 *   const repo = await copyRepository('nlp-new-route-');
 *   repo.write('functions/version.ts', source);
 *   await repo.node('scripts/settings.ts', '--write');
 *   expect(await repo.changedFiles()).toEqual([...]);
 *   repo.remove();
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './source-tree.js';

const run = promisify(execFile);
const BUFFER = 16 * 1024 * 1024;

/** Written by the generators (`npm run settings -- --write`, `npm run events -- --out events`), never by hand. */
export const GENERATED_FILES: readonly RegExp[] = [/^\.env\.example$/, /^README\.md$/, /^events\/[^/]+\.json$/];

export interface RepositoryCopy {
  readonly dir: string;
  read(file: string): string;
  write(file: string, text: string): void;
  /** Rewrites a file with `edit`, which must change it. */
  edit(file: string, edit: (text: string) => string): void;
  /** Runs a TypeScript file of the copy with tsx; resolves to its stdout. */
  node(file: string, ...args: string[]): Promise<string>;
  /** Runs jest in the copy on the given projects and paths (CI=true); rejects when a test fails. */
  jest(projects: readonly string[], paths: readonly string[], env?: Record<string, string>): Promise<string>;
  /** What CI checks besides the tests: the type check of the whole copy, and lint and format of `files`. */
  lint(files: readonly string[]): Promise<void>;
  /** The files git reports changed or added since the copy was made, sorted. */
  changedFiles(): Promise<string[]>;
  remove(): void;
}

export const copyRepository = async (prefix: string): Promise<RepositoryCopy> => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const git = (...args: string[]) => run('git', args, { cwd: dir });
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  for (const file of stdout.split('\0').filter((f) => f !== '')) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    try {
      cpSync(path.join(ROOT, file), path.join(dir, file));
    } catch {
      // listed but deleted in the working tree
    }
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  await git('init', '-q');
  await git('add', '-A');
  await git('-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-qm', 'before', '--no-verify');

  const at = (file: string) => path.join(dir, file);
  const copy: RepositoryCopy = {
    dir,
    read: (file) => readFileSync(at(file), 'utf8'),
    write: (file, text) => {
      mkdirSync(path.dirname(at(file)), { recursive: true });
      writeFileSync(at(file), text);
    },
    edit: (file, edit) => {
      const before = copy.read(file);
      const after = edit(before);
      if (after === before) throw new Error(`the edit of ${file} changed nothing`);
      copy.write(file, after);
    },
    node: async (file, ...args) =>
      (await run(process.execPath, ['--import', 'tsx', file, ...args], { cwd: dir, maxBuffer: BUFFER })).stdout,
    jest: async (projects, paths, env = {}) =>
      (
        await run(
          process.execPath,
          [
            '--experimental-vm-modules',
            '--no-warnings',
            'node_modules/jest/bin/jest.js',
            '--selectProjects',
            ...projects,
            '--',
            ...paths,
          ],
          { cwd: dir, env: { ...process.env, CI: 'true', ...env }, maxBuffer: BUFFER },
        )
      ).stderr,
    lint: async (files) => {
      const check = async (command: string, args: string[]) => {
        try {
          await run(command, args, { cwd: dir, maxBuffer: BUFFER });
        } catch (error) {
          const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
          throw new Error(`${path.basename(args[0] ?? command)} failed in the copy:\n${stdout}${stderr}`);
        }
      };
      await check(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit']);
      await check(path.join(dir, 'node_modules', '.bin', 'biome'), ['check', ...files]);
    },
    changedFiles: async () => {
      const status = await git('status', '--porcelain', '--untracked-files=all');
      return status.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.slice(3))
        .sort();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return copy;
};

/** The changed files a person wrote, and those the generators rewrote. */
export const splitChanged = (files: readonly string[]): { handEdited: string[]; generated: string[] } => ({
  handEdited: files.filter((f) => !GENERATED_FILES.some((g) => g.test(f))),
  generated: files.filter((f) => GENERATED_FILES.some((g) => g.test(f))),
});

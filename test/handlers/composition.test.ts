/**
 * Composition once, at init: loading a function's entry module with a setting it needs missing, or
 * invalid, fails right there, naming the variable (as Lambda's init would), instead of a 500 on the
 * first request. Each case is a fresh Node.js process, as a Lambda execution environment is.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { requiredSettingsOf } from '#lib/functions.js';
import { type FunctionName, HANDLERS, WORKER_HANDLER } from '#lib/routes.js';
import { completeFunctionEnv } from '#test/helpers/function-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FUNCTIONS: FunctionName[] = [...(Object.keys(HANDLERS) as FunctionName[]), WORKER_HANDLER];

const COMPLETE: Record<string, string> = completeFunctionEnv();

/** Loads `functions/<fn>.ts` in a fresh process with `env`; resolves to what it printed and its exit code. */
const load = async (fn: FunctionName, env: Record<string, string>) => {
  const script = `const m = await import('./functions/${fn}.ts'); process.stdout.write(typeof m.handler);`;
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        timeout: 110_000,
      },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { code: e.code ?? 1, out: e.stderr ?? '' };
  }
};

describe('every entry module composes at import', () => {
  it.each(FUNCTIONS)(
    '%s loads with its settings, and fails naming the first required one that is missing',
    async (fn) => {
      expect(await load(fn, COMPLETE)).toEqual({ code: 0, out: 'function' });
      // An entry that builds no dependencies (a small route whose logic is in its entry module) reads no
      // setting at init: it loads with an empty environment.
      if (!readFileSync(path.join(ROOT, 'functions', `${fn}.ts`), 'utf8').includes('composedAtInit(')) {
        expect(await load(fn, {})).toEqual({ code: 0, out: 'function' });
        return;
      }
      const required = requiredSettingsOf(fn);
      const last = required[required.length - 1] ?? [];
      const without = Object.fromEntries(Object.entries(COMPLETE).filter(([k]) => !last.includes(k as never)));
      const failed = await load(fn, without);
      expect(failed.code).not.toBe(0);
      expect(failed.out).toContain(`Missing required setting ${last.join(' or ')} (function ${fn})`);
    },
    120_000,
  );

  it('an invalid value fails the init naming the variable', async () => {
    const failed = await load('unfurl', { ...COMPLETE, UNFURL_DEADLINE_MS: 'soon' });
    expect(failed.code).not.toBe(0);
    expect(failed.out).toContain('UNFURL_DEADLINE_MS');
  }, 120_000);

  it.each(['oauth-token', 'unfurl', 'jwks'] as const)(
    '%s: key material it cannot use (a short TOKEN_SIGNING_KEY) fails the init naming the setting',
    async (fn) => {
      const failed = await load(fn, { ...COMPLETE, TOKEN_SIGNING_KEY: 'too-short-a-secret' });
      expect(failed.code).not.toBe(0);
      expect(failed.out).toContain('TOKEN_SIGNING_KEY: secret #0 must be at least 32 characters');
      expect(failed.out).not.toContain('too-short-a-secret');
    },
    120_000,
  );
});

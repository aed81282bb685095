/**
 * `npm start` reads `.env` when there is one; what the environment sets wins.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { loadDotEnv } from '#local/start.js';

const NAMES = ['NLP_DOTENV_TEST_FROM_FILE', 'NLP_DOTENV_TEST_BOTH'] as const;
let dir: string | undefined;

afterEach(() => {
  for (const name of NAMES) delete process.env[name];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('.env', () => {
  it('fills in what the environment does not set, and the environment wins', () => {
    dir = mkdtempSync(join(tmpdir(), 'nlp-dotenv-'));
    const file = join(dir, '.env');
    writeFileSync(file, '# local settings\nNLP_DOTENV_TEST_FROM_FILE=from-file\nNLP_DOTENV_TEST_BOTH="from file"\n');
    process.env.NLP_DOTENV_TEST_BOTH = 'from the environment';
    expect(loadDotEnv(file)).toBe(true);
    expect(process.env.NLP_DOTENV_TEST_FROM_FILE).toBe('from-file');
    expect(process.env.NLP_DOTENV_TEST_BOTH).toBe('from the environment');
  });

  it('is optional', () => {
    expect(loadDotEnv(join(tmpdir(), 'nlp-no-such-dir', '.env'))).toBe(false);
    expect(process.env.NLP_DOTENV_TEST_FROM_FILE).toBeUndefined();
  });
});

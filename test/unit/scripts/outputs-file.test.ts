/**
 * scripts/outputs-file.ts: an empty `--outputs` or `--stack` (an unset shell variable) and a directory
 * given as the outputs file are usage errors (exit 2, one line), not EISDIR or "no stack  with the outputs".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { UsageError } from '../../../scripts/cli.js';
import { pickStackOutputs, readOutputsFile } from '../../../scripts/outputs-file.js';

const dir = mkdtempSync(join(tmpdir(), 'outputs-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readOutputsFile', () => {
  it('refuses an empty --outputs as a usage error', () => {
    expect(() => readOutputsFile('')).toThrow(UsageError);
    expect(() => readOutputsFile('  ')).toThrow('--outputs must name a file');
  });

  it('refuses a directory as a usage error that says where the file comes from', () => {
    expect(() => readOutputsFile(dir)).toThrow(UsageError);
    expect(() => readOutputsFile(dir)).toThrow(/no outputs file .*cdk-outputs\.json/);
  });

  it('reads a file', () => {
    const file = join(dir, 'cdk-outputs.json');
    writeFileSync(file, JSON.stringify({ Stack: { A: 'a' } }));
    expect(readOutputsFile(file)).toEqual({ Stack: { A: 'a' } });
  });
});

describe('pickStackOutputs', () => {
  const file = { One: { A: 'a1' }, Two: { A: 'a2' } };

  it('refuses an empty --stack as a usage error', () => {
    expect(() => pickStackOutputs(file, ['A'], '')).toThrow(UsageError);
    expect(() => pickStackOutputs(file, ['A'], '')).toThrow('--stack must name a stack');
  });

  it('picks the named stack', () => {
    expect(pickStackOutputs(file, ['A'], 'Two')).toEqual({ stack: 'Two', outputs: { A: 'a2' } });
  });
});

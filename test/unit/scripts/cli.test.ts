/**
 * The command-line conventions of the project's scripts (scripts/cli.ts):
 * help on stdout with exit 0, one line on stderr with exit 2 for a wrong
 * invocation, one line with exit 1 for a failure, no stack trace.
 */
import { describe, expect, it } from '@jest/globals';
import { type CliSpec, helpText, httpUrl, parseCli, positiveInt, runCli, UsageError } from '../../../scripts/cli.js';

const SPEC = {
  name: 'demo',
  usage: ['npm run demo -- [--count <n>] [--json] <name>'],
  description: 'Does a demonstration.',
  options: {
    count: { type: 'string', value: '<n>', description: 'how many' },
    json: { type: 'boolean', short: 'j', description: 'JSON on stdout' },
  },
  maxPositionals: 1,
  examples: ['npm run demo -- --count 2 x'],
  notes: ['Exit status: 0 ok.'],
} as const satisfies CliSpec;

const capture = async (argv: string[], main: Parameters<typeof runCli<typeof SPEC.options>>[2], env = {}) => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(SPEC, argv, main, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
  });
  return { code, stdout, stderr };
};

describe('parseCli', () => {
  it('returns the values and positionals', () => {
    expect(parseCli(SPEC, ['--count', '3', '-j', 'x'])).toEqual({
      values: { count: '3', json: true },
      positionals: ['x'],
    });
    expect(parseCli(SPEC, [])).toEqual({ values: {}, positionals: [] });
  });

  it('returns undefined for --help or -h, even next to a mistake', () => {
    expect(parseCli(SPEC, ['--help'])).toBeUndefined();
    expect(parseCli(SPEC, ['-h', 'x'])).toBeUndefined();
    expect(parseCli(SPEC, ['--nope', '--help'])).toBeUndefined();
  });

  it('names what is wrong, briefly', () => {
    const problem = (argv: string[]) => {
      try {
        parseCli(SPEC, argv);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error('no error');
    };
    expect(problem(['--definitely-unknown'])).toBe('unknown option --definitely-unknown');
    expect(problem(['-x'])).toBe('unknown option -x');
    expect(problem(['--count'])).toBe('option --count needs a value');
    expect(problem(['--json=yes'])).toBe('option --json takes no value');
    expect(problem(['a', 'b'])).toBe('too many arguments (from b)');
    expect(problem(['a', '--', '--count'])).toBe('too many arguments (from --count)');
  });
});

describe('helpText', () => {
  it('lists the usage, every option with its value and -h, examples and notes', () => {
    const text = helpText(SPEC);
    expect(text.split('\n')[0]).toBe('Usage: npm run demo -- [--count <n>] [--json] <name>');
    expect(text).toContain('Does a demonstration.');
    expect(text).toMatch(/^ {6}--count <n> {2,}how many$/m);
    expect(text).toMatch(/^ {2}-j, --json {2,}JSON on stdout$/m);
    expect(text).toMatch(/^ {2}-h, --help {2,}show this help and exit$/m);
    expect(text).toContain('Examples:\n  npm run demo -- --count 2 x');
    expect(text.trimEnd().endsWith('Exit status: 0 ok.')).toBe(true);
  });
});

describe('runCli', () => {
  it('prints the help on stdout and exits 0 without running the script', async () => {
    let ran = false;
    const r = await capture(['--help'], () => {
      ran = true;
      return 0;
    });
    expect(r).toEqual({ code: 0, stdout: helpText(SPEC), stderr: '' });
    expect(ran).toBe(false);
  });

  it('answers a wrong invocation with one line on stderr and exit 2', async () => {
    let ran = false;
    const r = await capture(['--definitely-unknown'], () => {
      ran = true;
      return 0;
    });
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'demo: unknown option --definitely-unknown (see --help)\n' });
    expect(ran).toBe(false);
    const thrown = await capture([], () => {
      throw new UsageError('give a name');
    });
    expect(thrown).toEqual({ code: 2, stdout: '', stderr: 'demo: give a name (see --help)\n' });
  });

  it("returns main's status (0 when it returns nothing)", async () => {
    expect((await capture(['x'], () => 3)).code).toBe(3);
    expect((await capture(['x'], async () => undefined)).code).toBe(0);
  });

  it('reports a failure in one line with exit 1; the stack only with DEBUG', async () => {
    const fail = async () => {
      throw new Error('the emulator did not start');
    };
    const r = await capture(['x'], fail);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'demo: the emulator did not start\n' });
    const debug = await capture(['x'], fail, { DEBUG: '1' });
    expect(debug.stderr).toMatch(/^demo: the emulator did not start\nError: the emulator did not start\n\s+at /);
  });
});

describe('value checks', () => {
  it('positiveInt accepts whole numbers in range only', () => {
    expect(positiveInt(undefined, '--n')).toBeUndefined();
    expect(positiveInt('12', '--n')).toBe(12);
    expect(positiveInt('500', '--n', 500)).toBe(500);
    for (const bad of ['0', '-1', '1.5', 'abc', '', '1e3', '0x10'])
      expect(() => positiveInt(bad, '--n')).toThrow(UsageError);
    expect(() => positiveInt('501', '--limit', 500)).toThrow('--limit must be a whole number from 1 to 500, not "501"');
  });

  it('httpUrl accepts http and https URLs only', () => {
    expect(httpUrl('https://previews.example.com', '--base-url')).toBe('https://previews.example.com');
    expect(httpUrl(undefined, '--base-url')).toBeUndefined();
    for (const bad of ['previews.example.com', 'ftp://x', 'javascript:alert(1)'])
      expect(() => httpUrl(bad, '--base-url')).toThrow(UsageError);
  });
});

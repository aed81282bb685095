/**
 * The command-line conventions every script of the project follows (`npm run
 * bench`, `load`, `events`, `dashboard`, `redrive`, `connections`,
 * `deliveries`), over node:util parseArgs in strict mode:
 *
 * - `--help` / `-h` prints the usage and options on stdout and exits 0 before
 *   the script does anything else (no network, no file, no emulator).
 * - An unknown option, a missing or bad value, or a wrong argument prints one
 *   line on stderr, `<name>: <problem> (see --help)`, and exits 2.
 * - A failure while working prints one line, `<name>: <message>`, and exits 1
 *   (the stack trace too when DEBUG is set).
 * - Progress goes to stderr, so stdout (e.g. `--json`) stays clean.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { usageProblem } from '#local/usage.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder of a string option's value in the help, e.g. `<seconds>`. */
  readonly value?: string;
  readonly description: string;
}

export interface CliSpec<O extends Readonly<Record<string, OptionSpec>> = Readonly<Record<string, OptionSpec>>> {
  /** The script's name in messages (`load: …`). */
  readonly name: string;
  /** Synopsis lines, e.g. `npm run load -- [options]`. */
  readonly usage: readonly string[];
  /** What the script does, a few lines. */
  readonly description: string;
  readonly options: O;
  /** Positional arguments accepted (default 0). */
  readonly maxPositionals?: number;
  readonly examples?: readonly string[];
  /** Further paragraphs after the options (environment, exit codes…). */
  readonly notes?: readonly string[];
}

export type CliValues<O extends Readonly<Record<string, OptionSpec>>> = {
  -readonly [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

export interface CliArgs<O extends Readonly<Record<string, OptionSpec>>> {
  readonly values: CliValues<O>;
  readonly positionals: readonly string[];
}

/** A wrong invocation: reported in one line and exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help and exit' };

/** The `--help` text. */
export const helpText = (spec: CliSpec): string => {
  const options: [string, string][] = Object.entries({ ...spec.options, help: HELP }).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`,
    o.description,
  ]);
  const width = Math.max(...options.map(([flag]) => flag.length)) + 2;
  const lines = [
    ...spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${u}`),
    '',
    spec.description.trim(),
    '',
    'Options:',
    ...options.map(([flag, text]) => `  ${flag.padEnd(width)}${text.replaceAll('\n', `\n  ${' '.repeat(width)}`)}`),
  ];
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  for (const note of spec.notes ?? []) lines.push('', note.trim());
  return `${lines.join('\n')}\n`;
};

/**
 * Parses `argv` against the spec. Returns `undefined` when help was asked for
 * (the caller prints `helpText`); throws UsageError for anything wrong.
 */
export const parseCli = <O extends Readonly<Record<string, OptionSpec>>>(
  spec: CliSpec<O>,
  argv: readonly string[],
): CliArgs<O> | undefined => {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, o] of Object.entries(spec.options))
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    // `--help` wins over any other mistake on the same command line.
    if (argv.includes('--help') || argv.includes('-h')) return undefined;
    throw new UsageError(usageProblem(error));
  }
  if (parsed.values.help) return undefined;
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals[max];
    throw new UsageError(max === 0 ? `unexpected argument ${extra}` : `too many arguments (from ${extra})`);
  }
  const { help: _help, ...values } = parsed.values;
  return { values: values as CliValues<O>, positionals: parsed.positionals };
};

/** A positive integer option (or setting); `undefined` stays undefined. Throws UsageError otherwise. */
export const positiveInt = (
  value: string | undefined,
  what: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max)
    throw new UsageError(
      `${what} must be ${max < Number.MAX_SAFE_INTEGER ? `a whole number from 1 to ${max}` : 'a positive whole number'}, not ${JSON.stringify(value)}`,
    );
  return n;
};

/** An http(s) URL option; throws UsageError otherwise. */
export const httpUrl = (value: string | undefined, what: string): string | undefined => {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what} must be an http(s) URL, not ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${what} must be an http(s) URL, not ${JSON.stringify(value)}`);
  return value;
};

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

/** A progress line on stderr: `<name>: <text>`. */
export const progress =
  (name: string, io: Pick<CliIo, 'stderr'> = processIo) =>
  (text: string): void =>
    io.stderr(`${name}: ${text}\n`);

const firstLine = (text: string): string => text.split('\n')[0]?.trim() ?? '';

/**
 * Parses the command line and runs `main` with it; returns the exit status
 * (help 0, usage error 2, failure 1, else what `main` returns, default 0).
 */
export const runCli = async <O extends Readonly<Record<string, OptionSpec>>>(
  spec: CliSpec<O>,
  argv: readonly string[],
  main: (args: CliArgs<O>) => Promise<number | undefined> | number | undefined,
  io: CliIo = processIo,
): Promise<number> => {
  try {
    const args = parseCli(spec, argv);
    if (!args) {
      io.stdout(helpText(spec));
      return EXIT.ok;
    }
    return (await main(args)) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${spec.name}: ${firstLine(error.message)} (see --help)\n`);
      return EXIT.usage;
    }
    const message = (error instanceof Error ? error.message : String(error)).trim();
    io.stderr(`${spec.name}: ${message || 'failed'}\n`);
    if (io.env.DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return EXIT.failure;
  }
};

/**
 * Parses `argv` and runs `run` with it, or prints the help through `out` (tests call a script's `main`
 * with their own output); returns the exit status. A wrong invocation throws UsageError.
 */
export const parseAndRun = async <O extends Readonly<Record<string, OptionSpec>>>(
  spec: CliSpec<O>,
  argv: readonly string[],
  out: (text: string) => void,
  run: (args: CliArgs<O>) => Promise<number>,
): Promise<number> => {
  const args = parseCli(spec, argv);
  if (!args) {
    out(helpText(spec).trimEnd());
    return EXIT.ok;
  }
  return run(args);
};

/** A committed file a script renders from code: where it lives, its name in messages, and its text. */
export interface GeneratedFile {
  readonly path: string;
  readonly label: string;
  readonly render: () => string;
}

/** The options of a script that renders committed files (`schema:change-event`, `settings`). */
export const GENERATOR_OPTIONS = {
  write: { type: 'boolean', description: 'rewrite the committed files' },
  check: { type: 'boolean', description: 'exit 1 when a committed file is out of date' },
} as const satisfies Readonly<Record<string, OptionSpec>>;

/**
 * Runs a generator: prints the first file's text; with --write rewrites every file; with --check exits 1
 * naming the stale ones and the command that refreshes them.
 */
export const runGenerator = (
  values: { readonly write?: boolean | undefined; readonly check?: boolean | undefined },
  files: readonly GeneratedFile[],
  refreshCommand: string,
): number => {
  if (values.write && values.check) throw new UsageError('--write and --check exclude each other');
  const rendered = files.map((f) => ({ ...f, text: f.render() }));
  const labels = (list: readonly GeneratedFile[]) => list.map((f) => f.label).join(' and ');
  if (values.write) {
    for (const f of rendered) writeFileSync(f.path, f.text);
    process.stderr.write(`Wrote ${labels(rendered)}\n`);
    return EXIT.ok;
  }
  if (values.check) {
    const stale = rendered.filter((f) => readFileSync(f.path, 'utf8') !== f.text);
    if (stale.length > 0) {
      process.stderr.write(`${labels(stale)} out of date; refresh with: ${refreshCommand}\n`);
      return EXIT.failure;
    }
    process.stderr.write(`${labels(rendered)} up to date\n`);
    return EXIT.ok;
  }
  process.stdout.write(rendered[0]?.text ?? '');
  return EXIT.ok;
};

/** True when the module at `importMetaUrl` is the process's entry point (`tsx scripts/x.ts`). */
export const isEntryPoint = (importMetaUrl: string): boolean => {
  const entry = process.argv[1];
  return entry !== undefined && importMetaUrl === pathToFileURL(resolve(entry)).href;
};

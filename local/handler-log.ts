/**
 * How `npm start` shows the handlers' log records in a terminal (ADR 0161).
 *
 * In Lambda every record is one Powertools JSON line, and stays so. In the local
 * runtime those lines sit between `npm start`'s own short lines (`[http] GET / 200 3ms`)
 * and bury them; with LOG_FORMAT=text (npm start's default) each record is printed as one
 * line in the same shape as the runtime's own, `<time> <LEVEL> [<function>] <message>
 * key=value …`, with the keys the code logged. What is left out is the envelope every
 * record of a Lambda function carries (service, function ARN, memory size, request ids,
 * cold start, sampling rate); LOG_FORMAT=json prints the records as they are. A logged
 * error keeps its stack, on the lines below. The text is made from the JSON line the
 * logger wrote, after its redacting replacer: nothing it hid reappears.
 */

/** `text`: one short line per record; `json`: the records as Powertools writes them. */
export type LogFormat = 'text' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Parses LOG_FORMAT (any case; unset or empty: text); undefined for any other value. */
export const parseLogFormat = (value: string | undefined): LogFormat | undefined => {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'text';
  return (LOG_FORMATS as readonly string[]).includes(v) ? (v as LogFormat) : undefined;
};

/** The keys every Powertools record of a Lambda function carries, whatever was logged. */
const ENVELOPE = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
  // Appended by the handlers' middleware to every record of a request; the [http] line beside it names the route.
  'requestId',
  'correlation_id',
  'route',
]);

/** The local runtime names its functions `notion-link-preview-local-<handler>` (local/server.ts, local/worker-loop.ts). */
const LOCAL_FUNCTION_PREFIX = /^notion-link-preview-local-/;

type Record_ = Readonly<Record<string, unknown>>;

const isRecord = (value: unknown): value is Record_ =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Control characters (a terminal's escape sequences among them), never printed as they are. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A value as it reads in `key=value`: bare when it is one printable word, else JSON (which escapes controls). */
const show = (value: unknown): string => {
  if (typeof value === 'string') return /^[!#-<>-~]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
};

/** Free text (a message, a stack frame) as it is, unless it holds a control character: then as JSON. */
const freeText = (value: string): string => (CONTROL.test(value) ? JSON.stringify(value) : value);

/** An error as Powertools writes it: `{ name, location, message, stack, cause? }`. */
const isLoggedError = (value: unknown): value is Record_ & { stack: string } =>
  isRecord(value) && typeof value.stack === 'string' && typeof value.message === 'string';

/**
 * One Powertools record (a line the logger wrote) as a short human line, or undefined when `text` is not
 * a record (it is then printed as it is). A logged error adds its stack, indented, on the lines below.
 */
export const formatHandlerRecord = (text: string): string | undefined => {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isRecord(record)) return undefined;
  const { level, message, timestamp } = record;
  if (typeof level !== 'string' || typeof timestamp !== 'string' || !('message' in record)) return undefined;
  const source =
    typeof record.function_name === 'string'
      ? record.function_name.replace(LOCAL_FUNCTION_PREFIX, '')
      : typeof record.service === 'string'
        ? record.service
        : undefined;
  const parts = [`${show(timestamp)} ${show(level.toUpperCase()).padEnd(5)}`];
  if (source) parts.push(`[${show(source)}]`);
  parts.push(typeof message === 'string' ? freeText(message) : show(message));
  const below: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (ENVELOPE.has(key)) continue;
    if (!isLoggedError(value)) {
      parts.push(`${key}=${show(value)}`);
      continue;
    }
    parts.push(`${key}=${show(errorTitle(value))}`);
    below.push(...errorDetail(key, value, '    '));
  }
  return [parts.join(' '), ...below].join('\n');
};

const errorTitle = (error: Record_): string =>
  `${typeof error.name === 'string' ? `${error.name}: ` : ''}${String(error.message)}`;

/** A logged error's stack frames and other fields (a cause: its title and frames in turn), one per line. */
const errorDetail = (key: string, error: Record_ & { stack: string }, indent: string): string[] => {
  const { name: _name, message: _message, stack, location: _location, ...rest } = error;
  // The stack's first line repeats name and message.
  const frames = stack.split('\n');
  const lines = (/^\s+at /.test(frames[0] ?? '') ? frames : frames.slice(1)).map(
    (f) => `${indent}${freeText(f.trim())}`,
  );
  for (const [k, v] of Object.entries(rest)) {
    if (!isLoggedError(v)) lines.push(`${indent}${key}.${k}=${show(v)}`);
    else lines.push(`${indent}${key}.${k}=${show(errorTitle(v))}`, ...errorDetail(`${key}.${k}`, v, `${indent}  `));
  }
  return lines;
};

type Write = NodeJS.WriteStream['write'];

/**
 * Prints the handlers' records on `streams` (default: stdout and stderr, where the logger writes) as
 * formatHandlerRecord makes them; every other write passes unchanged. Returns the function that puts the
 * streams back. For `npm start` only: in-process users of the local system and Lambda keep the JSON.
 */
export const showHandlerRecordsAsText = (
  streams: ReadonlyArray<NodeJS.WriteStream> = [process.stdout, process.stderr],
): (() => void) => {
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const original = originals[i] as Write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const line = typeof chunk === 'string' && chunk.startsWith('{') ? formatHandlerRecord(chunk) : undefined;
      return (original as (c: unknown, ...r: unknown[]) => boolean).call(
        stream,
        line === undefined ? chunk : `${line}\n`,
        ...rest,
      );
    }) as Write;
  });
  return () => {
    streams.forEach((stream, i) => {
      stream.write = originals[i] as Write;
    });
  };
};

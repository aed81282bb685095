/**
 * Log output in tests. The handlers' log lines are off unless a test asks for them
 * (test/helpers/quiet-logs.ts); a test that reads them captures them here instead of printing them,
 * so the run's output stays readable, and puts the logger back at the run's level afterwards.
 */
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

/**
 * LOG_LEVEL as set for `npm test` (SILENT unless the developer set it), read when this module loads: a local
 * system started later puts its own LOG_LEVEL into the environment while it runs.
 */
const RUN_LOG_LEVEL = (process.env.LOG_LEVEL ?? 'SILENT') as LogLevel;

/** The run's log level, to put the logger back to after a test that raised it. */
export const runLogLevel = (): LogLevel => RUN_LOG_LEVEL;

const capture = (streams: ReadonlyArray<NodeJS.WriteStream>, lines: string[]): (() => void) => {
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams)
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      rest.find((r): r is () => void => typeof r === 'function')?.();
      return true;
    }) as typeof stream.write;
  return () => {
    streams.forEach((stream, i) => {
      stream.write = originals[i] as typeof stream.write;
    });
  };
};

/** Records every chunk written to stdout and stderr (the logger writes INFO and below to one, WARN and above to the other) into `lines`; returns the restore function. */
export const captureLogs = (lines: string[]): (() => void) => capture([process.stdout, process.stderr], lines);

/** Records everything written to stdout and stderr (the logger's streams) until `stop()`. */
export const captureOutput = (): { lines: string[]; stop(): void } => {
  const lines: string[] = [];
  return { lines, stop: capture([process.stdout, process.stderr], lines) };
};

/**
 * Log output in tests. The handlers' log lines are off unless a test asks for them
 * (test/helpers/quiet-logs.ts); a test that reads them captures them here instead of printing them,
 * so the run's output stays readable, and puts the logger back at the run's level afterwards.
 */
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

/** The run's log level: LOG_LEVEL as set for `npm test` (SILENT unless the developer set it). */
export const runLogLevel = (): LogLevel => (process.env.LOG_LEVEL ?? 'SILENT') as LogLevel;

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

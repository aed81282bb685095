/**
 * The log `npm start` gives the local system: one line per message on the
 * console, at or above a level (LOG_LEVEL, the same setting the handlers'
 * logger reads; default INFO). Info goes to stdout (a line per request and per
 * push to Notion), warnings and errors to stderr. Tests pass their own log
 * function (or none: the system's default prints warnings and errors only).
 */
import type { LocalSystemOptions } from './system.js';

type Level = 'info' | 'warn' | 'error';
type Log = NonNullable<LocalSystemOptions['log']>;

const RANK: Readonly<Record<string, number>> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, SILENT: 4, CRITICAL: 3 };
const LEVEL_RANK: Readonly<Record<Level, number>> = { info: 1, warn: 2, error: 3 };

/** The lowest level printed for a LOG_LEVEL value (unknown or unset: INFO). */
export const thresholdOf = (value: string | undefined): number => RANK[(value ?? '').trim().toUpperCase()] ?? 1;

export interface ConsoleLogOptions {
  /** A LOG_LEVEL value (unset: INFO). */
  readonly level?: string | undefined;
  readonly out?: (line: string) => void;
  readonly err?: (line: string, detail?: unknown) => void;
  readonly now?: () => Date;
}

export const consoleLog = (options: ConsoleLogOptions = {}): Log => {
  const threshold = thresholdOf(options.level);
  const out = options.out ?? ((line: string) => console.log(line));
  const err =
    options.err ??
    ((line: string, detail?: unknown) => (detail === undefined ? console.error(line) : console.error(line, detail)));
  const now = options.now ?? (() => new Date());
  return (level, message, detail) => {
    if (LEVEL_RANK[level] < threshold) return;
    const line = `${now().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`;
    if (level === 'info') out(line);
    else err(line, detail);
  };
};

/**
 * How a command line's mistake is said, by every script (scripts/cli.ts) and by `npm start`
 * (local/start.ts): parseArgs' error shortened to what the user typed wrong (ADR 0102).
 */

/** parseArgs' error, shortened to what the user typed wrong. */
export const usageProblem = (error: unknown): string => {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  // "Unknown option '--foo'", "Option '-c, --count <value>' argument missing": the long name when there is one.
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = /--[^\s,=<]+/.exec(quoted)?.[0] ?? /-[^\s,=<]+/.exec(quoted)?.[0];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option && /argument missing/.test(message)
        ? `option ${option} needs a value`
        : option
          ? `option ${option} takes no value`
          : message;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? message}`;
    default:
      return message;
  }
};

/**
 * How a setting's value in the environment becomes its typed value: the few
 * kinds the settings of lib/settings.ts take (text, an http(s) URL, a list of
 * them, a whole number, one of some words), each a plain function.
 *
 * They are written here rather than as zod schemas because every function
 * parses its whole configuration when it initializes, and zod's schemas cost
 * about 10 ms of each cold start for these 40-odd strings (docs/adr/0143).
 * Request bodies, tokens and other input from the network are still validated
 * with zod.
 *
 * A parser answers `{ value }` or its `problems`, each located by `at` in a
 * list (`NOTION_REDIRECT_URIS.1: Invalid URL`).
 */

export interface Problem {
  readonly message: string;
  /** The position of the entry in a list setting. */
  readonly at?: number;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/** Parses one setting's raw value (`undefined`: not set). */
export type SettingParser<T> = (raw: string | undefined) => Parsed<T>;

/** The type a parser gives. */
export type ParsedBy<P> = P extends SettingParser<infer T> ? T : never;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const refused = (message: string, at?: number): Parsed<never> => ({
  ok: false,
  problems: [at === undefined ? { message } : { message, at }],
});

const isBlank = (v: string): boolean => v.trim() === '';

/** Trimmed text; blank or absent is `undefined`. */
export const optionalString: SettingParser<string | undefined> = (raw) => {
  const v = raw?.trim();
  return ok(v === undefined || v === '' ? undefined : v);
};

/** The text as given, or `fallback` when absent. */
export const textOr =
  (fallback: string): SettingParser<string> =>
  (raw) =>
    ok(raw ?? fallback);

/** Text that matches `pattern` (`message` when it does not), or `fallback` when absent. */
export const matchingOr =
  (pattern: RegExp, message: string, fallback: string): SettingParser<string> =>
  (raw) =>
    raw === undefined ? ok(fallback) : pattern.test(raw) ? ok(raw) : refused(message);

/** One of `values`, or `fallback` when absent; the refusal repeats what was given (no such setting is a secret). */
export const oneOfOr =
  <const V extends string>(
    values: readonly V[],
    fallback: V,
    options: { readonly anyCase?: boolean } = {},
  ): SettingParser<V> =>
  (raw) => {
    if (raw === undefined) return ok(fallback);
    const found = values.find((v) => v === raw || (options.anyCase === true && v.toLowerCase() === raw.toLowerCase()));
    return found !== undefined
      ? ok(found)
      : refused(
          `Invalid option: expected one of ${values.map((v) => JSON.stringify(v)).join('|')}, not ${JSON.stringify(
            raw.length > 40 ? `${raw.slice(0, 40)}…` : raw,
          )}`,
        );
  };

const TAB_OR_NEWLINE = /[\t\n\r]/g;

/** An absolute http(s) URL written with `://`, trimmed (tabs and newlines removed, as the URL parser does). */
const httpUrl = (raw: string, at?: number): Parsed<string> => {
  const trimmed = raw.trim();
  if (!/^https?:\/\//i.test(trimmed) || !URL.canParse(trimmed)) return refused('Invalid URL', at);
  return ok(trimmed.replace(TAB_OR_NEWLINE, ''));
};

/** An http(s) URL, or `undefined` when absent (an empty value is not a URL). */
export const optionalUrl: SettingParser<string | undefined> = (raw) =>
  raw === undefined ? ok(undefined) : httpUrl(raw);

/** An http(s) URL, or `fallback` when absent. */
export const urlOr =
  (fallback: string): SettingParser<string> =>
  (raw) =>
    raw === undefined ? ok(fallback) : httpUrl(raw);

/** Comma-separated http(s) URLs; blank entries are skipped, each bad one is refused by its position. */
export const csvOfUrls: SettingParser<string[]> = (raw) => {
  const entries = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const parsed = entries.map((entry, i) => httpUrl(entry, i));
  const problems = parsed.flatMap((p) => (p.ok ? [] : p.problems));
  if (problems.length > 0) return { ok: false, problems };
  return ok(parsed.flatMap((p) => (p.ok ? [p.value] : [])));
};

/** Names an OAuth authorization response adds to a redirect URI (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207). */
const RESPONSE_PARAMETERS = new Set(['code', 'state', 'error', 'error_description', 'error_uri', 'iss']);

/**
 * Comma-separated OAuth redirect URIs: http(s) URLs without a fragment (RFC 6749 §3.1.2) whose query names
 * none of the parameters the authorization response appends (`code`, `state`, `iss`, …), which would
 * otherwise reach the client twice.
 */
export const csvOfRedirectUris: SettingParser<string[]> = (raw) => {
  const urls = csvOfUrls(raw);
  if (!urls.ok) return urls;
  const problems = urls.value.flatMap((entry, at): Problem[] => {
    const url = new URL(entry);
    if (entry.includes('#')) return [{ message: 'A redirect URI must not have a fragment', at }];
    const taken = [...url.searchParams.keys()].find((name) => RESPONSE_PARAMETERS.has(name));
    return taken === undefined
      ? []
      : [{ message: `The query must not carry ${taken}: the authorization response adds it`, at }];
  });
  return problems.length > 0 ? { ok: false, problems } : urls;
};

const integer =
  (fallback: number, min: number, message: string): SettingParser<number> =>
  (raw) => {
    if (raw === undefined || isBlank(raw)) return ok(fallback);
    const n = Number(raw);
    return Number.isInteger(n) && n >= min ? ok(n) : refused(message);
  };

/** A whole number of 1 or more, or `fallback` when absent or blank. */
export const positiveInt = (fallback: number): SettingParser<number> =>
  integer(fallback, 1, 'must be a positive integer');

/** A whole number of 0 or more, or `fallback` when absent or blank. */
export const nonNegativeInt = (fallback: number): SettingParser<number> =>
  integer(fallback, 0, 'must be an integer of 0 or more');

/**
 * The HTTP GET the source adapters use: the global `fetch` (Node.js's bundled
 * undici, keep-alive by default) with the adapters' limits (docs/adr/0110).
 *
 * No redirect is followed (a 3xx is "no answer"), the request ends when
 * `signal` aborts, the JSON body is read under a size limit counted in decoded
 * bytes, and every failure is a SourceUnavailableError. An adapter given a
 * `fetch` function (tests, a custom transport) uses that instead.
 */
import { type FetchFunction, fetchSource, readJson } from '#core/sources/source-adapter.js';

/** One answer of the source: its status, and its body read on demand. */
export interface SourceAnswer {
  readonly status: number;
  /** The body as JSON (at most `maxBytes`), or a SourceUnavailableError. */
  json(maxBytes?: number): Promise<unknown>;
  /** Drops the body unread. */
  discard(): void;
}

export interface SourceGetInit {
  readonly headers: Readonly<Record<string, string>>;
  /** Aborts the request (the resolve deadline). */
  readonly signal: AbortSignal;
}

/** One GET of `url`; network failures and aborts are SourceUnavailableErrors. */
export type SourceGet = (url: string, init: SourceGetInit) => Promise<SourceAnswer>;

/** The GET through a fetch function (`redirect: 'manual'`). */
export const fetchGet =
  (fetchFn: FetchFunction): SourceGet =>
  async (url, { headers, signal }) => {
    const response = await fetchSource(fetchFn, url, { method: 'GET', headers, signal });
    return {
      status: response.status,
      json: (maxBytes) => readJson(response, maxBytes),
      discard: () => {
        response.body?.cancel().catch(() => undefined);
      },
    };
  };

/** The GET an adapter uses: through `fetchFn` when one is given, else the global fetch. */
export const sourceGet = (fetchFn?: FetchFunction): SourceGet =>
  fetchGet(fetchFn ?? ((input, init) => fetch(input, init)));

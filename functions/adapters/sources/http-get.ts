/**
 * The HTTP client the source adapters use by default: one GET over
 * `node:http`/`node:https` with keep-alive connections, the status, and the
 * JSON body read under a size limit (docs/adr/0099).
 *
 * It does what the adapters need of fetch and nothing more: no redirects are
 * followed (a 3xx is "no answer", as with `redirect: 'manual'`), the request
 * ends when `signal` aborts, a gzip, deflate or br body is decoded (none is
 * asked for), and every failure is a SourceUnavailableError.
 * A GET on a kept-alive connection that the server had just closed (reset or
 * broken pipe; a Lambda environment frozen between invocations meets this) is
 * retried once, on a connection of its own (the request is idempotent; Node.js
 * marks such a request `reusedSocket`).
 *
 * An adapter given a `fetch` function (tests, a custom transport) uses that
 * instead, through `fetchGet`.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import {
  type FetchFunction,
  fetchSource,
  MAX_SOURCE_BODY_BYTES,
  readJson,
  SourceUnavailableError,
} from '#core/sources/source-adapter.js';

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

/** The same GET through a fetch function (`redirect: 'manual'`). */
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

const oversized = () => new SourceUnavailableError('source answered with an oversized body');
const failure = (signal: AbortSignal, cause: unknown, what: string) =>
  new SourceUnavailableError(signal.aborted ? 'source missed the deadline' : what, { cause });

/** The content codings the body may come in (what fetch decodes too); anything else is refused. */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => createGunzip(),
  'x-gzip': () => createGunzip(),
  deflate: () => createInflate(),
  br: () => createBrotliDecompress(),
};

const readBody = (response: http.IncomingMessage, signal: AbortSignal, maxBytes: number): Promise<unknown> =>
  new Promise((resolve, reject) => {
    if (response.destroyed) {
      reject(failure(signal, response.errored, 'source connection failed while answering'));
      return;
    }
    const refuse = (error: SourceUnavailableError) => {
      response.destroy();
      reject(error);
    };
    if (Number(response.headers['content-length'] ?? Number.NaN) > maxBytes) {
      refuse(oversized());
      return;
    }
    const coding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
    const plain = coding === '' || coding === 'identity';
    const decoder = plain || !Object.hasOwn(DECODERS, coding) ? undefined : DECODERS[coding];
    if (!plain && !decoder) {
      refuse(new SourceUnavailableError(`source answered in an unsupported content encoding (${coding})`));
      return;
    }
    // The limit counts decoded bytes: a small compressed body cannot unpack into a large one.
    const body: Readable = decoder ? response.pipe(decoder()) : response;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: SourceUnavailableError) => {
      if (settled) return;
      settled = true;
      response.destroy();
      if (body !== response) body.destroy();
      reject(error);
    };
    body.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) fail(oversized());
      else chunks.push(chunk);
    });
    if (body !== response)
      body.once('error', (cause) =>
        fail(new SourceUnavailableError('source answered with a body that does not decode', { cause })),
      );
    response.once('error', (cause) => fail(failure(signal, cause, 'source connection failed while answering')));
    response.once('close', () => {
      if (!response.complete) fail(failure(signal, undefined, 'source connection failed while answering'));
    });
    body.once('end', () => {
      if (settled) return;
      settled = true;
      let text = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      try {
        resolve(JSON.parse(text));
      } catch (cause) {
        reject(new SourceUnavailableError('source answered with invalid JSON', { cause }));
      }
    });
  });

/** A body up to this size is read to the end when discarded, so that its connection can be reused. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/** Drops a body: a small one of known length is drained, anything else ends its connection. */
const discard = (response: http.IncomingMessage): void => {
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (declared <= DRAIN_LIMIT_BYTES) response.resume();
  else response.destroy();
};

let agents: { readonly http: http.Agent; readonly https: https.Agent } | undefined;

/**
 * The default GET: `node:http` or `node:https` by the URL's scheme, over
 * keep-alive connections shared by every adapter in the process.
 */
export const nodeHttpGet: SourceGet = (url, { headers, signal }) => {
  let target: URL;
  try {
    target = new URL(url);
  } catch (cause) {
    return Promise.reject(new SourceUnavailableError('source URL is not valid', { cause }));
  }
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:')
    return Promise.reject(new SourceUnavailableError('source URL must use http or https'));
  agents ??= { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const client = secure ? https : http;
  const agent = secure ? agents.https : agents.http;
  return new Promise<SourceAnswer>((resolve, reject) => {
    const attempt = (mayRetry: boolean) => {
      let request: http.ClientRequest;
      try {
        // The retry takes a connection of its own: the pool may hold more that the server closed.
        const via = mayRetry ? agent : false;
        request = client.request(target, { method: 'GET', headers, agent: via, signal }, (response) =>
          resolve({
            status: response.statusCode ?? 0,
            json: (maxBytes = MAX_SOURCE_BODY_BYTES) => readBody(response, signal, maxBytes),
            discard: () => discard(response),
          }),
        );
      } catch (cause) {
        // Node.js checks header names and values as it builds the request.
        reject(new SourceUnavailableError('source request could not be built', { cause }));
        return;
      }
      request.once('error', (cause: NodeJS.ErrnoException) => {
        // The server closed an idle kept-alive connection as this request went out on it.
        const closedUnder = cause.code === 'ECONNRESET' || cause.code === 'EPIPE';
        if (mayRetry && request.reusedSocket && closedUnder && !signal.aborted) attempt(false);
        else reject(failure(signal, cause, 'source unreachable'));
      });
      request.end();
    };
    attempt(true);
  });
};

/** The GET an adapter uses: through `fetchFn` when one is given, else `nodeHttpGet`. */
export const sourceGet = (fetchFn: FetchFunction | undefined): SourceGet => (fetchFn ? fetchGet(fetchFn) : nodeHttpGet);

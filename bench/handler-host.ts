/**
 * The handler host of the request-path benchmark: a process that holds the
 * deployed bundles (bench/build.ts) and nothing else, as a Lambda execution
 * environment does: no TypeScript loader, no local IdP, no Notion simulator,
 * no local server in it, only the handler, its settings in the environment and
 * the AWS SDK from node_modules. Its figures are the deployed code's.
 *
 * Bundled by bench/service.ts and forked with an IPC channel; it sends
 * `{ ready: true }`, then answers each HostRequest with a HostReply.
 *
 * What it counts, without touching the handlers, through
 * node:diagnostics_channel and one wrapper of ClientRequest#end: every
 * DynamoDB request (its `x-amz-target` header, from end() until
 * `http.client.response.finish`; a read whose body names the connections
 * table is a token-check read) and every source request: any other request
 * made with node:http (the adapters' default client: from end() until the
 * answer's headers, `http.client.response.finish`) or with fetch
 * (`undici:request:create` until `undici:request:headers`). Only the measured
 * handler's and the baseline's timed calls count, each apart.
 */
import { subscribe } from 'node:diagnostics_channel';
import { ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { serveHandlers } from '#local/server.js';
import { lambdaContext } from '#test/helpers/factories.js';

interface Result {
  readonly statusCode?: number;
  readonly body?: string;
}
type Handler = (event: unknown, context: unknown) => Promise<Result>;

export interface AlternateRequest {
  readonly kind: 'alternate';
  /** Bundle files of the measured handler and of the baseline. */
  readonly files: { readonly measured: string; readonly baseline: string };
  readonly events: { readonly measured: unknown; readonly baseline: unknown };
  readonly warmup: number;
  readonly calls: number;
  /** The connections table's name: a read whose body names it is a token-check read. */
  readonly connectionsTable: string;
}

export interface RefreshChainRequest {
  readonly kind: 'refresh-chain';
  readonly file: string;
  /** An API Gateway v2 event whose urlencoded body holds `refresh_token=__TOKEN__`. */
  readonly event: { readonly body: string } & Record<string, unknown>;
  readonly refreshToken: string;
  readonly warmup: number;
  readonly calls: number;
}

/** Serves handlers behind the local API Gateway stand-in (local/server.ts) on 127.0.0.1, until the host ends. */
export interface ServeRequest {
  readonly kind: 'serve';
  readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string; readonly file: string }>;
}

/** The host's CPU time so far (process.cpuUsage(): every thread of the process, user and system). */
export interface CpuRequest {
  readonly kind: 'cpu';
}

export type HostRequest = AlternateRequest | RefreshChainRequest | ServeRequest | CpuRequest;

export interface TrafficFigures {
  /** DynamoDB requests by operation (x-amz-target without its prefix), over the timed calls. */
  readonly dynamoRequests: Readonly<Record<string, number>>;
  /** GetItem, BatchGetItem and Query requests that read the connections table. */
  readonly tokenCheckReads: number;
  /** Sum of the DynamoDB requests' durations, request start to response end. */
  readonly dynamoMs: number;
  readonly sourceRequests: number;
  /** Sum of the source requests' durations, request start to answer headers. */
  readonly sourceMs: number;
}

export interface MeasuredReply {
  readonly ok: true;
  readonly measured: number[];
  readonly baseline: number[];
  /** Traffic during the timed calls of the measured handler only. */
  readonly traffic: TrafficFigures;
  /** Traffic during the timed calls of the baseline (alternate requests only). */
  readonly baselineTraffic?: TrafficFigures;
}

export interface ServedReply {
  readonly ok: true;
  readonly baseUrl: string;
}

export interface CpuReply {
  readonly ok: true;
  readonly cpuMs: number;
}

export type HostReply = MeasuredReply | ServedReply | CpuReply | { readonly ok: false; readonly error: string };

const context = lambdaContext({ functionName: 'notion-link-preview-bench' });

// --- traffic, counted into `counting` while it is set ---------------------
/** The connections table's name as it appears in a request body (JSON string); empty: not counted. */
let connectionsNeedle = '';

/** What one side's timed calls sent: DynamoDB requests and source requests, with their durations. */
class Traffic {
  readonly dynamoRequests = new Map<string, number>();
  tokenCheckReads = 0;
  dynamoMs = 0;
  sourceRequests = 0;
  sourceMs = 0;
  figures(): TrafficFigures {
    return {
      dynamoRequests: Object.fromEntries([...this.dynamoRequests.entries()].sort()),
      tokenCheckReads: this.tokenCheckReads,
      dynamoMs: this.dynamoMs,
      sourceRequests: this.sourceRequests,
      sourceMs: this.sourceMs,
    };
  }
}
let counting: Traffic | undefined;
/** When each counted request started, and into which side's traffic it counts; DynamoDB's and the source's apart. */
const dynamoStarted = new WeakMap<object, { readonly at: number; readonly into: Traffic }>();
const sourceStarted = new WeakMap<object, { readonly at: number; readonly into: Traffic }>();

// A DynamoDB request is known by its x-amz-target header; its body (handed whole to end() by
// the SDK) names the tables it reads. The start channel fires only once the body is sent.
const end = ClientRequest.prototype.end as (this: ClientRequest, ...args: unknown[]) => ClientRequest;
ClientRequest.prototype.end = function (this: ClientRequest, ...args: unknown[]) {
  const into = counting;
  const target = into ? this.getHeader('x-amz-target') : undefined;
  if (into && typeof target === 'string' && target.startsWith('DynamoDB_')) {
    const operation = target.slice(target.indexOf('.') + 1);
    into.dynamoRequests.set(operation, (into.dynamoRequests.get(operation) ?? 0) + 1);
    const body = args[0];
    if (
      connectionsNeedle !== '' &&
      /^(GetItem|BatchGetItem|Query)$/.test(operation) &&
      (typeof body === 'string' || Buffer.isBuffer(body)) &&
      body.includes(connectionsNeedle)
    )
      into.tokenCheckReads++;
    dynamoStarted.set(this, { at: performance.now(), into });
  } else if (into) {
    into.sourceRequests++;
    sourceStarted.set(this, { at: performance.now(), into });
  }
  return end.apply(this, args);
} as ClientRequest['end'];
/** Adds how long ago `request` was started to the traffic it counts into (and forgets it). */
const finish = (
  starts: WeakMap<object, { readonly at: number; readonly into: Traffic }>,
  request: object,
  field: 'dynamoMs' | 'sourceMs',
): void => {
  const start = starts.get(request);
  if (start === undefined) return;
  starts.delete(request);
  start.into[field] += performance.now() - start.at;
};
subscribe('http.client.response.finish', (message) => {
  const { request } = message as { request: ClientRequest };
  finish(dynamoStarted, request, 'dynamoMs');
  finish(sourceStarted, request, 'sourceMs');
});
subscribe('undici:request:create', (message) => {
  if (!counting) return;
  counting.sourceRequests++;
  sourceStarted.set((message as { request: object }).request, { at: performance.now(), into: counting });
});
subscribe('undici:request:headers', (message) => {
  finish(sourceStarted, (message as { request: object }).request, 'sourceMs');
});

// --- calls ----------------------------------------------------------------
const load = async (file: string): Promise<Handler> => {
  const module = (await import(pathToFileURL(file).href)) as { handler?: unknown };
  if (typeof module.handler !== 'function') throw new Error(`${file} exports no handler`);
  return module.handler as Handler;
};

const timed = async (handler: Handler, event: unknown): Promise<[number, Result]> => {
  const start = performance.now();
  const result = await handler(event, context);
  return [performance.now() - start, result];
};

const expect200 = (what: string, result: Result): void => {
  if (result.statusCode !== 200) throw new Error(`${what} answered ${result.statusCode}: ${result.body}`);
};

/** Warm both, then alternate timed calls so that drift of the machine's load hits both alike. */
const alternate = async (request: AlternateRequest): Promise<MeasuredReply> => {
  connectionsNeedle = request.connectionsTable === '' ? '' : JSON.stringify(request.connectionsTable);
  const measured = await load(request.files.measured);
  const baseline = await load(request.files.baseline);
  const sides = { measured: new Traffic(), baseline: new Traffic() };
  const call = async (which: 'measured' | 'baseline', sink?: number[]) => {
    const handler = which === 'measured' ? measured : baseline;
    counting = sink === undefined ? undefined : sides[which];
    const [ms, result] = await timed(handler, request.events[which]);
    counting = undefined;
    expect200(which, result);
    sink?.push(ms);
  };
  for (let i = 0; i < request.warmup; i++) {
    await call('measured');
    await call('baseline');
  }
  const m: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < request.calls; i++) {
    await call('measured', m);
    await call('baseline', b);
  }
  return {
    ok: true,
    measured: m,
    baseline: b,
    traffic: sides.measured.figures(),
    baselineTraffic: sides.baseline.figures(),
  };
};

/** A chain of refresh grants, each with the refresh token the previous one returned. */
const refreshChain = async (request: RefreshChainRequest): Promise<MeasuredReply> => {
  const handler = await load(request.file);
  let token = request.refreshToken;
  const call = async (sink?: number[]) => {
    const body = request.event.body.replace('__TOKEN__', encodeURIComponent(token));
    const [ms, result] = await timed(handler, { ...request.event, body });
    expect200('refresh grant', result);
    token = (JSON.parse(String(result.body)) as { refresh_token: string }).refresh_token;
    sink?.push(ms);
  };
  for (let i = 0; i < request.warmup; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < request.calls; i++) await call(samples);
  return { ok: true, measured: samples, baseline: [], traffic: new Traffic().figures() };
};

const serve = async (request: ServeRequest): Promise<ServedReply> => {
  const routes = [];
  for (const route of request.routes)
    routes.push({ method: route.method, path: route.path, handler: await load(route.file) });
  const server = await serveHandlers(routes as Parameters<typeof serveHandlers>[0]);
  return { ok: true, baseUrl: server.baseUrl };
};

const cpu = async (): Promise<CpuReply> => {
  const { user, system } = process.cpuUsage();
  return { ok: true, cpuMs: (user + system) / 1000 };
};

const answer = (request: HostRequest): Promise<HostReply> => {
  switch (request.kind) {
    case 'alternate':
      return alternate(request);
    case 'serve':
      return serve(request);
    case 'refresh-chain':
      return refreshChain(request);
    case 'cpu':
      return cpu();
  }
};

process.on('message', (request: HostRequest) => {
  const run = answer(request);
  run
    .catch(
      (error: unknown): HostReply => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    )
    .then((reply) => process.send?.(reply));
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });

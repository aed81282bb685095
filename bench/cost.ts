/**
 * `cost`: the AWS operations each user-visible operation takes, counted
 * against the real local parts (the whole local system: dynalite and fauxqs
 * through the handlers' own SDK clients, the Notion simulator, the local IdP,
 * the demo product), and what they come to at list prices.
 *
 * - AWS requests: bench/aws-count.ts, a middleware added from outside to
 *   every SDK client of this process (the handlers' included), with the
 *   consumed capacity dynalite reports.
 * - Lambda invocations and API Gateway requests: one per request the local
 *   API Gateway stand-in routed to a handler (its request log), one per batch
 *   the benchmark hands the worker; duration is the local wall time of each
 *   (an estimate: local DynamoDB and product round trips), billed per started
 *   millisecond at the memory the stack gives every function.
 * - SQS requests of Lambda's poller (ReceiveMessage, DeleteMessageBatch) are
 *   made by the benchmark's own client, which stands in for the event source
 *   mapping: counted one per non-empty receive and one per delete batch (idle
 *   polling is a fixed cost per queue, not per event, and is left out).
 * - KMS: locally the token cipher is a local AES key; every call through it is
 *   counted as the KMS request it would be in AWS with a cold data-key cache
 *   (encrypt → GenerateDataKey, decrypt → Decrypt): an upper bound, as the KMS
 *   cipher reuses a data key per context for 5 minutes in a warm environment.
 * - Secrets Manager: locally secrets are values. In AWS each secret is read
 *   once per execution environment and cached 5 minutes (adapters/oidc/secrets.ts),
 *   so no operation reads one on a warm path: counted 0 per operation (estimated).
 *
 * Scenarios run with Notion's per-connection rate set high, so no push waits
 * for the rate limit: deferrals (a delayed work item and a rate-bucket write
 * each) are what `scale` shows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { LocalTokenCipher, tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { resourceOfUri } from '#core/updates/render.js';
import { ENV } from '#lib/env-names.js';
import { ROUTES, WORKER_HANDLER } from '#lib/routes.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import type { NotionSimulator } from '#local/notion-simulator/simulator.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { getConfig } from '#shared/config.js';
import { createWebhookPublisher } from '../functions/publish/index.js';
import { type AwsCounter, type Counts, installAwsCounter, serviceTotals } from './aws-count.js';
import { ROOT } from './build.js';
import { benchConnection, connectionIdOfToken } from './fixtures.js';
import type { PriceTable } from './prices.js';
import { round } from './stats.js';

/** The SDK client classes the handlers use; their common base class gets the counter. */
export const countAwsRequests = (): AwsCounter =>
  installAwsCounter([DynamoDBClient, SQSClient, DynamoDBDocumentClient]);

/** The memory the stack gives every function (lib/constructs/node-function.ts). */
export const functionMemoryMb = (): number => {
  const source = readFileSync(path.join(ROOT, 'lib', 'constructs', 'node-function.ts'), 'utf8');
  const mb = Number(/memorySize:\s*(\d+)/.exec(source)?.[1]);
  if (!Number.isFinite(mb) || mb <= 0) throw new Error('lib/constructs/node-function.ts states no memorySize');
  return mb;
};

/** Calls through the local token cipher, which would be KMS requests in AWS. */
const cipherCalls = { encrypt: 0, decrypt: 0 };
let cipherCounted = false;
const countCipherCalls = () => {
  if (cipherCounted) return;
  cipherCounted = true;
  const proto = LocalTokenCipher.prototype;
  const { encrypt, decrypt } = proto;
  proto.encrypt = function (this: LocalTokenCipher, ...args: Parameters<typeof encrypt>) {
    cipherCalls.encrypt++;
    return encrypt.apply(this, args);
  };
  proto.decrypt = function (this: LocalTokenCipher, ...args: Parameters<typeof decrypt>) {
    cipherCalls.decrypt++;
    return decrypt.apply(this, args);
  };
};

export interface OperationCost {
  readonly scenario: string;
  /** How many times the scenario ran; every figure below is per run. */
  readonly runs: number;
  /** AWS requests by `Service.Operation`. */
  readonly requests: Readonly<Record<string, number>>;
  readonly dynamoRequests: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Share of the DynamoDB units the emulator reported (the rest estimated from item sizes). */
  readonly reportedUnitShare: number;
  readonly sqsRequests: number;
  /** SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch) … requests as billed (64 KB chunks), the poller's included. */
  readonly sqsBilledRequests: number;
  readonly lambdaInvocations: Readonly<Record<string, number>>;
  readonly lambdaMs: number;
  readonly gbSeconds: number;
  readonly apiGatewayRequests: number;
  /** Upper bound: one per call through the token cipher (cold data-key cache). */
  readonly kmsRequests: number;
  /** Estimated (see the module comment): 0 on warm paths. */
  readonly secretsManagerCalls: number;
  /** Product (source) requests are not AWS costs; Notion PATCH calls neither. */
  readonly notionPatches: number;
  /** Requests that reached the demo product's API (its own counter). */
  readonly productCalls: number;
  /**
   * With `measureCost({ independent })` only: the DynamoDB requests the probe counted on its own
   * (e.g. on the wire to the emulator), by operation, per run.
   */
  readonly independent?: Readonly<Record<string, number>>;
  readonly usd: number;
  readonly usdByService: Readonly<Record<string, number>>;
}

export interface CostFigures {
  readonly memoryMb: number;
  readonly prices: {
    readonly asOf: string;
    readonly region: string;
    readonly perUnit: Readonly<Record<string, number>>;
  };
  readonly operations: readonly OperationCost[];
  readonly usdPerMillionFirstUnfurls: number;
  readonly usdPerMillionRepeatUnfurls: number;
  /** A thousand change events, each to 100 subscribers (on 100 connections, one each). */
  readonly usdPerThousandChangesTo100: number;
  readonly usdPerThousandChangesTo100OnOneConnection: number;
  readonly dynamoRequestsPerSubscriberAt100: number;
  /** The floor of a change to 100 subscribers on 100 connections (changeFloor) and the measured ÷ floor. */
  readonly changeFloorAt100: number;
  readonly changeFloorRatioAt100: number;
  /** A change to 10,000 subscribers on 10,000 connections, extrapolated (not measured): see `basis`. */
  readonly changeTo10000: {
    readonly subscribers: number;
    readonly dynamoRequests: number;
    readonly dynamoRequestsPerSubscriber: number;
    readonly floor: number;
    readonly usd: number;
    readonly basis: string;
  };
}

/** Subscriptions per work item (the worker's page size, DEFAULT_WORKER_SETTINGS.pageSize). */
export const CHANGE_PAGE_SIZE = 50;

/**
 * The fewest DynamoDB requests a change to `subscribers` subscribers on `connections` connections
 * (spread evenly) can take while keeping every guarantee of the worker, read off the flow
 * (docs/adr/0118): per change, the webhook id's read and its record after the enqueue (ADR 0153) and
 * the coalescing window's marker (3);
 * per page of 50 subscriptions, the page's Query, one BatchGetItem of its connections and one of
 * their pauses (own and workspace's, 100 keys a request), the delivery log in BatchWriteItems of
 * 25 and the delivery's list of completed pushes (1); per subscriber, the rate bucket's
 * conditional update and the claim of the push in its subscription item (2).
 */
export const changeFloor = (subscribers: number, connections: number): number => {
  let floor = 3;
  for (let done = 0; done < subscribers; done += CHANGE_PAGE_SIZE) {
    const page = Math.min(CHANGE_PAGE_SIZE, subscribers - done);
    const pageConnections = Math.min(page, Math.max(1, Math.round((page * connections) / subscribers)));
    floor +=
      1 +
      Math.ceil(pageConnections / 100) +
      Math.ceil((2 * pageConnections) / 100) +
      Math.ceil(page / 25) +
      1 +
      2 * page;
  }
  return floor;
};

interface Window {
  readonly aws: Counts;
  readonly independent?: Readonly<Record<string, number>>;
  readonly productCalls: number;
  readonly lambda: Map<string, { invocations: number; ms: number }>;
  readonly apiGatewayRequests: number;
  readonly kms: number;
  readonly patches: number;
  readonly poller: { receives: number; deleteBatches: number; messages: number };
}

const matchRoute = (method: string, pathname: string) =>
  ROUTES.find((r) => r.method === method && r.path === pathname) ??
  (method === 'POST' && pathname === '/deleted-token' ? ROUTES.find((r) => r.path === '/deleted-token') : undefined);

/**
 * A change to 10,000 subscribers on as many connections, extrapolated (not measured): the
 * largest measured spread change's ratio to its floor, applied to the floor at 10,000; its
 * dollars per subscriber, times 10,000.
 */
const extrapolate = (operations: readonly OperationCost[], sizes: readonly number[]): CostFigures['changeTo10000'] => {
  const N = 10_000;
  const n = Math.max(...sizes);
  const o =
    operations.find(
      (x) => x.scenario.startsWith(`change → ${n} subscriber`) && x.scenario.endsWith(`on ${n} connections`),
    ) ?? operations.find((x) => x.scenario.startsWith(`change → ${n} subscriber`));
  const floor = changeFloor(N, N);
  if (!o)
    return {
      subscribers: N,
      dynamoRequests: 0,
      dynamoRequestsPerSubscriber: 0,
      floor,
      usd: 0,
      basis: 'no change measured',
    };
  const ratio = o.dynamoRequests / changeFloor(n, n);
  const dynamoRequests = Math.round(floor * ratio);
  return {
    subscribers: N,
    dynamoRequests,
    dynamoRequestsPerSubscriber: round(dynamoRequests / N, 3),
    floor,
    usd: Number(((o.usd * N) / n).toPrecision(4)),
    basis: `extrapolated: the measured change to ${n} subscribers (${round(ratio, 3)}× its floor) applied to the floor at ${N}`,
  };
};

const LOG_LINE = /^\[http\] ([A-Z]+) (\S+) (\d+) (\d+)ms/;

/** A count kept apart from the SDK middleware: started at the beginning of each scenario, read at its end. */
export type IndependentProbe = (dynamodbEndpoint: string) => { stop(): Readonly<Record<string, number>> };

export const measureCost = async (options: {
  readonly changeSubscribers?: readonly number[];
  readonly prices: PriceTable;
  readonly independent?: IndependentProbe;
}): Promise<CostFigures> => {
  const counter = countAwsRequests();
  countCipherCalls();
  const memoryMb = functionMemoryMb();
  const sizes = options.changeSubscribers ?? [1, 10, 100];

  const httpLines: string[] = [];
  const system: LocalSystem = await startLocalSystem({
    port: 0,
    workerLoop: false,
    env: {
      LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      // No push waits for Notion's rate limit here (see the module comment).
      [ENV.NOTION_RATE_LIMIT_PER_MINUTE]: '100000',
      [ENV.COALESCE_WINDOW_SECONDS]: '1',
    },
    log: (level, message) => {
      if (level === 'info' && message.startsWith('[http] ')) httpLines.push(message);
      else if (level === 'error') process.stderr.write(`local system: ${message}\n`);
    },
  });
  try {
    const sim = simulatorFor(system.baseUrl) as NotionSimulator;
    if (!sim) throw new Error('the local system did not mount the Notion simulator');
    sim.configure({ api: { rateLimit: 100_000, workspaceRateLimit: 0 } });
    const config = getConfig();
    const base = system.baseUrl;
    const workerHandler = await system.handler<(e: SQSEvent, c: Context) => Promise<SQSBatchResponse>>(WORKER_HANDLER);
    const queueUrl = system.env[ENV.UPDATE_QUEUE_URL] ?? '';
    // The stand-in for Lambda's SQS poller: its requests are counted apart.
    const poller = new SQSClient({
      region: system.env.AWS_REGION ?? 'us-east-1',
      endpoint: system.emulators.sqsEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    counter.exclude(poller);

    /** The demo product's own count of API requests (its stats route counts none). */
    const productCalls = async (): Promise<number> =>
      ((await (await fetch(`${base}/demo/api/stats`)).json()) as { apiRequests: number }).apiRequests;

    let current: Window | undefined;
    const workerStats = { invocations: 0, ms: 0 };

    /** Runs `fn` with everything it causes counted. */
    const measure = async (fn: () => Promise<void>): Promise<Window> => {
      const before = counter.snapshot();
      const kmsBefore = cipherCalls.encrypt + cipherCalls.decrypt;
      const productBefore = await productCalls();
      const probe = options.independent?.(system.emulators.dynamodbEndpoint);
      const patchesBefore = sim.stats().patchCalls;
      httpLines.length = 0;
      workerStats.invocations = 0;
      workerStats.ms = 0;
      const window = {
        lambda: new Map<string, { invocations: number; ms: number }>(),
        poller: { receives: 0, deleteBatches: 0, messages: 0 },
      };
      current = window as Window;
      await fn();
      // The request log line is written when the answer is finished: let it land.
      await new Promise((r) => setTimeout(r, 20));
      let apiGatewayRequests = 0;
      for (const line of httpLines) {
        const m = LOG_LINE.exec(line);
        if (!m) continue;
        const route = matchRoute(m[1] as string, m[2] as string);
        if (!route) continue; // the IdP, the simulator, the product: not ours
        apiGatewayRequests++;
        const entry = window.lambda.get(route.handler) ?? { invocations: 0, ms: 0 };
        entry.invocations++;
        entry.ms += Math.max(1, Number(m[4]));
        window.lambda.set(route.handler, entry);
      }
      if (workerStats.invocations > 0)
        window.lambda.set('update-worker', { invocations: workerStats.invocations, ms: workerStats.ms });
      return {
        ...window,
        aws: counter.since(before),
        apiGatewayRequests,
        kms: cipherCalls.encrypt + cipherCalls.decrypt - kmsBefore,
        patches: sim.stats().patchCalls - patchesBefore,
        productCalls: (await productCalls()) - productBefore,
        ...(probe ? { independent: probe.stop() } : {}),
      };
    };

    /** Delivers the update queue to the worker handler, as the event source mapping would, until it is empty. */
    const drainQueue = async (done: () => boolean) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error('the update queue did not drain within 60 s');
        const got = await poller.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        const messages = got.Messages ?? [];
        if (messages.length === 0) {
          const attrs = await poller.send(
            new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
          );
          const a = attrs.Attributes ?? {};
          const pending =
            Number(a.ApproximateNumberOfMessages ?? 0) +
            Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
            Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
          if (pending === 0 && done()) return;
          continue;
        }
        if (current) {
          current.poller.receives++;
          current.poller.messages += messages.length;
        }
        const event: SQSEvent = {
          Records: messages.map((m) => ({
            messageId: m.MessageId ?? '',
            receiptHandle: m.ReceiptHandle ?? '',
            body: m.Body ?? '',
            attributes: {
              ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
              SentTimestamp: '0',
              SenderId: 'local',
              ApproximateFirstReceiveTimestamp: '0',
            },
            messageAttributes: {},
            md5OfBody: '',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:updates',
            awsRegion: 'us-east-1',
          })),
        };
        const started = performance.now();
        const answer = await workerHandler(event, {
          functionName: '',
          getRemainingTimeInMillis: () => 30_000,
        } as unknown as Context);
        workerStats.invocations++;
        workerStats.ms += Math.max(1, Math.ceil(performance.now() - started));
        const failed = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        const ok = messages.filter((m) => !failed.has(m.MessageId ?? ''));
        if (ok.length > 0) {
          await poller.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: ok.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
            }),
          );
          if (current) current.poller.deleteBatches++;
        }
      }
    };

    const request = async (
      method: string,
      pathname: string,
      init: { bearer?: string; json?: unknown; form?: Record<string, string> } = {},
    ) => {
      const headers: Record<string, string> = {};
      if (init.bearer) headers.authorization = `Bearer ${init.bearer}`;
      let body: string | undefined;
      if (init.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(init.json);
      } else if (init.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(init.form).toString();
      }
      const res = await fetch(`${base}${pathname}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      return { status: res.status, text };
    };
    const expect = (what: string, status: number, wanted: number | readonly number[]) => {
      const ok = typeof wanted === 'number' ? status === wanted : wanted.includes(status);
      if (!ok) throw new Error(`${what} answered ${status}`);
    };

    /** A connection made as Notion makes it: sign-in, consent, code exchange (driven through the simulator). */
    const connect = async (login: string) => {
      const driver = new NotionDriver({
        baseUrl: base,
        formValues: { login, password: `${login}-password`, decision: 'allow' },
      });
      await driver.open();
      await driver.signIn();
      const cookie = driver.jar.header(new URL(`${base}/`)) ?? '';
      const sessionId = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(cookie)?.[1] ?? '';
      const grant = sim.session(sessionId)?.grant;
      if (!grant?.refreshToken) throw new Error('the simulator holds no grant with a refresh token');
      return { accessToken: grant.accessToken, refreshToken: grant.refreshToken };
    };

    const results: Array<{ scenario: string; runs: number; window: Window }> = [];
    const record = (scenario: string, window: Window, runs = 1) => results.push({ scenario, runs, window });

    // --- The request path.
    let tokens = { accessToken: '', refreshToken: '' };
    record(
      'oauth connect (authorize → login → callback → consent → token)',
      await measure(async () => {
        tokens = await connect('alice');
      }),
    );
    const uri = `${base}/demo/tasks/2`;
    record(
      'first unfurl',
      await measure(async () => {
        expect(
          'first unfurl',
          (await request('POST', '/unfurl', { bearer: tokens.accessToken, json: { uri } })).status,
          200,
        );
      }),
    );
    const REPEATS = 10;
    record(
      'repeat unfurl',
      await measure(async () => {
        for (let i = 0; i < REPEATS; i++)
          expect(
            'repeat unfurl',
            (await request('POST', '/unfurl', { bearer: tokens.accessToken, json: { uri } })).status,
            200,
          );
      }),
      REPEATS,
    );
    record(
      'unfurl with an invalid token',
      await measure(async () => {
        expect(
          'unfurl with an invalid token',
          (await request('POST', '/unfurl', { bearer: 'not-a-token', json: { uri } })).status,
          401,
        );
      }),
    );
    record(
      'refresh grant',
      await measure(async () => {
        const r = await request('POST', '/oauth/token', {
          form: {
            grant_type: 'refresh_token',
            refresh_token: tokens.refreshToken,
            client_id: system.env.OAUTH_CLIENT_ID ?? '',
            client_secret: system.env.OAUTH_CLIENT_SECRET ?? '',
          },
        });
        expect('refresh grant', r.status, 200);
        const answer = JSON.parse(r.text) as { access_token: string; refresh_token: string };
        tokens = { accessToken: answer.access_token, refreshToken: answer.refresh_token };
      }),
    );
    record(
      'DELETE /unfurl',
      await measure(async () => {
        expect(
          'DELETE /unfurl',
          (await request('DELETE', '/unfurl', { bearer: tokens.accessToken, json: { uri } })).status,
          200,
        );
      }),
    );
    // A revoked connection's token: well signed and unexpired, its connection ended by the deleted-token callback.
    const carol = await connect('carol');
    const revoke = await request('DELETE', '/deleted-token', { form: { refresh_token: carol.refreshToken } });
    expect('deleted-token callback (carol)', revoke.status, [200, 204]);
    record(
      'unfurl with a revoked token',
      await measure(async () => {
        expect(
          'unfurl with a revoked token',
          (await request('POST', '/unfurl', { bearer: carol.accessToken, json: { uri } })).status,
          401,
        );
      }),
    );
    // The same DELETE /unfurl for a connection with 200 subscriptions: the same requests (a keyed read).
    {
      expect(
        'unfurl before DELETE /unfurl (200)',
        (await request('POST', '/unfurl', { bearer: tokens.accessToken, json: { uri } })).status,
        200,
      );
      const cid = connectionIdOfToken(tokens.accessToken);
      const now = Date.now();
      const many = subscriptionStore(getConfig());
      for (let i = 1; i < 200; i++)
        await many.upsert({
          resourceKey: `task:${1000 + i}`,
          connectionId: cid,
          uri: `${base}/demo/tasks/${1000 + i}`,
          createdAt: now,
          updatedAt: now,
        });
      record(
        'DELETE /unfurl, connection with 200 subscriptions',
        await measure(async () => {
          expect(
            'DELETE /unfurl (200)',
            (await request('DELETE', '/unfurl', { bearer: tokens.accessToken, json: { uri } })).status,
            200,
          );
        }),
      );
    }
    const other = await connect('bob');
    record(
      'deleted-token callback',
      await measure(async () => {
        expect(
          'deleted-token callback',
          (await request('DELETE', '/deleted-token', { bearer: other.accessToken })).status,
          [200, 204],
        );
      }),
    );

    // --- Change events: N subscribers on one connection, and on N connections (one each).
    const cipher = tokenCipherFromConfig(config);
    const integration = rulesFromConfig(config);
    const resourceOf = resourceOfUri(integration);
    const connections = connectionStore(config);
    const subscriptions = subscriptionStore(config);
    const webhook = createWebhookPublisher({ url: `${base}/changes`, secret: system.env.CHANGES_WEBHOOK_SECRET ?? '' });
    let seq = 0;
    const makeConnection = async () => {
      const key = `cost-${++seq}`;
      const made = sim.createConnection({ key });
      const id = `cost-connection-${seq}`;
      const now = Date.now();
      const connection = await benchConnection({
        id,
        key,
        subject: 'u-alice',
        displayName: 'Alice',
        clientId: system.env.OAUTH_CLIENT_ID ?? 'notion',
        made,
        cipher,
        now,
      });
      await connections.create(connection);
      return { id, simId: made.connectionId };
    };
    const changeScenario = async (task: number, subscribers: number, spread: boolean) => {
      const resourceUri = `${base}/demo/tasks/${task}`;
      const resourceKey = resourceOf(resourceUri);
      if (!resourceKey) throw new Error(`no unfurl rule resolves ${resourceUri}`);
      const uris: string[] = [];
      const single = spread ? undefined : await makeConnection();
      for (let i = 0; i < subscribers; i++) {
        const c = single ?? (await makeConnection());
        const u = i === 0 ? resourceUri : `${resourceUri}?copy=${i}`;
        sim.addPreview(c.simId, u);
        const now = Date.now();
        await subscriptions.upsert({ resourceKey, connectionId: c.id, uri: u, createdAt: now, updatedAt: now });
        uris.push(u);
      }
      const patchesAtStart = sim.stats().patchCalls;
      return measure(async () => {
        await webhook.publish({ uri: resourceUri });
        await drainQueue(() => sim.stats().patchCalls - patchesAtStart >= subscribers);
      });
    };
    let task = 3;
    for (const n of sizes) {
      record(`change → ${n} subscriber(s) on 1 connection`, await changeScenario(task++, n, false));
      if (n > 1) record(`change → ${n} subscribers on ${n} connections`, await changeScenario(task++, n, true));
    }
    poller.destroy();

    // --- Priced.
    const p = options.prices.perUnit;
    const operations: OperationCost[] = results.map(({ scenario, runs, window }) => {
      const per = (n: number) => n / runs;
      const dynamo = serviceTotals(window.aws, 'DynamoDB');
      const sqs = serviceTotals(window.aws, 'SQS');
      const pollerRequests = window.poller.receives + window.poller.deleteBatches;
      const requests: Record<string, number> = Object.fromEntries(
        Object.entries(window.aws).map(([k, v]) => [k, round(per(v.requests), 3)]),
      );
      if (window.poller.receives > 0) requests['SQS.ReceiveMessage (poller)'] = round(per(window.poller.receives), 3);
      if (window.poller.deleteBatches > 0)
        requests['SQS.DeleteMessageBatch (poller)'] = round(per(window.poller.deleteBatches), 3);
      const lambdaInvocations = Object.fromEntries(
        [...window.lambda].map(([k, v]) => [k, round(per(v.invocations), 3)]),
      );
      const invocations = [...window.lambda.values()].reduce((a, v) => a + v.invocations, 0);
      const lambdaMs = [...window.lambda.values()].reduce((a, v) => a + v.ms, 0);
      const gbSeconds = (lambdaMs / 1000) * (memoryMb / 1024);
      const usdByService = {
        dynamodb: per(
          dynamo.readUnits * p['dynamodb.readRequestUnit'] + dynamo.writeUnits * p['dynamodb.writeRequestUnit'],
        ),
        sqs: per((sqs.billedRequests + pollerRequests) * p['sqs.request']),
        lambda: per(invocations * p['lambda.request'] + gbSeconds * p['lambda.gbSecond']),
        apiGateway: per(window.apiGatewayRequests * p['apigateway.httpRequest']),
        kms: per(window.kms * p['kms.request']),
        secretsManager: 0,
      };
      const usd = Object.values(usdByService).reduce((a, b) => a + b, 0);
      return {
        scenario,
        runs,
        requests,
        dynamoRequests: round(per(dynamo.requests), 3),
        readUnits: round(per(dynamo.readUnits), 3),
        writeUnits: round(per(dynamo.writeUnits), 3),
        reportedUnitShare:
          dynamo.readUnits + dynamo.writeUnits > 0
            ? round(dynamo.reportedUnits / (dynamo.readUnits + dynamo.writeUnits), 3)
            : 1,
        sqsRequests: round(per(sqs.requests + pollerRequests), 3),
        sqsBilledRequests: round(per(sqs.billedRequests + pollerRequests), 3),
        lambdaInvocations,
        lambdaMs: round(per(lambdaMs), 1),
        gbSeconds: Number(per(gbSeconds).toPrecision(4)),
        apiGatewayRequests: round(per(window.apiGatewayRequests), 3),
        kmsRequests: round(per(window.kms), 3),
        secretsManagerCalls: 0,
        notionPatches: round(per(window.patches), 3),
        productCalls: round(per(window.productCalls), 3),
        ...(window.independent
          ? {
              independent: Object.fromEntries(
                Object.entries(window.independent).map(([k, v]) => [k, round(per(v), 3)]),
              ),
            }
          : {}),
        usd: Number(usd.toPrecision(4)),
        usdByService: Object.fromEntries(Object.entries(usdByService).map(([k, v]) => [k, Number(v.toPrecision(4))])),
      };
    });
    const find = (prefix: string) => operations.find((o) => o.scenario.startsWith(prefix));
    const top = Math.max(...sizes);
    const spreadTop = find(`change → ${top} subscribers on ${top} connections`) ?? find(`change → ${top} subscriber`);
    const oneTop = find(`change → ${top} subscriber`);
    return {
      memoryMb,
      prices: { asOf: options.prices.asOf, region: options.prices.region, perUnit: options.prices.perUnit },
      operations,
      usdPerMillionFirstUnfurls: round((find('first unfurl')?.usd ?? 0) * 1e6, 2),
      usdPerMillionRepeatUnfurls: round((find('repeat unfurl')?.usd ?? 0) * 1e6, 2),
      usdPerThousandChangesTo100: round((spreadTop?.usd ?? 0) * 1e3 * (100 / top), 4),
      usdPerThousandChangesTo100OnOneConnection: round((oneTop?.usd ?? 0) * 1e3 * (100 / top), 4),
      dynamoRequestsPerSubscriberAt100: round((spreadTop?.dynamoRequests ?? 0) / top, 3),
      changeFloorAt100: changeFloor(top, top),
      changeFloorRatioAt100: round((spreadTop?.dynamoRequests ?? 0) / changeFloor(top, top), 3),
      changeTo10000: extrapolate(operations, sizes),
    };
  } finally {
    await system.stop();
  }
};

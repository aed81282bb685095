/**
 * The real parts of the update pipeline on 127.0.0.1: dynalite + fauxqs (the
 * embedded emulators), the Notion simulator on a server of its own, and the
 * demo product as the source, with POST /changes and the worker handler
 * wired exactly as in a deployment. A small SQS poller stands in for the
 * Lambda event source mapping (receive → handler → delete what succeeded).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { notionRefreshTokenContext, notionTokenContext } from '#core/oauth/cipher-contexts.js';
import { parseSigningKeys } from '#core/oauth/signing-keys.js';
import type { Connection } from '#core/ports.js';
import { demoRules } from '#core/unfurl/rules.js';
import type { UpdateEvents } from '#core/updates/ports.js';
import type { WorkerSettings } from '#core/updates/worker.js';
import { localDefaults } from '#local/defaults.js';
import { DemoProduct } from '#local/demo-product/app.js';
import { type StartedSimulator, startNotionSimulator } from '#local/notion-simulator/server.js';
import type { SimulatorSettings } from '#local/notion-simulator/settings.js';
import { type Config, parseConfig } from '#shared/config.js';
import { startTestEmulators, type TestEmulators } from '#test/helpers/emulators.js';
import { lambdaContext } from '#test/helpers/factories.js';
import { createWorkerHandler, workerFromConfig } from '../../../functions/handlers/update-worker.js';
import { createQueuePublisher } from '../../../functions/publish/index.js';

export interface RigOptions {
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  readonly env?: Record<string, string>;
  readonly settings?: Partial<WorkerSettings>;
  readonly simulator?: (defaults: SimulatorSettings) => SimulatorSettings;
}

export interface Rig {
  readonly emulators: TestEmulators;
  readonly sim: StartedSimulator;
  readonly product: DemoProduct;
  readonly productBase: string;
  readonly config: Config;
  readonly env: Record<string, string>;
  readonly events: Array<{ event: string; data: Readonly<Record<string, unknown>> }>;
  taskUrl(id: string): string;
  /**
   * A connection of ours bound to a fresh Notion connection of the simulator, with a preview of each uri
   * (and Notion's refresh token, encrypted, when the simulator issues one: `api.issueRefreshToken`).
   */
  connect(
    id: string,
    subject: string,
    uris: readonly string[],
  ): Promise<{ simConnectionId: string; connection: Connection }>;
  subscribe(resourceKey: string, connectionId: string, uri: string): Promise<void>;
  /** A worker handler as a fresh Lambda instance would build it. */
  newHandler(settings?: Partial<WorkerSettings>): ReturnType<typeof createWorkerHandler>;
  stop(): Promise<void>;
}

const sim = (simulator: StartedSimulator) => simulator.simulator;

export const startRig = async (options: RigOptions = {}): Promise<Rig> => {
  const emulators = await startTestEmulators({
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 2,
    maxReceiveCount: options.maxReceiveCount ?? 3,
  });
  // The demo product's own server (the source adapter fetches its JSON API).
  let product: DemoProduct | undefined;
  const server: Server = createServer((req, res) => {
    if (product && (req.url ?? '').startsWith('/demo')) void product.handle(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const defaults = localDefaults((server.address() as AddressInfo).port);
  const started = await startNotionSimulator({
    integration: demoRules(base),
    notionClient: {
      clientId: defaults.NOTION_CLIENT_ID as string,
      clientSecret: defaults.NOTION_CLIENT_SECRET as string,
    },
    serviceClient: {
      clientId: defaults.OAUTH_CLIENT_ID as string,
      clientSecret: defaults.OAUTH_CLIENT_SECRET as string,
    },
    ...(options.simulator ? { settings: options.simulator } : {}),
  });
  const env: Record<string, string> = {
    ...defaults,
    ...emulators.env,
    PUBLIC_BASE_URL: base,
    NOTION_API_BASE_URL: started.apiBaseUrl,
    LOG_LEVEL: 'SILENT',
    ...options.env,
  };
  // The AWS SDK clients read region and (dummy) credentials from the process environment.
  for (const name of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) process.env[name] ??= env[name];
  const config = parseConfig(env);
  // The product verifies the worker's service assertions with the keys the service publishes (ADR 0128).
  const published = (await parseSigningKeys(env.TOKEN_SIGNING_KEY as string)).assertion?.published ?? [];
  product = new DemoProduct({
    baseUrl: `${base}/demo`,
    serviceIssuer: base,
    serviceKeys: createLocalJWKSet({ keys: [...published] }),
  });
  const events: Rig['events'] = [];
  const recorder: UpdateEvents = { record: (event, data) => void events.push({ event, data }) };
  const cipher = tokenCipherFromConfig(config);

  const notionToken = async (): Promise<{
    accessToken: string;
    refreshToken: string | null;
    simConnectionId: string;
    workspaceId: string;
  }> => {
    // Notion's code exchange, as the authorize step performs it (Basic auth, JSON body).
    const code = sim(started).issueCode();
    const basic = Buffer.from(`${env.NOTION_CLIENT_ID}:${env.NOTION_CLIENT_SECRET}`).toString('base64');
    const res = await fetch(`${started.apiBaseUrl}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json', 'notion-version': '2022-06-28' },
      body: JSON.stringify({
        grant_type: 'authorization_code',
        code,
        external_account: { key: `acct-${code}`, name: 'Test' },
      }),
    });
    const body = (await res.json()) as {
      access_token: string;
      refresh_token: string | null;
      workspace_id: string;
      bot_id: string;
    };
    if (!res.ok) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
    const c = sim(started).connectionByExternalKey(`acct-${code}`);
    if (!c) throw new Error('simulator has no connection for the exchanged code');
    return {
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      simConnectionId: c.id,
      workspaceId: body.workspace_id,
    };
  };

  return {
    emulators,
    sim: started,
    product,
    productBase: base,
    config,
    env,
    events,
    taskUrl: (id) => `${base}/demo/tasks/${id}`,
    async connect(id, subject, uris) {
      const { accessToken, refreshToken, simConnectionId, workspaceId } = await notionToken();
      const now = Date.now();
      const connection: Connection = {
        id,
        subject,
        displayName: subject,
        clientId: env.OAUTH_CLIENT_ID as string,
        scope: 'unfurl',
        notion: { workspaceId, workspaceName: null, workspaceIcon: null, botId: `bot-${id}` },
        notionTokenCiphertext: await cipher.encrypt(accessToken, notionTokenContext(id)),
        ...(refreshToken
          ? { notionRefreshTokenCiphertext: await cipher.encrypt(refreshToken, notionRefreshTokenContext(id)) }
          : {}),
        status: 'active',
        tokenGeneration: 1,
        previousRefreshTokenHashes: [],
        createdAt: now,
        updatedAt: now,
      };
      await connectionStore(config).create(connection);
      for (const uri of uris) sim(started).addPreview(simConnectionId, uri);
      return { simConnectionId, connection };
    },
    async subscribe(resourceKey, connectionId, uri) {
      const now = Date.now();
      await subscriptionStore(config).upsert({ resourceKey, connectionId, uri, createdAt: now, updatedAt: now });
    },
    newHandler: (settings = {}) =>
      createWorkerHandler(() =>
        workerFromConfig(config, { events: recorder, settings: { ...options.settings, ...settings } }),
      ),
    async stop() {
      await started.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await emulators.stop();
    },
  };
};

// ---------------------------------------------------------------------------
// Queue helpers
// ---------------------------------------------------------------------------

const queueUrl = (rig: Rig) => rig.env.UPDATE_QUEUE_URL as string;
const dlqUrl = (rig: Rig) => rig.env.UPDATE_DLQ_URL as string;

export const toRecord = (m: Message): SQSRecord => ({
  messageId: m.MessageId ?? '',
  receiptHandle: m.ReceiptHandle ?? '',
  body: m.Body ?? '',
  attributes: {
    ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
    SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
    SenderId: 'local',
    ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:updates',
  awsRegion: 'us-east-1',
});

/** Receives one batch (short poll); undefined when nothing is visible. */
export const receive = async (rig: Rig, url = queueUrl(rig), max = 10) => {
  const out = await rig.emulators.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
};

/** One poll of the event source mapping: receive, invoke, delete the records that did not fail. */
export const pollOnce = async (rig: Rig, handler: ReturnType<typeof createWorkerHandler>): Promise<number> => {
  const messages = await receive(rig);
  if (messages.length === 0) return 0;
  const event: SQSEvent = { Records: messages.map(toRecord) };
  const res = await handler(event, lambdaContext());
  const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
  if (done.length > 0) {
    await rig.emulators.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl(rig),
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
  return messages.length;
};

export const queueDepth = async (rig: Rig, url = queueUrl(rig)): Promise<number> => {
  const out = await rig.emulators.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done()` holds and the queue is empty, or the deadline passes (then throws). */
export const runUntil = async (
  rig: Rig,
  handler: ReturnType<typeof createWorkerHandler>,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = await pollOnce(rig, handler);
    if (n === 0) {
      if ((await done()) && (await queueDepth(rig)) === 0) return;
      await sleep(100);
    }
  }
  const recent = rig.events.slice(-8).map((e) => `${e.event} ${JSON.stringify(e.data)}`);
  throw new Error(
    `the pipeline did not settle within ${timeoutMs} ms (queue depth ${await queueDepth(rig)}; last events: ${recent.join(' | ')})`,
  );
};

/** Sends one change message for `resource` to the update queue, as POST /changes does. */
export const publishChange = (rig: Rig, resource: string) =>
  createQueuePublisher({ queueUrl: queueUrl(rig), sqs: rig.emulators.sqs }).publish({ resource });

export const sendRaw = async (rig: Rig, body: string): Promise<void> => {
  await rig.emulators.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(rig), MessageBody: body }));
};

export const drainDeadLetters = async (rig: Rig): Promise<unknown[]> => {
  const out: unknown[] = [];
  for (;;) {
    const batch = await receive(rig, dlqUrl(rig));
    if (batch.length === 0) return out;
    for (const m of batch) out.push(JSON.parse(m.Body ?? 'null'));
    await rig.emulators.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl(rig),
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
};

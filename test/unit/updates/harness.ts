/**
 * A deterministic harness for the update worker: in-memory stores, a fake
 * clock, a queue that honours delays and visibility timeouts on that clock, a
 * scripted Notion and a renderer backed by a mutable "product".
 */

import { MemoryDeliveryLog } from '#adapters/memory/delivery-log.js';
import { createMemoryStores, type MemoryStores } from '#adapters/memory/index.js';
import { notionRefreshTokenContext, notionTokenContext } from '#core/oauth/cipher-contexts.js';
import type { NotionTokenRefresher } from '#core/oauth/ports.js';
import type { Connection, ConnectionStore, NotionTokenStore, Subscription, TokenCipher } from '#core/ports.js';
import type { NotionAnswer } from '#core/updates/classify.js';
import type { DeadLetter } from '#core/updates/messages.js';
import type { DeliveryLog, ExternalObjectUpdate, Rendered } from '#core/updates/ports.js';
import { createUpdateWorker, type UpdateWorker, type WorkerSettings } from '#core/updates/worker.js';

export class FakeClock {
  constructor(public t = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface NotionCall {
  readonly at: number;
  readonly token: string;
  readonly update: ExternalObjectUpdate;
}

export const ok: NotionAnswer = { kind: 'response', status: 200 };

/** Notion answers the first PATCH with `first` (a promise that never settles: the invocation died in it), then 200. */
export const firstThenOk = (
  first: NotionAnswer | Promise<NotionAnswer>,
): (() => NotionAnswer | Promise<NotionAnswer>) => {
  let answered = false;
  return () => {
    if (answered) return ok;
    answered = true;
    return first;
  };
};

/** A fake cipher that insists on the right context. */
export const fakeCipher: TokenCipher = {
  encrypt: async (plaintext, context) => `enc:${JSON.stringify(context)}:${plaintext}`,
  decrypt: async (ciphertext, context) => {
    const prefix = `enc:${JSON.stringify(context)}:`;
    if (!ciphertext.startsWith(prefix)) throw new Error('wrong encryption context');
    return ciphertext.slice(prefix.length);
  },
};

interface Scheduled {
  body: string;
  visibleAt: number;
  receiveCount: number;
  messageId: string;
}

export interface HarnessOptions {
  readonly settings?: Partial<WorkerSettings>;
  readonly visibilityTimeoutMs?: number;
  /** Remaining time reported to the worker for each record. */
  readonly remainingMs?: () => number;
  /** Stores to run on instead of fresh in-memory ones (e.g. the DynamoDB emulator's). */
  readonly stores?: MemoryStores;
  /** Where the worker's delivery-log writes go instead of `deliveries`. */
  readonly deliveries?: Pick<DeliveryLog, 'record'>;
  /** Notion's refresh grant: given, a 401 to a push refreshes a connection's Notion token once (ADR 0151). */
  readonly notionRefresher?: NotionTokenRefresher;
  readonly notionRefreshClaimMs?: number;
  /** NOTION_TIMEOUT_MS as the refresh's time check sees it (notion-token.ts; default 10 s). */
  readonly notionRequestTimeoutMs?: number;
}

export class Harness {
  readonly clock = new FakeClock();
  readonly stores: MemoryStores;
  readonly calls: NotionCall[] = [];
  readonly deadLetters: DeadLetter[] = [];
  /** Calls of the dead-letter queue's `send` (each one SQS request). */
  deadLetterSends = 0;
  readonly events: Array<{ event: string; data: Readonly<Record<string, unknown>> }> = [];
  /** resource key → version; absent = not found. */
  readonly product = new Map<string, number>();
  /** connection id → resource keys it may not see. */
  readonly forbidden = new Map<string, Set<string>>();
  /** The delivery log the worker writes (set `deliveryLogFails` to make its writes throw). */
  readonly deliveries = new MemoryDeliveryLog(() => this.clock.now());
  deliveryLogFails = false;
  renders = 0;
  answer: (call: NotionCall) => NotionAnswer | Promise<NotionAnswer> = () => ok;
  renderFails = false;
  /** Connections whose upstream login must be renewed: the renderer skips them (core/updates/render.ts). */
  readonly needsLogin = new Set<string>();
  readonly worker: UpdateWorker;
  private scheduled: Scheduled[] = [];
  private seq = 0;
  private tokenSeq = 0;
  processed = 0;

  constructor(readonly options: HarnessOptions = {}) {
    this.stores = options.stores ?? createMemoryStores();
    this.worker = createUpdateWorker({
      clock: this.clock,
      random: {
        token: () => `t${++this.tokenSeq}AAAAAA`,
        uuid: () => `uuid-${++this.tokenSeq}`,
        // A fixed, evenly spread sequence in [0, 1) (golden-ratio steps): backoff jitter is repeatable.
        float: () => (++this.tokenSeq * 0.618033988749895) % 1,
      },
      queue: this.stores.updateQueue,
      deadLetters: {
        send: async (letters) => {
          this.deadLetterSends += 1;
          this.deadLetters.push(...letters);
        },
      },
      markers: this.stores.authState,
      subscriptions: this.stores.subscriptions,
      connections: this.stores.connections,
      rateLimits: this.stores.rateLimits,
      cipher: fakeCipher,
      ...(options.notionRefresher
        ? {
            notionTokens: {
              store: this.notionTokenStore,
              refresher: options.notionRefresher,
              ...(options.notionRefreshClaimMs === undefined ? {} : { claimMs: options.notionRefreshClaimMs }),
              ...(options.notionRequestTimeoutMs === undefined
                ? {}
                : { requestTimeoutMs: options.notionRequestTimeoutMs }),
            },
          }
        : {}),
      notion: {
        patch: async (token, update) => {
          const call = { at: this.clock.now(), token, update };
          this.calls.push(call);
          return this.answer(call);
        },
      },
      renderer: {
        render: async ({ connection, subscription }): Promise<Rendered> => {
          this.renders++;
          if (this.renderFails) throw new Error('source down');
          if (this.needsLogin.has(connection.id)) return { kind: 'skip', reason: 'upstream_login_required' };
          if (this.forbidden.get(connection.id)?.has(subscription.resourceKey)) {
            return { kind: 'error', status: 403, message: 'forbidden' };
          }
          const version = this.product.get(subscription.resourceKey);
          if (version === undefined) return { kind: 'error', status: 404, message: 'Content not found' };
          return {
            kind: 'attributes',
            attributes: [
              {
                id: 'title',
                name: 'Title',
                type: 'inline',
                inline: { title: { value: `${subscription.resourceKey} v${version}`, section: 'title' } },
              },
              {
                id: 'dev',
                name: 'Developer Name',
                type: 'inline',
                inline: { plain_text: { value: 'Test', section: 'secondary' } },
              },
            ],
          };
        },
      },
      resolveUri: (uri) => /\/tasks\/(\d+)$/.exec(uri)?.[1]?.replace(/^/, 'task:'),
      events: { record: (event, data) => void this.events.push({ event, data }) },
      deliveries: {
        record: async (delivery) => {
          if (this.deliveryLogFails) throw new Error('delivery log down');
          await (options.deliveries ?? this.deliveries).record(delivery);
        },
      },
      settings: { backoffBaseMs: 1000, ...options.settings },
    });
  }

  /** The connection store's Notion token writes (the in-memory and DynamoDB stores both have them). */
  get notionTokenStore(): NotionTokenStore {
    return this.stores.connections as ConnectionStore & NotionTokenStore;
  }

  /** A connection whose Notion token is `notion-token-<id>`, holding `notionRefreshToken` when given. */
  async connection(
    id: string,
    workspaceId = 'ws-1',
    status: Connection['status'] = 'active',
    notionRefreshToken?: string,
  ): Promise<Connection> {
    const now = this.clock.now();
    const c: Connection = {
      id,
      subject: `u-${id}`,
      displayName: id,
      clientId: 'notion',
      scope: 'unfurl',
      notion: { workspaceId, workspaceName: null, workspaceIcon: null, botId: `bot-${id}` },
      notionTokenCiphertext: await fakeCipher.encrypt(`notion-token-${id}`, notionTokenContext(id)),
      ...(notionRefreshToken === undefined
        ? {}
        : {
            notionRefreshTokenCiphertext: await fakeCipher.encrypt(notionRefreshToken, notionRefreshTokenContext(id)),
          }),
      status,
      tokenGeneration: 1,
      previousRefreshTokenHashes: [],
      createdAt: now,
      updatedAt: now,
    };
    await this.stores.connections.create(c);
    return c;
  }

  async subscribe(
    resourceKey: string,
    connectionId: string,
    uri: string,
    extra: Partial<Subscription> = {},
  ): Promise<void> {
    const now = this.clock.now();
    await this.stores.subscriptions.upsert({
      resourceKey,
      connectionId,
      uri,
      createdAt: now,
      updatedAt: now,
      ...extra,
    });
  }

  /** Puts a message on the queue (as a product or the webhook would). */
  async publish(message: unknown, delaySeconds = 0): Promise<void> {
    await this.stores.updateQueue.send([message], { delaySeconds });
  }

  private collect(): void {
    for (const m of this.stores.updateQueue.drain()) {
      this.scheduled.push({
        body: m.body,
        visibleAt: this.clock.now() + m.delaySeconds * 1000,
        receiveCount: 0,
        messageId: `m-${++this.seq}`,
      });
    }
  }

  pending(): ReadonlyArray<{ body: unknown; visibleAt: number }> {
    this.collect();
    return this.scheduled.map((s) => ({ body: JSON.parse(s.body), visibleAt: s.visibleAt }));
  }

  /** Delivers the earliest visible message (advancing the clock to it); false when the queue is empty. */
  async step(): Promise<boolean> {
    this.collect();
    if (this.scheduled.length === 0) return false;
    this.scheduled.sort((a, b) => a.visibleAt - b.visibleAt);
    const next = this.scheduled.shift() as Scheduled;
    if (next.visibleAt > this.clock.now()) this.clock.t = next.visibleAt;
    next.receiveCount++;
    this.processed++;
    try {
      await this.worker.processRecord(next.body, {
        messageId: next.messageId,
        receiveCount: next.receiveCount,
        ...(this.options.remainingMs ? { remainingMs: this.options.remainingMs } : {}),
      });
    } catch {
      next.visibleAt = this.clock.now() + (this.options.visibilityTimeoutMs ?? 30_000);
      this.scheduled.push(next);
    }
    this.collect();
    return true;
  }

  /** Runs until the queue is empty (or `maxSteps`). */
  async drain(maxSteps = 100_000): Promise<void> {
    for (let i = 0; i < maxSteps; i++) if (!(await this.step())) return;
    throw new Error('queue did not drain');
  }

  /** Runs the messages visible up to `until` (clock ends at `until`). */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      this.collect();
      const visible = this.scheduled.filter((s) => s.visibleAt <= until);
      if (visible.length === 0) break;
      await this.step();
    }
    if (this.clock.now() < until) this.clock.t = until;
  }

  pushesTo(uri: string): NotionCall[] {
    return this.calls.filter((c) => c.update.uri === uri);
  }

  eventsNamed(name: string) {
    return this.events.filter((e) => e.event === name);
  }
}

let eventSeq = 0;
export const change = (resource: string, extra: Record<string, unknown> = {}) => ({
  type: 'change',
  id: `evt-${++eventSeq}`,
  resource,
  changed_at: '2026-01-15T12:00:00Z',
  ...extra,
});

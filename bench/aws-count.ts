/**
 * Counts the AWS requests of the code in this process, for the `cost` and
 * `scale` figures, without touching production code: a middleware is added
 * from outside to every AWS SDK v3 client on its first `send` (the clients the
 * handlers build in their composition included), by wrapping `send` on the
 * SDK's base client class. The middleware, at the `initialize` step (once per
 * command, whatever the retries):
 *
 * - counts the command by service and operation (`DynamoDB.GetItem`, `SQS.SendMessageBatch`, …);
 * - asks DynamoDB for `ReturnConsumedCapacity: TOTAL` (unless the caller did)
 *   and adds up the capacity the emulator reports; where none is reported (a
 *   failed conditional write, an emulator that does not answer it) it
 *   estimates: reads ⌈size / 4 KB⌉ per item (half for eventually consistent
 *   reads), writes ⌈size / 1 KB⌉, at least 1;
 * - counts SQS messages and their 64 KB chunks (SQS bills a request per 64 KB of payload).
 *
 * Clients the benchmark makes for itself (its stand-in for Lambda's SQS
 * poller) are left out with `exclude`. Install once per process (`installAwsCounter`).
 */

export interface OperationCount {
  requests: number;
  errors: number;
  /** Read request units (DynamoDB). */
  readUnits: number;
  /** Write request units (DynamoDB). */
  writeUnits: number;
  /** Units taken from the emulator's ConsumedCapacity (the rest are estimated). */
  reportedUnits: number;
  /** SQS: messages sent, received or deleted through this operation. */
  messages: number;
  /** SQS: billed requests (one per 64 KB chunk of each request's payload). */
  billedRequests: number;
}

export type Counts = Readonly<Record<string, Readonly<OperationCount>>>;

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const CHUNK = 64 * 1024;

/** DynamoDB's item size: attribute names plus values (an approximation of its rules, good to a few bytes). */
export const itemBytes = (item: unknown): number => {
  if (item === null || item === undefined) return 0;
  if (typeof item === 'string') return Buffer.byteLength(item);
  if (typeof item === 'number' || typeof item === 'bigint') return Math.ceil(String(item).length / 2) + 1;
  if (typeof item === 'boolean') return 1;
  if (item instanceof Uint8Array) return item.byteLength;
  if (item instanceof Set) return [...item].reduce((a: number, v) => a + itemBytes(v), 0);
  if (Array.isArray(item)) return 3 + item.reduce((a: number, v) => a + 1 + itemBytes(v), 0);
  if (typeof item === 'object') {
    const entries = Object.entries(item as Record<string, unknown>);
    // A marshalled attribute value ({S: "…"}, {N: "…"}, {M: {…}}): the value is what counts.
    if (entries.length === 1 && /^(S|N|B|BOOL|NULL|M|L|SS|NS|BS)$/.test(entries[0]?.[0] ?? ''))
      return itemBytes(entries[0]?.[1]);
    return entries.reduce((a, [k, v]) => a + Buffer.byteLength(k) + itemBytes(v), 0);
  }
  return 0;
};

export const readUnitsFor = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / 4096)) / (consistent ? 1 : 2);
export const writeUnitsFor = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

interface Capacity {
  readonly CapacityUnits?: number;
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
}

const reported = (capacity: unknown): number | undefined => {
  const list = (Array.isArray(capacity) ? capacity : capacity ? [capacity] : []) as Capacity[];
  if (list.length === 0) return undefined;
  return list.reduce((a, c) => a + (c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0)), 0);
};

/** Units estimated from what was read or written, when the emulator reports none. */
const estimated = (operation: string, input: Record<string, unknown>, output: Record<string, unknown>): number => {
  const consistent = input.ConsistentRead === true;
  switch (operation) {
    case 'GetItem':
      return output.Item ? readUnitsFor(itemBytes(output.Item), consistent) : readUnitsFor(0, consistent);
    case 'BatchGetItem': {
      const responses = (output.Responses ?? {}) as Record<string, unknown[]>;
      const items = Object.values(responses).flat();
      return items.reduce((a: number, item) => a + readUnitsFor(itemBytes(item), consistent), 0) || 0.5;
    }
    case 'Query':
    case 'Scan': {
      const items = (output.Items ?? []) as unknown[];
      return readUnitsFor(
        items.reduce((a: number, item) => a + itemBytes(item), 0),
        consistent,
      );
    }
    case 'PutItem':
      return writeUnitsFor(itemBytes(input.Item));
    case 'BatchWriteItem': {
      const requests = Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>).flat() as Array<{
        PutRequest?: { Item?: unknown };
      }>;
      return requests.reduce((a: number, r) => a + writeUnitsFor(itemBytes(r.PutRequest?.Item)), 0);
    }
    default:
      // UpdateItem, DeleteItem, a failed conditional write: the item's size is not in the answer.
      return WRITES.has(operation) ? 1 : 0;
  }
};

const sqsMessages = (operation: string, input: Record<string, unknown>, output: Record<string, unknown>): number => {
  switch (operation) {
    case 'SendMessage':
    case 'DeleteMessage':
    case 'ChangeMessageVisibility':
      return 1;
    case 'SendMessageBatch':
    case 'DeleteMessageBatch':
    case 'ChangeMessageVisibilityBatch':
      return ((input.Entries ?? []) as unknown[]).length;
    case 'ReceiveMessage':
      return ((output.Messages ?? []) as unknown[]).length;
    default:
      return 0;
  }
};

const sqsPayloadBytes = (
  operation: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
): number => {
  if (operation === 'SendMessage') return Buffer.byteLength(String(input.MessageBody ?? ''));
  if (operation === 'SendMessageBatch')
    return ((input.Entries ?? []) as Array<{ MessageBody?: string }>).reduce(
      (a, e) => a + Buffer.byteLength(e.MessageBody ?? ''),
      0,
    );
  if (operation === 'ReceiveMessage')
    return ((output.Messages ?? []) as Array<{ Body?: string }>).reduce(
      (a, m) => a + Buffer.byteLength(m.Body ?? ''),
      0,
    );
  return 0;
};

const empty = (): OperationCount => ({
  requests: 0,
  errors: 0,
  readUnits: 0,
  writeUnits: 0,
  reportedUnits: 0,
  messages: 0,
  billedRequests: 0,
});

type Middleware = (
  next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
  context: { clientName?: string; commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

interface Stack {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; priority: 'high' }): void;
}

export interface AwsCounter {
  /** Every operation counted since install. */
  snapshot(): Counts;
  /** What was counted since `before` (a snapshot). */
  since(before: Counts): Counts;
  /** Leaves the requests of this client out (the benchmark's own). */
  exclude(client: { readonly middlewareStack: unknown }): void;
}

let installed: AwsCounter | undefined;

/** `DynamoDBClient` → `DynamoDB`, `SQSClient` → `SQS`, `DynamoDBDocumentClient` → `DynamoDB`. */
const serviceOf = (clientName: string | undefined): string =>
  (clientName ?? 'Unknown').replace(/(Document)?Client$/, '').replace(/^SecretsManager$/, 'SecretsManager');

/**
 * Installs the counter on the SDK clients of this process. `clientClasses`
 * are the SDK client classes to reach (their common base class is wrapped
 * once); pass the ones the code under measurement imports.
 */
export const installAwsCounter = (clientClasses: ReadonlyArray<{ readonly prototype: object }>): AwsCounter => {
  if (installed) return installed;
  const totals = new Map<string, OperationCount>();
  const excluded = new WeakSet<object>();
  const instrumented = new WeakSet<object>();

  const middleware: Middleware = (next, context) => async (args) => {
    const service = serviceOf(context.clientName);
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const isDynamo = service === 'DynamoDB';
    const asksCapacity = isDynamo && (READS.has(operation) || WRITES.has(operation));
    const input =
      asksCapacity && args.input.ReturnConsumedCapacity === undefined
        ? { ...args.input, ReturnConsumedCapacity: 'TOTAL' }
        : args.input;
    const key = `${service}.${operation}`;
    const count = totals.get(key) ?? empty();
    totals.set(key, count);
    count.requests++;
    let output: Record<string, unknown> = {};
    try {
      const result = await next({ ...args, input });
      output = result.output ?? {};
      return result;
    } catch (error) {
      count.errors++;
      throw error;
    } finally {
      if (asksCapacity) {
        const units = reported(output.ConsumedCapacity);
        const value = units ?? estimated(operation, input, output);
        if (units !== undefined) count.reportedUnits += units;
        if (READS.has(operation)) count.readUnits += value;
        else count.writeUnits += value;
      }
      if (service === 'SQS') {
        count.messages += sqsMessages(operation, input, output);
        count.billedRequests += Math.max(1, Math.ceil(sqsPayloadBytes(operation, input, output) / CHUNK));
      } else {
        count.billedRequests++;
      }
    }
  };

  const bases = new Set<object>();
  for (const cls of clientClasses) {
    // The SDK clients extend one base class; a document client extends it too.
    let proto: object | null = cls.prototype;
    while (proto && !Object.hasOwn(proto, 'send')) proto = Object.getPrototypeOf(proto);
    if (proto) bases.add(proto);
  }
  for (const base of bases) {
    const original = (base as { send: (...args: unknown[]) => unknown }).send;
    Object.defineProperty(base, 'send', {
      configurable: true,
      writable: true,
      value: function send(this: { middlewareStack: Stack }, ...args: unknown[]) {
        const stack = this.middlewareStack;
        if (stack && !instrumented.has(stack) && !excluded.has(stack)) {
          instrumented.add(stack);
          stack.add(middleware, { step: 'initialize', name: 'benchAwsCounter', priority: 'high' });
        }
        return original.apply(this, args);
      },
    });
  }

  const copy = (): Record<string, OperationCount> =>
    Object.fromEntries(
      [...totals].map(([k, v]) => [k, { ...v }]).sort(([a], [b]) => String(a).localeCompare(String(b))),
    );

  installed = {
    snapshot: copy,
    since(before) {
      const now = copy();
      const out: Record<string, OperationCount> = {};
      for (const [k, v] of Object.entries(now)) {
        const b = before[k] ?? empty();
        const d: OperationCount = {
          requests: v.requests - b.requests,
          errors: v.errors - b.errors,
          readUnits: v.readUnits - b.readUnits,
          writeUnits: v.writeUnits - b.writeUnits,
          reportedUnits: v.reportedUnits - b.reportedUnits,
          messages: v.messages - b.messages,
          billedRequests: v.billedRequests - b.billedRequests,
        };
        if (d.requests > 0) out[k] = d;
      }
      return out;
    },
    exclude(client) {
      excluded.add(client.middlewareStack as object);
    },
  };
  return installed;
};

/** Totals of a service's operations in `counts`. */
export const serviceTotals = (counts: Counts, service: string): OperationCount => {
  const t = empty();
  for (const [k, v] of Object.entries(counts)) {
    if (!k.startsWith(`${service}.`)) continue;
    t.requests += v.requests;
    t.errors += v.errors;
    t.readUnits += v.readUnits;
    t.writeUnits += v.writeUnits;
    t.reportedUnits += v.reportedUnits;
    t.messages += v.messages;
    t.billedRequests += v.billedRequests;
  }
  return t;
};

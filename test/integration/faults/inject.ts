/**
 * Fault injection into the DynamoDB DocumentClient of a running process: an
 * AWS SDK middleware that, for the calls a rule picks, throws what DynamoDB
 * throws. It sits in the `initialize` step, before the SDK's own retries, so
 * an injected fault is what a handler sees once those retries are exhausted.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export type DynamoFault = 'throttle' | 'condition';

export interface DynamoCall {
  /** e.g. `PutItemCommand`, `UpdateItemCommand`, `QueryCommand`. */
  readonly command: string;
  /** The table of a single-table call ('transaction' for TransactWriteItems, '' for a batch over several). */
  readonly table: string;
  /** Every table the call touches (a batch may touch several). */
  readonly tables: readonly string[];
  /** The key of the one item a single-item call reads or writes (a put's whole item), as the document client takes it. */
  readonly key?: Readonly<Record<string, unknown>>;
  readonly seq: number;
}

export interface FaultInjector {
  /** Decides the fault (if any) for each call; replaced at will. */
  rule: (call: DynamoCall) => DynamoFault | undefined;
  readonly injected: DynamoCall[];
  readonly calls: DynamoCall[];
  remove(): void;
}

const NAME = 'testFaultInjection';

const faultError = (fault: DynamoFault): Error => {
  const error =
    fault === 'throttle'
      ? new Error('The level of configured provisioned throughput for the table was exceeded.')
      : new Error('The conditional request failed');
  error.name = fault === 'throttle' ? 'ProvisionedThroughputExceededException' : 'ConditionalCheckFailedException';
  Object.assign(error, {
    $fault: 'client',
    $metadata: { httpStatusCode: 400, attempts: 3 },
    ...(fault === 'throttle' ? { $retryable: { throttling: true } } : {}),
  });
  return error;
};

export const injectDynamoFaults = (doc: DynamoDBDocumentClient): FaultInjector => {
  let seq = 0;
  const injector: FaultInjector = {
    rule: () => undefined,
    injected: [],
    calls: [],
    remove: () => {
      doc.middlewareStack.remove(NAME);
    },
  };
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        TableName?: string;
        TransactItems?: unknown[];
        RequestItems?: object;
        Key?: Record<string, unknown>;
        Item?: Record<string, unknown>;
      };
      const key = input.Key ?? input.Item;
      const batchTables = Object.keys(input.RequestItems ?? {});
      const call: DynamoCall = {
        command: String((context as { commandName?: string }).commandName ?? ''),
        table:
          input.TableName ??
          (input.TransactItems ? 'transaction' : batchTables.length === 1 ? (batchTables[0] ?? '') : ''),
        tables: input.TableName ? [input.TableName] : batchTables,
        ...(key ? { key } : {}),
        seq: seq++,
      };
      injector.calls.push(call);
      const fault = injector.rule(call);
      if (fault) {
        injector.injected.push(call);
        throw faultError(fault);
      }
      return next(args);
    },
    { step: 'initialize', name: NAME, override: true },
  );
  return injector;
};

/** A deterministic pseudo-random share (0..1) of calls, from a seed (reproducible runs). */
export const everyNth =
  (seed: number, share: number) =>
  (call: DynamoCall): boolean => {
    const x = Math.sin(seed * 9973 + call.seq * 7919) * 10_000;
    return x - Math.floor(x) < share;
  };

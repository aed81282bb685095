/**
 * The grants of lib/functions.ts against what the code really sends: the whole
 * local system runs each function's handler in a context that names it, an SDK
 * middleware records every DynamoDB and SQS command with its table or queue,
 * and the flows a deployment sees run against the emulators (connect through
 * the Notion simulator, unfurl, repeat, a change pushed by the worker, remove,
 * disconnect). Each recorded `function × table × operation` must be declared;
 * the infra test (test/infra/stack.test.ts) asserts the synthesized policy is
 * exactly the declaration.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { needsOf } from '#lib/functions.js';
import { type FunctionName, HANDLERS, WORKER_HANDLER } from '#lib/routes.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import type { LocalSystem } from '#local/system.js';
import { startLocalSystem } from '#local/system.js';
import { runLogLevel } from '#test/helpers/output.js';
import { editDemoTask, openDriver } from '#test/helpers/playground.js';

const running = new AsyncLocalStorage<string>();
/** `function table-or-queue-setting action` lines. */
const recorded = new Set<string>();
const byName = new Map<string, string>();

type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
type Middleware = (next: Next, context: { clientName?: string; commandName?: string }) => Next;

/** The IAM action of an SDK command (SendMessageBatch is authorized by sqs:SendMessage). */
const actionOf = (command: string): string => {
  const op = command.replace(/Command$/, '');
  return op === 'SendMessageBatch' ? 'SendMessage' : op;
};

const recorder: Middleware = (next, context) => async (args) => {
  const fn = running.getStore();
  if (fn) {
    const action = actionOf(context.commandName ?? 'Unknown');
    const input = args.input;
    const targets = [
      ...(typeof input.TableName === 'string' ? [input.TableName] : []),
      ...Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {}),
      ...(typeof input.QueueUrl === 'string' ? [input.QueueUrl] : []),
    ];
    for (const target of targets) {
      const index = typeof input.IndexName === 'string' ? `:${input.IndexName}` : '';
      recorded.add(`${fn} ${byName.get(target) ?? target} ${action}${index}`);
    }
  }
  return next(args);
};

/** Adds the recorder to every DynamoDB and SQS client of this process on its first send. */
const installRecorder = (): (() => void) => {
  const undo: Array<() => void> = [];
  const seen = new WeakSet<object>();
  for (const cls of [DynamoDBClient, SQSClient]) {
    let proto: object | null = cls.prototype;
    while (proto && !Object.hasOwn(proto, 'send')) proto = Object.getPrototypeOf(proto);
    if (!proto || undo.length > 0) continue; // one shared base class
    const base = proto as { send: (...args: unknown[]) => unknown };
    const original = base.send;
    base.send = function send(this: { middlewareStack: { add: (m: Middleware, o: object) => void } }, ...a) {
      const stack = this.middlewareStack;
      // A document client shares its DynamoDBClient's middleware stack: added once per stack.
      if (!seen.has(stack)) {
        seen.add(stack);
        stack.add(recorder, { step: 'initialize', name: 'iamActionRecorder', priority: 'high' });
      }
      return original.apply(this, a);
    };
    undo.push(() => {
      base.send = original;
    });
  }
  return () => {
    for (const u of undo) u();
  };
};

/** The declaration of lib/functions.ts as the same lines. */
const declared = (fn: FunctionName): string[] => {
  const needs = needsOf(fn);
  return [
    ...Object.entries(needs.tables ?? {}).flatMap(([table, actions]) =>
      (actions as readonly string[]).map((a) => `${fn} ${table} ${a}`),
    ),
    ...(needs.queues ?? []).map((q) => `${fn} ${q} SendMessage`),
  ];
};

let system: LocalSystem;
let uninstall: () => void;

beforeAll(async () => {
  uninstall = installRecorder();
  system = await startLocalSystem({
    port: 0,
    workerWaitSeconds: 1,
    env: { LOG_LEVEL: runLogLevel() },
    log: () => undefined,
    wrapHandler: (name, handler) =>
      ((...args: Parameters<typeof handler>) => running.run(name, () => handler(...args))) as typeof handler,
  });
  for (const setting of [
    'CONNECTIONS_TABLE',
    'AUTH_STATE_TABLE',
    'SUBSCRIPTIONS_TABLE',
    'RATE_LIMITS_TABLE',
    'DELIVERY_LOG_TABLE',
    'UPDATE_QUEUE_URL',
    'UPDATE_DLQ_URL',
  ]) {
    const value = system.env[setting];
    if (value) byName.set(value, setting);
  }
}, 60_000);

afterAll(async () => {
  await system?.stop();
  uninstall?.();
});

describe('what each function sends is what lib/functions.ts grants it', () => {
  it('connect, unfurl, repeat, a pushed change, remove, disconnect and revoke: every call is declared', async () => {
    const driver = await openDriver(system);
    const url = `${system.baseUrl}/demo/tasks/1`;
    const preview = await driver.paste(url);
    expect(preview.state).toBe('card');
    await driver.refresh(preview.id);
    await editDemoTask(system, 1, 'Renamed by the IAM test');
    await driver.waitFor((s) => JSON.stringify(s).includes('Renamed by the IAM test'), 20_000);
    await driver.remove(preview.id);
    const again = await driver.paste(`${system.baseUrl}/demo/tasks/2`);
    expect(again.state).toBe('card');
    await driver.disconnect();

    // A second connection, ended at our revocation endpoint (RFC 7009) with its refresh token.
    const second = await openDriver(system);
    expect((await second.paste(url)).state).toBe('card');
    const cookie = second.jar.header(new URL(`${system.baseUrl}/`)) ?? '';
    const sessionId = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(cookie)?.[1] ?? '';
    const refreshToken = simulatorFor(system.baseUrl)?.session(sessionId)?.grant?.refreshToken ?? '';
    expect(refreshToken).not.toBe('');
    const revoked = await fetch(`${system.baseUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: refreshToken,
        client_id: system.env.OAUTH_CLIENT_ID ?? '',
        client_secret: system.env.OAUTH_CLIENT_SECRET ?? '',
      }),
    });
    expect(revoked.status).toBe(200);

    const calls = [...recorded].sort();
    // The flows reached every function that touches a table or queue (the attribution works).
    const reached = new Set(calls.map((c) => c.split(' ')[0]));
    for (const fn of [...Object.keys(HANDLERS), WORKER_HANDLER] as FunctionName[]) {
      if (declared(fn).length > 0) expect({ fn, reached: reached.has(fn) }).toEqual({ fn, reached: true });
    }
    const allowed = new Set([...Object.keys(HANDLERS), WORKER_HANDLER].flatMap((f) => declared(f as FunctionName)));
    expect(calls.filter((c) => !allowed.has(c))).toEqual([]);
  }, 90_000);
});

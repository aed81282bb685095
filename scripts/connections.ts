/**
 * npm run connections: look up and revoke connections (support and incident
 * response). Revoking ends a connection through the one path every end takes
 * (#core/connection-end.js): status `revoked`, stored Notion and upstream
 * tokens deleted, token generation bumped (every outstanding access token fails
 * on its next use, refresh tokens too), subscriptions removed (no further
 * pushes), a delivery-log entry saying why.
 *
 *   npm run connections -- show <connectionId> --aws
 *   npm run connections -- list --subject <upstream subject> --aws
 *   npm run connections -- revoke <connectionId> --yes --reason "lost laptop" --aws
 *   npm run connections -- revoke --subject <upstream subject> --yes --aws
 *   (without --yes, revoke prints what it would revoke and exits with status 3)
 *   … --endpoint http://127.0.0.1:PORT     # npm start's DynamoDB instead of --aws
 *   … --json                               # JSON on stdout
 *
 * With --aws the table names come from cdk-outputs.json (--outputs, --stack);
 * the caller needs read/write access to the Connections and Subscriptions tables
 * and write access to the DeliveryLog table.
 * Without --aws or --endpoint: the running npm start's DynamoDB. Nothing found
 * (an unknown id, no connection for a subject) is said on stderr, exit status 1.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClientFor } from '#adapters/dynamo/client.js';
import { DynamoConnectionStore } from '#adapters/dynamo/connection-store.js';
import { DynamoDeliveryLog } from '#adapters/dynamo/delivery-log.js';
import { DynamoSubscriptionStore } from '#adapters/dynamo/subscription-store.js';
import { type ConnectionEndPorts, endConnection } from '#core/connection-end.js';
import { type Connection, type ConnectionStore, isLapsed, type SubscriptionStore } from '#core/ports.js';
import type { DeliveryLog } from '#core/updates/ports.js';
import { CONNECTIONS_TABLE, DELIVERY_LOG_TABLE, localResourceName, SUBSCRIPTIONS_TABLE } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import type { RuntimeInfo } from '#local/runtime-info.js';
import { type CliArgs, isEntryPoint, parseAndRun, runCli, UsageError } from './cli.js';
import { DYNAMO_TARGET_OPTIONS, localDynamoEndpoint } from './dynamo-target.js';
import { pickStackOutputs, readOutputsFile } from './outputs-file.js';

export interface ConnectionTools {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly deliveries: Pick<DeliveryLog, 'record'>;
  readonly now: () => number;
  /** Hears each connection this run ended (tests); the script itself reports on stdout. */
  readonly onEnded?: ConnectionEndPorts['onEnded'];
}

/** What support may see of a connection: no token material, not even hashes. */
export const describeConnection = (c: Connection): Record<string, unknown> => ({
  id: c.id,
  status: c.status,
  subject: c.subject,
  displayName: c.displayName,
  workspace: c.notion.workspaceName ?? c.notion.workspaceId,
  workspaceId: c.notion.workspaceId,
  botId: c.notion.botId,
  tokenGeneration: c.tokenGeneration,
  createdAt: new Date(c.createdAt).toISOString(),
  updatedAt: new Date(c.updatedAt).toISOString(),
  ...(c.revokedAt ? { revokedAt: new Date(c.revokedAt).toISOString(), revokedReason: c.revokedReason } : {}),
  ...(c.expiresAt ? { unredeemedUntil: new Date(c.expiresAt).toISOString() } : {}),
});

/**
 * Revokes one connection through the one way a connection ends; returns how it was before (undefined:
 * unknown) and the subscriptions removed.
 */
export const revoke = async (
  tools: ConnectionTools,
  connectionId: string,
  reason: string | undefined,
): Promise<{ before: Connection | undefined; subscriptionsRemoved: number }> => {
  const found = await tools.connections.get(connectionId);
  // One whose code was never redeemed and has lapsed counts as absent (ADR 0160).
  const before = found && !isLapsed(found, tools.now()) ? found : undefined;
  if (!before) return { before, subscriptionsRemoved: 0 };
  const { subscriptionsRemoved } = await endConnection(
    {
      connections: tools.connections,
      clock: { now: tools.now },
      endings: {
        subscriptions: tools.subscriptions,
        deliveries: tools.deliveries,
        onEnded: tools.onEnded ?? (() => undefined),
      },
    },
    connectionId,
    'operator',
    reason ? `operator: ${reason}` : 'operator',
  );
  return { before, subscriptionsRemoved };
};

interface Tables {
  readonly connections: string;
  readonly subscriptions: string;
  readonly deliveryLog: string;
}

const tablesFromOutputs = (file: unknown, stack?: string): Tables => {
  const { outputs } = pickStackOutputs(
    file,
    [OUTPUTS.connectionsTable, OUTPUTS.subscriptionsTable, OUTPUTS.deliveryLogTable],
    stack,
  );
  return {
    connections: outputs[OUTPUTS.connectionsTable],
    subscriptions: outputs[OUTPUTS.subscriptionsTable],
    deliveryLog: outputs[OUTPUTS.deliveryLogTable],
  };
};

/** Exit status of a revoke without --yes: it said what it would revoke, and revoked nothing. */
export const NOT_CONFIRMED = 3;

/** A connection for people: one field a line. */
export const formatConnection = (c: Connection, subscriptions?: readonly string[]): string => {
  const d = describeConnection(c);
  const lines = [
    `Connection ${c.id}: ${c.status}`,
    `  subject           ${c.subject}`,
    `  display name      ${c.displayName}`,
    `  workspace         ${String(d.workspace)} (${c.notion.workspaceId}), bot ${c.notion.botId}`,
    `  token generation  ${c.tokenGeneration}`,
    `  created           ${String(d.createdAt)}`,
    `  updated           ${String(d.updatedAt)}`,
  ];
  if (d.unredeemedUntil)
    lines.push(`  not redeemed      its code was never redeemed; it lapses at ${String(d.unredeemedUntil)}`);
  if (d.revokedAt) lines.push(`  revoked           ${String(d.revokedAt)} (${String(d.revokedReason ?? 'no reason')})`);
  if (subscriptions) {
    lines.push(`  subscriptions     ${subscriptions.length}`);
    for (const uri of subscriptions) lines.push(`    ${uri}`);
  }
  return lines.join('\n');
};

export const CLI = {
  name: 'connections',
  usage: [
    'npm run connections -- show <connectionId> [--json]',
    'npm run connections -- list --subject <subject> [--json]',
    'npm run connections -- revoke <connectionId | --subject <subject>> --yes [--reason <text>] [--json]',
    '  with --endpoint <local DynamoDB endpoint>, or --aws [--outputs cdk-outputs.json] [--stack <name>]',
  ],
  description: `Looks up and revokes connections (support and incident response). Revoking ends a connection
the one way every end takes (as Notion's deleted-token callback or RFC 7009 revocation): status
revoked, stored Notion token deleted, every outstanding access and refresh token fails on its next
use, subscriptions and their snapshots removed, a delivery-log entry says why. revoke takes one
connection id, or --subject for every active connection of that user; without --yes it prints what
it would revoke and changes nothing. No token material is ever printed.

Tables: with --aws from the CDK outputs file (read/write access to the Connections and
Subscriptions tables, write access to DeliveryLog); with --endpoint (or DYNAMODB_ENDPOINT) the
local system's; with neither, the DynamoDB of the running npm start.`,
  options: {
    subject: {
      type: 'string',
      value: '<subject>',
      description: "list, revoke: the upstream subject (the login's sub claim)",
    },
    yes: { type: 'boolean', description: 'revoke: do it (without it: print what would be revoked, exit 3)' },
    reason: { type: 'string', value: '<text>', description: 'revoke: why (recorded on the connection)' },
    json: { type: 'boolean', description: 'print JSON on stdout' },
    ...DYNAMO_TARGET_OPTIONS,
  },
  maxPositionals: 2,
  examples: [
    "npm run connections -- list --subject <the user's upstream subject> --aws",
    'npm run connections -- show <connectionId> --aws',
    'npm run connections -- revoke <connectionId> --aws                   # what would be revoked',
    'npm run connections -- revoke <connectionId> --yes --reason "offboarding" --aws',
    'npm run connections -- revoke --subject <subject> --yes --aws        # every active connection of a user',
    'npm run connections -- show <connectionId>            # the running npm start',
  ],
  notes: [
    'Exit status: 0 found (or revoked), 1 nothing found (an unknown id, no connection for the subject;\nsaid on stderr) or a failure, 2 wrong usage, 3 revoke without --yes (nothing revoked).',
  ],
} as const;

export interface ConnectionsIo {
  /** Diagnostics (stderr). */
  readonly err?: (text: string) => void;
  /** The running npm start, if any. */
  readonly running?: () => RuntimeInfo | undefined;
}

const COMMANDS = ['show', 'list', 'revoke'];

/** One revoke result for people. */
const revokedLine = (c: Connection, subscriptionsRemoved: number): string =>
  c.status === 'active'
    ? `Revoked connection ${c.id} (${c.displayName}, workspace ${c.notion.workspaceName ?? c.notion.workspaceId}); ${subscriptionsRemoved} subscription(s) removed.`
    : `Connection ${c.id} was already ${c.status}; ${subscriptionsRemoved} subscription(s) removed.`;

/**
 * revoke: one connection by id (also an ended one: what is left of it is removed again), or every active
 * connection of a subject. Without --yes it prints what it would revoke and returns NOT_CONFIRMED.
 */
const revokeCommand = async (
  tools: ConnectionTools,
  args: { id?: string | undefined; subject?: string | undefined; yes?: boolean; reason?: string; json?: boolean },
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> => {
  let targets: Connection[];
  if (args.id !== undefined) {
    const c = await tools.connections.get(args.id);
    if (!c || isLapsed(c, tools.now())) {
      err(`connections: no connection ${args.id}`);
      return 1;
    }
    targets = [c];
  } else {
    const subject = args.subject as string;
    const all = await tools.connections.listBySubject(subject, tools.now());
    targets = all.filter((c) => c.status === 'active');
    if (targets.length === 0) {
      err(
        all.length === 0
          ? `connections: no connection has the subject ${JSON.stringify(subject)} (the upstream login's sub claim, exactly as stored)`
          : `connections: no active connection has the subject ${JSON.stringify(subject)} (${all.length} already ended)`,
      );
      return 1;
    }
  }
  if (!args.yes) {
    const withSubscriptions = await Promise.all(
      targets.map(async (c) => ({ c, uris: (await tools.subscriptions.listByConnection(c.id)).map((s) => s.uri) })),
    );
    if (args.json) {
      out(
        JSON.stringify(
          {
            revoked: false,
            wouldRevoke: withSubscriptions.map(({ c, uris }) => ({ ...describeConnection(c), subscriptions: uris })),
          },
          null,
          2,
        ),
      );
    } else {
      out(`Would revoke ${targets.length} connection(s):\n`);
      out(withSubscriptions.map(({ c, uris }) => formatConnection(c, uris)).join('\n\n'));
    }
    err(`connections: nothing revoked: add --yes to revoke ${targets.length} connection(s)`);
    return NOT_CONFIRMED;
  }
  const results: { before: Connection; subscriptionsRemoved: number }[] = [];
  for (const target of targets) {
    const { before, subscriptionsRemoved } = await revoke(tools, target.id, args.reason);
    results.push({ before: before ?? target, subscriptionsRemoved });
  }
  if (args.json) {
    const rows = results.map(({ before, subscriptionsRemoved }) => ({
      id: before.id,
      statusBefore: before.status,
      status: before.status === 'active' ? 'revoked' : before.status,
      subscriptionsRemoved,
    }));
    out(JSON.stringify(args.id !== undefined ? rows[0] : rows, null, 2));
    return 0;
  }
  out(results.map(({ before, subscriptionsRemoved }) => revokedLine(before, subscriptionsRemoved)).join('\n'));
  return 0;
};

export const run = async (
  { values, positionals }: CliArgs<typeof CLI.options>,
  env: Readonly<Record<string, string | undefined>>,
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
  io: ConnectionsIo = {},
): Promise<number> => {
  const err = io.err ?? ((t: string) => process.stderr.write(`${t}\n`));
  const [command, id] = positionals;
  if (!command) throw new UsageError('give a command: show, list or revoke');
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command ${command} (show, list or revoke)`);
  if (command === 'list') {
    if (!values.subject) throw new UsageError('list needs --subject <upstream subject>');
    if (id !== undefined) throw new UsageError(`unexpected argument ${id}`);
  } else if (command === 'revoke') {
    if (!id && !values.subject) throw new UsageError('revoke needs a connection id or --subject <upstream subject>');
    if (id && values.subject) throw new UsageError('give a connection id or --subject, not both');
  } else if (!id) throw new UsageError(`${command} needs a connection id`);
  let tables: Tables;
  let client: DynamoDBClient;
  const region = values.region ?? env.AWS_REGION;
  if (values.aws || values.outputs) {
    if (values.endpoint) throw new UsageError('give --aws or --endpoint, not both');
    tables = tablesFromOutputs(readOutputsFile(values.outputs), values.stack);
    client = new DynamoDBClient(region ? { region } : {});
  } else {
    const endpoint = localDynamoEndpoint('connections', values.endpoint, env, err, io.running);
    tables = {
      connections: env[ENV.CONNECTIONS_TABLE] ?? localResourceName(CONNECTIONS_TABLE.id),
      subscriptions: env[ENV.SUBSCRIPTIONS_TABLE] ?? localResourceName(SUBSCRIPTIONS_TABLE.id),
      deliveryLog: env[ENV.DELIVERY_LOG_TABLE] ?? localResourceName(DELIVERY_LOG_TABLE.id),
    };
    client = new DynamoDBClient({
      endpoint,
      region: region ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }
  try {
    const doc = documentClientFor(client);
    const tools: ConnectionTools = {
      connections: new DynamoConnectionStore(doc, tables.connections),
      subscriptions: new DynamoSubscriptionStore(doc, tables.subscriptions),
      deliveries: new DynamoDeliveryLog(doc, tables.deliveryLog),
      now: Date.now,
    };
    if (command === 'revoke') return await revokeCommand(tools, { id, ...values }, out, err);
    if (command === 'list') {
      const subject = values.subject as string;
      const list = await tools.connections.listBySubject(subject, tools.now());
      if (values.json) out(JSON.stringify(list.map(describeConnection), null, 2));
      else if (list.length > 0) out(list.map((c) => formatConnection(c)).join('\n\n'));
      if (list.length === 0) {
        err(
          `connections: no connection has the subject ${JSON.stringify(subject)} (the upstream login's sub claim, exactly as stored)`,
        );
        return 1;
      }
      return 0;
    }
    const connectionId = id as string;
    if (command === 'show') {
      const c = await tools.connections.get(connectionId);
      if (!c || isLapsed(c, tools.now())) {
        err(`connections: no connection ${connectionId}`);
        return 1;
      }
      const subscriptions = (await tools.subscriptions.listByConnection(connectionId)).map((s) => s.uri);
      out(
        values.json
          ? JSON.stringify({ ...describeConnection(c), subscriptions }, null, 2)
          : formatConnection(c, subscriptions),
      );
      return 0;
    }
    return 0;
  } finally {
    client.destroy();
  }
};

/** Parses `argv` and runs; `--help` prints the usage. Throws UsageError for a wrong invocation. */
export const main = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
  io: ConnectionsIo = {},
): Promise<number> => parseAndRun(CLI, argv, out, (args) => run(args, env, out, io));

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runCli(CLI, process.argv.slice(2), (args) => run(args, process.env));
}

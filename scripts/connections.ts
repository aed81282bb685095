/**
 * npm run connections: look up and revoke connections (support and incident
 * response). Revoking ends the connection exactly as Notion's deleted-token
 * callback does: status `revoked`, stored Notion and upstream tokens deleted,
 * token generation bumped (every outstanding access token fails on its next
 * use, refresh tokens too), subscriptions removed (no further pushes).
 *
 *   npm run connections -- show <connectionId> --aws
 *   npm run connections -- list --subject <upstream subject> --aws
 *   npm run connections -- revoke <connectionId> --reason "lost laptop" --aws
 *   … --endpoint http://127.0.0.1:PORT     # npm start's DynamoDB instead of --aws
 *   … --json                               # JSON on stdout
 *
 * With --aws the table names come from cdk-outputs.json (--outputs, --stack);
 * the caller needs read/write access to the Connections and Subscriptions tables.
 * Without --aws or --endpoint: the running npm start's DynamoDB. Nothing found
 * (an unknown id, no connection for a subject) is said on stderr, exit status 1.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClientFor } from '#adapters/dynamo/client.js';
import { DynamoConnectionStore } from '#adapters/dynamo/connection-store.js';
import { DynamoSubscriptionStore } from '#adapters/dynamo/subscription-store.js';
import type { Connection, ConnectionStore, SubscriptionStore } from '#core/ports.js';
import { revokeConnection } from '#core/unfurl/delete.js';
import { CONNECTIONS_TABLE, localResourceName, SUBSCRIPTIONS_TABLE } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import type { RuntimeInfo } from '#local/runtime-info.js';
import { type CliArgs, isEntryPoint, parseAndRun, runCli, UsageError } from './cli.js';
import { DYNAMO_TARGET_OPTIONS, localDynamoEndpoint } from './dynamo-target.js';
import { pickStackOutputs } from './outputs-file.js';

export interface ConnectionTools {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly now: () => number;
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
});

/** Revokes one connection; returns how it was before (undefined: unknown) and the subscriptions removed. */
export const revoke = async (
  tools: ConnectionTools,
  connectionId: string,
  reason: string,
): Promise<{ before: Connection | undefined; subscriptionsRemoved: number }> => {
  const before = await tools.connections.get(connectionId);
  const subscriptionsRemoved = await revokeConnection(
    { connections: tools.connections, subscriptions: tools.subscriptions, clock: { now: tools.now } },
    connectionId,
    `operator: ${reason}`,
  );
  return { before, subscriptionsRemoved };
};

const tablesFromOutputs = (file: unknown, stack?: string): { connections: string; subscriptions: string } => {
  const { outputs } = pickStackOutputs(file, [OUTPUTS.connectionsTable, OUTPUTS.subscriptionsTable], stack);
  return { connections: outputs[OUTPUTS.connectionsTable], subscriptions: outputs[OUTPUTS.subscriptionsTable] };
};

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
    'npm run connections -- revoke <connectionId> --reason <text> [--json]',
    '  with --endpoint <local DynamoDB endpoint>, or --aws [--outputs cdk-outputs.json] [--stack <name>]',
  ],
  description: `Looks up and revokes connections (support and incident response). Revoking ends a connection
exactly as Notion's deleted-token callback does: status revoked, stored tokens deleted, every
outstanding access and refresh token fails on its next use, subscriptions removed. No token
material is ever printed.

Tables: with --aws from the CDK outputs file (read/write access to the Connections and
Subscriptions tables needed); with --endpoint (or DYNAMODB_ENDPOINT) the local system's; with
neither, the DynamoDB of the running npm start.`,
  options: {
    subject: { type: 'string', value: '<subject>', description: "list: the upstream subject (the login's sub claim)" },
    reason: { type: 'string', value: '<text>', description: 'revoke: why (recorded on the connection)' },
    json: { type: 'boolean', description: 'print JSON on stdout' },
    ...DYNAMO_TARGET_OPTIONS,
  },
  maxPositionals: 2,
  examples: [
    "npm run connections -- list --subject <the user's upstream subject> --aws",
    'npm run connections -- show <connectionId> --aws',
    'npm run connections -- revoke <connectionId> --reason "offboarding" --aws',
    'npm run connections -- show <connectionId>            # the running npm start',
  ],
  notes: [
    'Exit status: 0 found (or revoked), 1 nothing found (an unknown id, no connection for the subject;\nsaid on stderr) or a failure, 2 wrong usage.',
  ],
} as const;

export interface ConnectionsIo {
  /** Diagnostics (stderr). */
  readonly err?: (text: string) => void;
  /** The running npm start, if any. */
  readonly running?: () => RuntimeInfo | undefined;
}

const COMMANDS = ['show', 'list', 'revoke'];

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
  } else {
    if (!id) throw new UsageError(`${command} needs a connection id`);
    if (command === 'revoke' && !values.reason)
      throw new UsageError('revoke needs --reason <text> (recorded on the connection)');
  }
  let tables: { connections: string; subscriptions: string };
  let client: DynamoDBClient;
  const region = values.region ?? env.AWS_REGION;
  if (values.aws || values.outputs) {
    if (values.endpoint) throw new UsageError('give --aws or --endpoint, not both');
    tables = tablesFromOutputs(
      JSON.parse(readFileSync(resolve(values.outputs ?? 'cdk-outputs.json'), 'utf8')),
      values.stack,
    );
    client = new DynamoDBClient(region ? { region } : {});
  } else {
    const endpoint = localDynamoEndpoint('connections', values.endpoint, env, err, io.running);
    tables = {
      connections: env[ENV.CONNECTIONS_TABLE] ?? localResourceName(CONNECTIONS_TABLE.id),
      subscriptions: env[ENV.SUBSCRIPTIONS_TABLE] ?? localResourceName(SUBSCRIPTIONS_TABLE.id),
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
      now: Date.now,
    };
    if (command === 'list') {
      const subject = values.subject as string;
      const list = await tools.connections.listBySubject(subject);
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
      if (!c) {
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
    const { before, subscriptionsRemoved } = await revoke(tools, connectionId, values.reason as string);
    if (!before) {
      err(`connections: no connection ${connectionId}`);
      return 1;
    }
    if (values.json) {
      out(
        JSON.stringify(
          { id: connectionId, statusBefore: before.status, status: 'revoked', subscriptionsRemoved },
          null,
          2,
        ),
      );
      return 0;
    }
    out(
      before.status === 'active'
        ? `Revoked connection ${connectionId} (${before.displayName}, workspace ${before.notion.workspaceName ?? before.notion.workspaceId}); ${subscriptionsRemoved} subscription(s) removed.`
        : `Connection ${connectionId} was already ${before.status}; ${subscriptionsRemoved} subscription(s) removed.`,
    );
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

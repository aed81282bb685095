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
 *
 * With --aws the table names come from cdk-outputs.json (--outputs, --stack);
 * the caller needs read/write access to the Connections and Subscriptions tables.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClientFor } from '#adapters/dynamo/client.js';
import { DynamoConnectionStore } from '#adapters/dynamo/connection-store.js';
import { DynamoSubscriptionStore } from '#adapters/dynamo/subscription-store.js';
import type { Connection, ConnectionStore, SubscriptionStore } from '#core/ports.js';
import { revokeConnection } from '#core/unfurl/delete.js';
import { CONNECTIONS_TABLE, localResourceName, SUBSCRIPTIONS_TABLE } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
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

const USAGE = [
  'Usage: npm run connections -- show <connectionId> | list --subject <subject> | revoke <connectionId> --reason <text>',
  '       with --endpoint <local DynamoDB endpoint> or --aws [--outputs cdk-outputs.json] [--stack <name>]',
].join('\n');

export const main = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
): Promise<number> => {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      aws: { type: 'boolean' },
      outputs: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      subject: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, id] = positionals;
  if (values.help || !command || !['show', 'list', 'revoke'].includes(command)) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  let tables: { connections: string; subscriptions: string };
  let client: DynamoDBClient;
  const region = values.region ?? env.AWS_REGION;
  if (values.aws || values.outputs) {
    tables = tablesFromOutputs(
      JSON.parse(readFileSync(resolve(values.outputs ?? 'cdk-outputs.json'), 'utf8')),
      values.stack,
    );
    client = new DynamoDBClient(region ? { region } : {});
  } else {
    const endpoint = values.endpoint ?? env[ENV.DYNAMODB_ENDPOINT];
    if (!endpoint) throw new Error('give the local DynamoDB endpoint (--endpoint, printed by npm start), or --aws');
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
      if (!values.subject) throw new Error('list needs --subject <upstream subject>');
      const list = await tools.connections.listBySubject(values.subject);
      out(JSON.stringify(list.map(describeConnection), null, 2));
      return 0;
    }
    if (!id) throw new Error(`${command} needs a connection id`);
    if (command === 'show') {
      const c = await tools.connections.get(id);
      if (!c) {
        out(`No connection ${id}`);
        return 1;
      }
      const subscriptions = await tools.subscriptions.listByConnection(id);
      out(JSON.stringify({ ...describeConnection(c), subscriptions: subscriptions.map((s) => s.uri) }, null, 2));
      return 0;
    }
    if (!values.reason) throw new Error('revoke needs --reason <text> (recorded on the connection)');
    const { before, subscriptionsRemoved } = await revoke(tools, id, values.reason);
    if (!before) {
      out(`No connection ${id}`);
      return 1;
    }
    out(
      before.status === 'active'
        ? `Revoked connection ${id} (${before.displayName}, workspace ${before.notion.workspaceName ?? before.notion.workspaceId}); ${subscriptionsRemoved} subscription(s) removed.`
        : `Connection ${id} was already ${before.status}; ${subscriptionsRemoved} subscription(s) removed.`,
    );
    return 0;
  } finally {
    client.destroy();
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`connections failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}

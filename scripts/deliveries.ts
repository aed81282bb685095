/**
 * npm run deliveries: the last pushes to Notion for one connection, with
 * Notion's answers (the delivery log the update worker writes).
 *
 *   npm run deliveries -- <connectionId> --endpoint http://127.0.0.1:PORT   # the local system's DynamoDB (printed by npm start)
 *   npm run deliveries -- <connectionId> --aws                              # AWS: table from cdk-outputs.json
 *   npm run deliveries -- <connectionId> --aws --outputs path/to/cdk-outputs.json --stack NotionLinkPreview-prod
 *   npm run deliveries -- <connectionId> --limit 20 --json
 *
 * Locally the endpoint may also come from DYNAMODB_ENDPOINT (else the running
 * npm start's) and the table from DELIVERY_LOG_TABLE (default: the local
 * system's table name). In AWS the
 * usual credential chain applies (AWS_PROFILE, AWS_REGION, …) and the caller
 * needs dynamodb:Query on the table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryLog } from '#adapters/dynamo/delivery-log.js';
import type { Delivery } from '#core/updates/ports.js';
import { DELIVERY_LOG_TABLE, localResourceName } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import type { RuntimeInfo } from '#local/runtime-info.js';
import { type CliArgs, isEntryPoint, parseAndRun, positiveInt, runCli, UsageError } from './cli.js';
import { DYNAMO_TARGET_OPTIONS, localDynamoEndpoint, tableNameOption } from './dynamo-target.js';
import { pickStackOutputs, readOutputsFile } from './outputs-file.js';

export const DEFAULT_LIMIT = 50;

export interface DeliveryTarget {
  readonly tableName: string;
  /** Set for the local system's DynamoDB; undefined for AWS. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly source: string;
}

/** The delivery-log table named in a CDK outputs file (`npx cdk deploy --outputs-file cdk-outputs.json`). */
export const tableFromOutputs = (file: unknown, stack?: string): { stack: string; tableName: string } => {
  const picked = pickStackOutputs(file, [OUTPUTS.deliveryLogTable], stack);
  return { stack: picked.stack, tableName: picked.outputs[OUTPUTS.deliveryLogTable] };
};

const pad = (s: string, n: number): string => (s.length >= n ? `${s} ` : s.padEnd(n));

/** One line per delivery, newest first; a header and a summary by status. */
export const formatDeliveries = (connectionId: string, deliveries: readonly Delivery[], source: string): string => {
  const lines = [`Deliveries of connection ${connectionId} (newest first, ${deliveries.length}) from ${source}`];
  if (deliveries.length === 0) {
    lines.push('  none recorded (no push yet, an unknown connection id, or older than the retention)');
    return lines.join('\n');
  }
  lines.push(
    `  ${pad('time (UTC)', 25)}${pad('status', 8)}${pad('action', 12)}${pad('resource', 16)}uri · Notion's answer`,
  );
  for (const d of deliveries) {
    const answer = [d.code, d.message].filter(Boolean).join(': ');
    const extra = [answer, d.requestId ? `request ${d.requestId}` : ''].filter(Boolean).join(' · ');
    lines.push(
      `  ${pad(new Date(d.at).toISOString(), 25)}${pad(String(d.status), 8)}${pad(d.action, 12)}${pad(d.resource, 16)}${d.uri}${extra ? ` · ${extra}` : ''}`,
    );
  }
  const byStatus = new Map<string, number>();
  for (const d of deliveries) byStatus.set(String(d.status), (byStatus.get(String(d.status)) ?? 0) + 1);
  lines.push(`  by status: ${[...byStatus].map(([s, n]) => `${s} × ${n}`).join(', ')}`);
  return lines.join('\n');
};

export const readDeliveries = async (
  target: DeliveryTarget,
  connectionId: string,
  limit: number,
): Promise<Delivery[]> => {
  const client = new DynamoDBClient({
    ...(target.endpoint
      ? {
          endpoint: target.endpoint,
          region: target.region ?? 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : target.region
        ? { region: target.region }
        : {}),
  });
  try {
    const log = new DynamoDeliveryLog(DynamoDBDocumentClient.from(client), target.tableName);
    return [...(await log.recent(connectionId, limit))];
  } finally {
    client.destroy();
  }
};

export const CLI = {
  name: 'deliveries',
  usage: [
    'npm run deliveries -- <connectionId> [--limit <n>] [--json]',
    '  with --endpoint <local DynamoDB endpoint>, or --aws [--outputs cdk-outputs.json] [--stack <name>]',
  ],
  description: `The last pushes to Notion for one connection, newest first, with Notion's answers (the delivery
log the update worker writes).

Table: with --aws from the CDK outputs file (dynamodb:Query on it needed); with --endpoint (or
DYNAMODB_ENDPOINT) the local system's, DELIVERY_LOG_TABLE or its default name; with neither, the
DynamoDB of the running npm start.`,
  options: {
    limit: { type: 'string', value: '<n>', description: `how many deliveries, 1 to 500 (default ${DEFAULT_LIMIT})` },
    json: { type: 'boolean', description: 'print the deliveries as JSON on stdout' },
    ...DYNAMO_TARGET_OPTIONS,
    table: {
      type: 'string',
      value: '<name>',
      description: 'the delivery-log table (name or ARN), instead of looking it up',
    },
  },
  maxPositionals: 1,
  examples: [
    'npm run deliveries -- <connectionId> --aws',
    'npm run deliveries -- <connectionId> --aws --limit 200 --json',
    'npm run deliveries -- <connectionId>              # the running npm start',
  ],
  notes: ['Exit status: 0 printed (also when none are recorded), 1 a failure, 2 wrong usage.'],
} as const;

export interface DeliveriesIo {
  readonly err?: (text: string) => void;
  /** The running npm start, if any. */
  readonly running?: () => RuntimeInfo | undefined;
}

export const run = async (
  { values, positionals }: CliArgs<typeof CLI.options>,
  env: Readonly<Record<string, string | undefined>>,
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
  io: DeliveriesIo = {},
): Promise<number> => {
  const err = io.err ?? ((t: string) => process.stderr.write(`${t}\n`));
  const connectionId = positionals[0];
  if (!connectionId) throw new UsageError('give a connection id');
  const limit = positiveInt(values.limit, '--limit', 500) ?? DEFAULT_LIMIT;
  const table = tableNameOption(values.table, '--table');

  let target: DeliveryTarget;
  const region = values.region ?? env.AWS_REGION;
  if ((values.aws || values.outputs) && values.endpoint) throw new UsageError('give --aws or --endpoint, not both');
  if (values.aws || values.outputs) {
    const fromFile = table
      ? { stack: values.stack ?? '(given)', tableName: table }
      : tableFromOutputs(readOutputsFile(values.outputs), values.stack);
    target = {
      tableName: fromFile.tableName,
      source: `stack ${fromFile.stack} (${fromFile.tableName})`,
      ...(region ? { region } : {}),
    };
  } else {
    const endpoint = localDynamoEndpoint('deliveries', values.endpoint, env, err, io.running);
    const tableName =
      table ??
      tableNameOption(env[ENV.DELIVERY_LOG_TABLE] || undefined, ENV.DELIVERY_LOG_TABLE) ??
      localResourceName(DELIVERY_LOG_TABLE.id);
    target = {
      tableName,
      endpoint,
      source: `the local system (${tableName} at ${endpoint})`,
      ...(region ? { region } : {}),
    };
  }
  const deliveries = await readDeliveries(target, connectionId, limit);
  out(values.json ? JSON.stringify(deliveries, null, 2) : formatDeliveries(connectionId, deliveries, target.source));
  return 0;
};

/** Parses `argv` and runs; `--help` prints the usage. Throws UsageError for a wrong invocation. */
export const main = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
  io: DeliveriesIo = {},
): Promise<number> => parseAndRun(CLI, argv, out, (args) => run(args, env, out, io));

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runCli(CLI, process.argv.slice(2), (args) => run(args, process.env));
}

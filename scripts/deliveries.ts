/**
 * npm run deliveries: the last pushes to Notion for one connection, with
 * Notion's answers (the delivery log the update worker writes).
 *
 *   npm run deliveries -- <connectionId> --endpoint http://127.0.0.1:PORT   # the local system's DynamoDB (printed by npm start)
 *   npm run deliveries -- <connectionId> --aws                              # AWS: table from cdk-outputs.json
 *   npm run deliveries -- <connectionId> --aws --outputs path/to/cdk-outputs.json --stack NotionLinkPreview-prod
 *   npm run deliveries -- <connectionId> --limit 20 --json
 *
 * Locally the endpoint may also come from DYNAMODB_ENDPOINT and the table from
 * DELIVERY_LOG_TABLE (default: the local system's table name). In AWS the
 * usual credential chain applies (AWS_PROFILE, AWS_REGION, …) and the caller
 * needs dynamodb:Query on the table.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryLog } from '#adapters/dynamo/delivery-log.js';
import type { Delivery } from '#core/updates/ports.js';
import { DELIVERY_LOG_TABLE, localResourceName } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { pickStackOutputs } from './outputs-file.js';

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

const USAGE =
  'Usage: npm run deliveries -- <connectionId> [--endpoint <local DynamoDB endpoint>] [--aws [--outputs cdk-outputs.json] [--stack <name>]] [--table <name>] [--limit 50] [--json]';

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
      table: { type: 'string' },
      region: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const connectionId = positionals[0];
  if (values.help || !connectionId) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Error('--limit must be an integer from 1 to 500');

  let target: DeliveryTarget;
  const region = values.region ?? env.AWS_REGION;
  if (values.aws || values.outputs) {
    const path = resolve(values.outputs ?? 'cdk-outputs.json');
    const fromFile = values.table
      ? { stack: values.stack ?? '(given)', tableName: values.table }
      : tableFromOutputs(JSON.parse(readFileSync(path, 'utf8')), values.stack);
    target = {
      tableName: fromFile.tableName,
      source: `stack ${fromFile.stack} (${fromFile.tableName})`,
      ...(region ? { region } : {}),
    };
  } else {
    const endpoint = values.endpoint ?? env[ENV.DYNAMODB_ENDPOINT];
    if (!endpoint) {
      throw new Error(
        'give the local DynamoDB endpoint (--endpoint, printed by npm start under "Emulators"), or --aws for a deployed stack',
      );
    }
    const tableName = values.table ?? env[ENV.DELIVERY_LOG_TABLE] ?? localResourceName(DELIVERY_LOG_TABLE.id);
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`deliveries failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}

/**
 * Where the operator scripts (`connections`, `deliveries`) find DynamoDB: a
 * deployed stack through its CDK outputs file, or the local system. The shared
 * options, and the local endpoint's lookup: --endpoint, else DYNAMODB_ENDPOINT,
 * else the running npm start (local-server.json of its state directory, local/runtime-info.ts).
 */
import { ENV } from '#lib/env-names.js';
import { type RuntimeInfo, readRuntimeInfo } from '#local/runtime-info.js';
import { httpUrl, type OptionSpec, UsageError } from './cli.js';

/** The options every DynamoDB-reading script takes to name its target. */
export const DYNAMO_TARGET_OPTIONS = {
  endpoint: { type: 'string', value: '<url>', description: 'local DynamoDB endpoint (printed by npm start)' },
  aws: { type: 'boolean', description: 'use the deployed stack (tables from the CDK outputs file)' },
  outputs: {
    type: 'string',
    value: '<file>',
    description: 'CDK outputs file (default cdk-outputs.json; implies --aws)',
  },
  stack: { type: 'string', value: '<name>', description: 'the stack, when the outputs file lists several' },
  region: { type: 'string', value: '<region>', description: 'AWS region (default AWS_REGION)' },
} as const satisfies Readonly<Record<string, OptionSpec>>;

/**
 * The local DynamoDB endpoint: the one given, else DYNAMODB_ENDPOINT, else the running npm start's (said on
 * stderr as `<script>: the running npm start's DynamoDB at …`). A UsageError when there is none.
 */
export const localDynamoEndpoint = (
  script: string,
  given: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  err: (text: string) => void,
  running: () => RuntimeInfo | undefined = readRuntimeInfo,
): string => {
  const endpoint = httpUrl(given, '--endpoint') ?? env[ENV.DYNAMODB_ENDPOINT];
  if (endpoint) return endpoint;
  const local = running();
  if (!local) {
    throw new UsageError(
      'give the local DynamoDB endpoint (--endpoint, printed by npm start under "Emulators"), or --aws for a deployed stack',
    );
  }
  err(`${script}: the running npm start's DynamoDB at ${local.dynamodbEndpoint} (pid ${local.pid})`);
  return local.dynamodbEndpoint;
};

/**
 * A DynamoDB table name given on the command line, checked as DynamoDB checks it (3 to 255 characters of
 * `A-Z a-z 0-9 _ - .`, or a table's ARN), so that a wrong one is a usage error rather than the service's
 * ValidationException; an empty value is most often an unset shell variable. `undefined` stays undefined.
 */
export const tableNameOption = (value: string | undefined, what: string): string | undefined => {
  if (value === undefined) return undefined;
  if (value.trim() === '')
    throw new UsageError(`${what} is empty (is the variable that should hold the table name set?)`);
  const name = /^arn:aws[\w-]*:dynamodb:[\w-]+:\d{12}:table\/(.+)$/.exec(value)?.[1] ?? value;
  if (!/^[\w.-]{3,255}$/.test(name))
    throw new UsageError(
      `${what} must be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .) or a table ARN, not ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`,
    );
  return value;
};

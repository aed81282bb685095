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

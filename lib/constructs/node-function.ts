/**
 * The house Lambda construct: every function of the service is one of these.
 *
 * It owns the runtime defaults (Node.js 24 on arm64, an ESM bundle built by the
 * local esbuild with a `createRequire` banner, minified with source maps), a
 * log group with retention, and a role of its own with no managed policies.
 * Access to data is added with the `bind*()` helpers, each of which grants the
 * least privilege and sets the environment variable that tells the handler
 * where the resource is, in one call, so the two can never drift apart.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TableDefinition } from '../data-model.js';
import type { EnvName } from '../env-names.js';

/** Repository root: handlers live in `<root>/functions/<name>.ts`. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const LOCK_FILES = ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock'] as const;

/**
 * Where esbuild bundles from: this repository, or, where the package is installed as a dependency (it has
 * no lock file of its own), the team's project the CDK app runs in (the current directory).
 */
export const bundlingRoot = (): string =>
  existsSync(path.join(PROJECT_ROOT, 'package-lock.json')) ? PROJECT_ROOT : process.cwd();

const lockFileOf = (root: string): string => {
  const found = LOCK_FILES.map((name) => path.join(root, name)).find((file) => existsSync(file));
  if (!found) throw new Error(`no lock file (${LOCK_FILES.join(', ')}) in ${root}: install the project's dependencies`);
  return found;
};

/** Lets the ESM bundle load CommonJS dependencies that call `require`. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __nlpCreateRequire } from 'node:module'; const require = __nlpCreateRequire(import.meta.url);";

export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

/** The DynamoDB operations a function may be granted on a table (no Scan, no streams, no DescribeTable). */
export const TABLE_OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'DeleteItem',
  'GetItem',
  'PutItem',
  'Query',
  'UpdateItem',
] as const;
/** An operation on a table, or `Query:<index>`: a query of one of its global secondary indexes. */
export type TableAction = (typeof TABLE_OPERATIONS)[number] | `Query:${string}`;

/** KMS uses: envelope encryption asks KMS for a data key; reading a token back unwraps it with Decrypt. */
export const KEY_ACTIONS = {
  encrypt: ['kms:GenerateDataKey'],
  decrypt: ['kms:Decrypt'],
} as const;
export type KeyUse = keyof typeof KEY_ACTIONS;

/*
 * The bind helpers take the few attributes they use rather than the aws-cdk-lib
 * interfaces (which do not type-check under `exactOptionalPropertyTypes`).
 */
export interface TableRef {
  readonly tableArn: string;
  readonly tableName: string;
}
export interface QueueRef {
  readonly queueArn: string;
  readonly queueUrl: string;
}
export interface SecretRef {
  readonly secretArn: string;
  /** Known for secrets the stack owns or imports by complete ARN. */
  readonly secretFullArn?: string | undefined;
}
export interface KeyRef {
  readonly keyArn: string;
}

export interface NodeFunctionProps
  extends Omit<
    NodejsFunctionProps,
    'entry' | 'runtime' | 'architecture' | 'handler' | 'role' | 'logGroup' | 'bundling'
  > {
  /** Handler module name: the function's code is `functions/<handlerName>.ts`, export `handler`. */
  readonly handlerName: string;
  /** Its entry module instead of `functions/<handlerName>.ts` (one generated for a team's source adapter). */
  readonly entryFile?: string;
  /** Root of the project that bundles (it holds the lock file): see `bundlingRoot`. */
  readonly projectRoot?: string;
  readonly logRetention: RetentionDays;
  /** Applied to the log group: keep logs in production, drop them with a development stack. */
  readonly logRemovalPolicy: RemovalPolicy;
}

/** Each function's variables as set (the base class keeps its own copy private). */
const variablesOf = new WeakMap<NodeFunction, Map<string, string>>();

export class NodeFunction extends NodejsFunction {
  readonly handlerName: string;
  readonly functionLogGroup: LogGroup;
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    const { handlerName, logRetention, logRemovalPolicy, environment, entryFile, projectRoot, ...rest } = props;
    const handlerModule = path.join(PROJECT_ROOT, 'functions', `${handlerName}.ts`);
    if (!existsSync(handlerModule)) throw new Error(`handler module not found: functions/${handlerName}.ts`);
    const entry = entryFile ?? handlerModule;
    const root = projectRoot ?? bundlingRoot();

    // Created beside the function (a subclass cannot create children before super()).
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: logRetention, removalPolicy: logRemovalPolicy });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${handlerName} function`,
    });

    super(scope, id, {
      memorySize: 512,
      timeout: Duration.seconds(10),
      ...rest,
      entry,
      handler: 'handler',
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      role,
      logGroup,
      projectRoot: root,
      depsLockFilePath: lockFileOf(root),
      // No --enable-source-maps: it decodes the whole map at every cold start; logged stacks are mapped when
      // logged instead (functions/shared/source-positions.ts, ADR 0143).
      ...(environment ? { environment } : {}),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
        logLevel: LogLevel.ERROR,
        // The Node.js 24 runtime provides AWS SDK v3; keeping it out keeps bundles small.
        externalModules: ['@aws-sdk/*'],
      },
    });
    this.handlerName = handlerName;
    this.functionLogGroup = logGroup;
    this.executionRole = role;

    // Lambda writes to the pre-created group only: no logs:CreateLogGroup, no account-wide log access.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
  }

  /**
   * Grants exactly the given operations on a table (`Query:<index>` on that index, each named: no
   * `index/*` wildcard) and sets the table-name variable.
   */
  bindTable(definition: TableDefinition, table: TableRef, actions: readonly TableAction[]): this {
    const onTable = actions.filter((a): a is (typeof TABLE_OPERATIONS)[number] => !a.startsWith('Query:'));
    const indexes = actions.filter((a) => a.startsWith('Query:')).map((a) => a.slice('Query:'.length));
    for (const index of indexes) {
      if (!definition.globalIndexes.some((i) => i.indexName === index)) {
        throw new Error(`${this.handlerName}: table ${definition.id} has no index "${index}"`);
      }
    }
    if (onTable.length > 0) {
      this.executionRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [...new Set(onTable)].sort().map((a) => `dynamodb:${a}`),
          resources: [table.tableArn],
        }),
      );
    }
    if (indexes.length > 0) {
      this.executionRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: [...new Set(indexes)].sort().map((index) => `${table.tableArn}/index/${index}`),
        }),
      );
    }
    this.addEnvironment(definition.envName, table.tableName);
    return this;
  }

  /** Grants SendMessage on a queue and sets its URL variable. (Consuming is the event source's job.) */
  bindQueue(envName: EnvName, queue: QueueRef): this {
    this.executionRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
    this.addEnvironment(envName, queue.queueUrl);
    return this;
  }

  /** Grants reading one secret's value and passes its ARN in `envName`. */
  bindSecret(envName: EnvName, secret: SecretRef): this {
    // A secret given by ARN from outside may be its complete ARN or the partial one without the
    // random suffix Secrets Manager appends: allow exactly these two forms (`?` matches one character).
    const resources = secret.secretFullArn ? [secret.secretFullArn] : [secret.secretArn, `${secret.secretArn}-??????`];
    this.executionRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources }),
    );
    this.addEnvironment(envName, secret.secretArn);
    return this;
  }

  /** Grants the KMS actions of the given uses of a key and passes the key ARN in `envName`. */
  bindKey(envName: EnvName, key: KeyRef, uses: readonly KeyUse[]): this {
    const actions = [...new Set(uses.flatMap((use) => KEY_ACTIONS[use]))].sort();
    this.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [key.keyArn] }));
    this.addEnvironment(envName, key.keyArn);
    return this;
  }

  /** Every environment variable set so far (values known only at deploy are tokens). */
  environmentVariables(): Readonly<Record<string, string>> {
    return Object.fromEntries(variablesOf.get(this) ?? []);
  }

  override addEnvironment(key: string, value: string, options?: Parameters<NodejsFunction['addEnvironment']>[2]): this {
    // Also called by the base constructor, before this class's fields exist: the map lives outside the instance.
    const variables = variablesOf.get(this) ?? new Map<string, string>();
    variablesOf.set(this, variables.set(key, value));
    super.addEnvironment(key, value, options);
    return this;
  }

  /** Sets plain (non-secret) settings, skipping undefined values. */
  setEnvironment(values: Partial<Record<EnvName, string | undefined>>): this {
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined) this.addEnvironment(name, value);
    }
    return this;
  }
}

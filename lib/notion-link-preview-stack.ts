/**
 * The whole service in one stack: HTTP API → one function per handler, the
 * update queue → worker, five DynamoDB tables, secrets and a KMS key, the
 * upstream login (Cognito by default), alarms, and outputs that name every value
 * Notion's integration dashboard asks for.
 *
 * Each function is granted only what its handler uses; the list below is the
 * single place to read (and review) who may touch what.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { checkColdStartSettings } from '../functions/adapters/config/cold-start-check.js';
import { registerSourceAdapter, sourceDefinition } from '../functions/adapters/sources/registry.js';
import { ConfigError } from '../functions/shared/errors.js';
import { ServiceAlarms } from './constructs/alarms.js';
import { ServiceDashboard, serviceNameOf } from './constructs/dashboard.js';
import { DataTables } from './constructs/data-tables.js';
import { ServiceApi } from './constructs/http-api.js';
import { bundlingRoot, type KeyUse, NodeFunction, type TableAction } from './constructs/node-function.js';
import { ServiceSecrets } from './constructs/service-secrets.js';
import { UpdateQueues } from './constructs/update-queue.js';
import { UpstreamIdentity } from './constructs/upstream-identity.js';
import {
  bindCustomSource,
  type CustomSourceProps,
  checkCustomSource,
  customSourceEntry,
  withCustomSource,
} from './custom-source.js';
import {
  AUTH_STATE_TABLE,
  CONNECTIONS_TABLE,
  DELIVERY_LOG_TABLE,
  RATE_LIMITS_TABLE,
  SUBSCRIPTIONS_TABLE,
  WORKER_TIMEOUT_SECONDS,
} from './data-model.js';
import { ENV } from './env-names.js';
import { environmentSize, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from './environment-size.js';
import { needsOf, resourceSettingsOf } from './functions.js';
import { type FunctionName, HANDLERS, type HttpHandlerName, ROUTES, WORKER_HANDLER } from './routes.js';
import { SETTINGS, type SettingDeclaration, type SettingName } from './settings.js';
import { OUTPUTS, TABLE_OUTPUTS } from './stack-outputs.js';
import {
  adapterEnvironment,
  contextEnvironment,
  type StageConfig,
  StageConfigError,
  wiringEnvironment,
} from './stage-config.js';

export interface NotionLinkPreviewStackProps extends StackProps {
  readonly config: StageConfig;
  /** A source adapter module of the team's own, bundled into the functions that call the source (lib/custom-source.ts). */
  readonly source?: CustomSourceProps;
  /** Root of the project that bundles the functions (it holds the lock file); default: `bundlingRoot()`. */
  readonly projectRoot?: string;
}

/** `oauth-authorize` → `OAuthAuthorizeFunction` (stable logical ids). */
export const functionId = (handlerName: string): string =>
  `${handlerName
    .split('-')
    .map((part) => (part === 'oauth' ? 'OAuth' : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('')}Function`;

/** A value only known at deploy time (a reference), replaced for the synth-time check by one of its kind. */
const standIn = (name: string, value: string): string =>
  !Token.isUnresolved(value) ? value : /(_URL|_ISSUER)$/.test(name) ? 'https://deploy-time.invalid' : 'deploy-time';

/** The context key a setting's value comes from (lib/settings.ts, or the source adapter's own settings). */
const contextKeyOf = (name: string, source: Pick<NonNullable<ReturnType<typeof sourceDefinition>>, 'settings'>) => {
  const declared = (SETTINGS as Readonly<Record<string, SettingDeclaration>>)[name]?.deploy;
  if (declared && 'context' in declared) return declared.context;
  return source.settings?.[name]?.context;
};

/**
 * Runs what `fn` parses at cold start (functions/adapters/config/cold-start-check.ts) on the environment the
 * stack gives it, and turns a refusal into a StageConfigError naming the context key the value came from.
 */
const checkAtSynth = (
  fn: FunctionName,
  source: NonNullable<ReturnType<typeof sourceDefinition>>,
  environment: Readonly<Record<string, string>>,
): void => {
  const env = Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, standIn(k, v)]));
  // A team's own adapter is registered by its bundle's entry before the handler composes; here, for the check.
  const unregister = registerSourceAdapter(source);
  try {
    checkColdStartSettings(fn, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const names = [...error.message.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)].map((m) => m[0]);
    const key = names.map((name) => contextKeyOf(name, source)).find((k) => k !== undefined);
    throw new StageConfigError(
      key
        ? `context "${key}": ${error.message} (function ${fn} would refuse it at cold start)`
        : `function ${fn} would refuse its environment at cold start: ${error.message}`,
    );
  } finally {
    unregister();
  }
};

/**
 * Lambda refuses an environment over 4 KB when the stack deploys (lib/environment-size.ts): refused at synth,
 * naming the largest variables and the context keys they come from.
 */
const checkEnvironmentSize = (
  stack: Stack,
  fn: FunctionName,
  f: NodeFunction,
  contextOf: (setting: string) => string | undefined,
): void => {
  const size = environmentSize(stack, f.environmentVariables());
  if (size.bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const largest = size.variables.slice(0, 3).map(({ name, bytes }) => {
    const key = contextOf(name);
    return `${name} ${bytes} bytes${key ? ` (context "${key}")` : ''}`;
  });
  throw new StageConfigError(
    `function ${fn}'s environment variables would take up to ${size.bytes} bytes, over Lambda's limit of ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}, and the deploy would fail: the largest are ${largest.join(', ')}; shorten them (compact JSON, fewer or shorter rules and placeholder attributes)`,
  );
};

export class NotionLinkPreviewStack extends Stack {
  readonly config: StageConfig;
  readonly tables: DataTables;
  readonly queues: UpdateQueues;
  readonly secrets: ServiceSecrets;
  readonly upstream: UpstreamIdentity;
  readonly api: ServiceApi;
  readonly functions: Readonly<Record<HttpHandlerName, NodeFunction>>;
  readonly worker: NodeFunction;
  readonly alarms: ServiceAlarms;
  readonly dashboard: ServiceDashboard;

  constructor(scope: Construct, id: string, props: NotionLinkPreviewStackProps) {
    super(scope, id, {
      description: `Notion Link Previews backend: OAuth, unfurl callbacks and pushed updates (stage ${props.config.stage})`,
      ...props,
    });
    const custom = props.source;
    const config = custom ? withCustomSource(props.config, custom) : props.config;
    this.config = config;
    const projectRoot = props.projectRoot ?? bundlingRoot();
    const dataRemoval = config.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as RetentionDays;

    this.tables = new DataTables(this, 'Data', { removalPolicy: dataRemoval });
    this.queues = new UpdateQueues(this, 'Updates', {
      removalPolicy: dataRemoval,
      workerTimeout: Duration.seconds(WORKER_TIMEOUT_SECONDS),
    });
    this.secrets = new ServiceSecrets(this, 'Secrets', { stage: config.stage, removalPolicy: dataRemoval });
    this.api = new ServiceApi(this, 'Http', {
      stage: config.stage,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      logRetention,
      logRemovalPolicy: dataRemoval,
      ...(config.customDomain ? { customDomain: config.customDomain } : {}),
    });
    const baseUrl = this.api.baseUrl;
    this.upstream = new UpstreamIdentity(this, 'Upstream', {
      stage: config.stage,
      callbackUrl: `${baseUrl}/oauth/callback`,
      removalPolicy: dataRemoval,
      ...(config.externalOidc ? { external: config.externalOidc } : {}),
      ...(config.cognitoDomainPrefix ? { cognitoDomainPrefix: config.cognitoDomainPrefix } : {}),
    });

    // Values of the settings lib/settings.ts marks as set by the stack's wiring.
    const wiring: Readonly<Partial<Record<SettingName, string>>> = {
      STAGE: config.stage,
      PUBLIC_BASE_URL: baseUrl,
      // The upstream login: Cognito's, or the external issuer the context names.
      OIDC_ISSUER: this.upstream.issuer,
      OIDC_CLIENT_ID: this.upstream.clientId,
    };
    // Reserved concurrency where the context asks for it (a guaranteed share, and a ceiling).
    const reserved: Partial<Record<FunctionName, number>> = {
      ...(config.unfurlReservedConcurrency ? { unfurl: config.unfurlReservedConcurrency } : {}),
      ...(config.workerReservedConcurrency ? { [WORKER_HANDLER]: config.workerReservedConcurrency } : {}),
    };
    const fn = (handlerName: FunctionName, timeout: Duration, reservedConcurrency?: number): NodeFunction => {
      const f = new NodeFunction(this, functionId(handlerName), {
        handlerName,
        ...(reservedConcurrency ? { reservedConcurrentExecutions: reservedConcurrency } : {}),
        description:
          handlerName === WORKER_HANDLER ? 'SQS update worker' : HANDLERS[handlerName as HttpHandlerName].description,
        timeout,
        logRetention,
        logRemovalPolicy: dataRemoval,
        projectRoot,
        ...(custom && needsOf(handlerName).callsSource
          ? { entryFile: customSourceEntry(projectRoot, handlerName, custom.entry) }
          : {}),
      });
      // Settings from CDK context and from the stack's wiring, as lib/settings.ts declares them for this
      // function; resources (tables, queues, secrets, keys) follow from its needs in build() below.
      f.setEnvironment({ ...contextEnvironment(config, handlerName), ...wiringEnvironment(wiring, handlerName) });
      f.addEnvironment('POWERTOOLS_SERVICE_NAME', serviceNameOf(config.stage));
      Validations.of(f).acknowledge({
        id: 'AwsSolutions::AwsSolutions-L1',
        reason:
          "Runs nodejs24.x, the runtime aws-cdk-lib's NODEJS_LATEST resolves to and the one every local tier is tested on (ADR 0100); the rule compares against the newest runtime aws-cdk-lib lists (nodejs26.x since 2.277), and moving to it is a deliberate, tested change.",
      });
      return f;
    };

    // Each function gets what lib/functions.ts declares it needs: grants and the settings naming them.
    const tables = {
      CONNECTIONS_TABLE,
      AUTH_STATE_TABLE,
      SUBSCRIPTIONS_TABLE,
      RATE_LIMITS_TABLE,
      DELIVERY_LOG_TABLE,
    } as const;
    const queues = { UPDATE_QUEUE_URL: this.queues.queue, UPDATE_DLQ_URL: this.queues.deadLetterQueue } as const;
    const secrets = {
      OAUTH_CLIENT_SECRET_ARN: this.secrets.oauthClientSecret,
      NOTION_CREDENTIALS_SECRET_ARN: this.secrets.notionCredentials,
      TOKEN_SIGNING_KEY_SECRET_ARN: this.secrets.tokenSigningKey,
      OIDC_CLIENT_SECRET_ARN: this.upstream.clientSecret,
      CHANGES_WEBHOOK_SECRET_ARN: this.secrets.changesWebhookSecret,
    } as const;
    const keys = { NOTION_TOKEN_KMS_KEY_ID: this.secrets.notionTokenKey } as const;
    const source = custom?.definition ?? sourceDefinition(config.sourceAdapter);
    if (!source) throw new StageConfigError(`context "sourceAdapter": unknown adapter "${config.sourceAdapter}"`);
    if (custom) checkCustomSource(custom, (key) => this.node.tryGetContext(key));
    const build = (name: FunctionName): NodeFunction => {
      const needs = needsOf(name);
      const f = fn(name, Duration.seconds(needs.timeoutSeconds ?? 10), reserved[name]);
      for (const [setting, actions] of Object.entries(needs.tables ?? {}) as [
        keyof typeof tables,
        readonly TableAction[],
      ][]) {
        f.bindTable(tables[setting], this.tables.table(tables[setting]), actions);
      }
      for (const [setting, uses] of Object.entries(needs.keys ?? {}) as [keyof typeof keys, readonly KeyUse[]][]) {
        f.bindKey(ENV[setting], keys[setting], uses);
      }
      for (const setting of needs.queues ?? []) f.bindQueue(ENV[setting], queues[setting]);
      for (const setting of needs.secrets ?? []) f.bindSecret(ENV[setting], secrets[setting]);
      // The configured source adapter's own settings, from CDK context, for the functions that call it.
      const ownSettings: Record<string, string> = needs.callsSource
        ? custom
          ? { ...(custom.settings ?? {}) }
          : adapterEnvironment(source, (key) => this.node.tryGetContext(key))
        : {};
      if (needs.callsSource) {
        if (custom) bindCustomSource(f, custom);
        else f.setEnvironment(ownSettings);
      }
      // What the function parses at cold start, parsed now with the same code: a bad value fails the synth.
      const resources = Object.fromEntries(
        [...resourceSettingsOf(name), ...(needs.callsSource ? Object.keys(custom?.secrets ?? {}) : [])].map((s) => [
          s,
          'bound-at-deploy',
        ]),
      );
      checkAtSynth(name, source, {
        ...resources,
        ...contextEnvironment(config, name),
        ...wiringEnvironment(wiring, name),
        ...ownSettings,
      });
      checkEnvironmentSize(this, name, f, (setting) => contextKeyOf(setting, custom?.definition ?? source));
      return f;
    };

    this.functions = Object.fromEntries(
      (Object.keys(HANDLERS) as HttpHandlerName[]).map((name) => [name, build(name)]),
    ) as Record<HttpHandlerName, NodeFunction>;
    this.worker = build(WORKER_HANDLER);
    this.worker.addEventSource(
      new SqsEventSource(this.queues.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: config.workerMaxConcurrency,
      }),
    );

    this.api.addServiceRoutes(this.functions);

    this.alarms = new ServiceAlarms(this, 'Alarms', {
      stage: config.stage,
      api: this.api.api,
      worker: this.worker,
      functions: { ...this.functions, [WORKER_HANDLER]: this.worker },
      unfurl: this.functions.unfurl,
      tables: Object.fromEntries(this.tables.entries().map(([definition, table]) => [definition.id, table])),
      queue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      removalPolicy: dataRemoval,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
      ...(config.alarmTopicArn ? { alarmTopicArn: config.alarmTopicArn } : {}),
    });

    this.dashboard = new ServiceDashboard(this, 'Operations', {
      stage: config.stage,
      api: this.api.api,
      routes: ROUTES,
      functions: { ...this.functions, [WORKER_HANDLER]: this.worker },
      queue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      alarms: this.alarms.all(),
    });

    this.addOutputs(baseUrl);
  }

  private addOutputs(baseUrl: string): void {
    const out = (key: string, value: string, description: string) => new CfnOutput(this, key, { value, description });
    const url = (path: string) => `${baseUrl}${path}`;
    const dashboardPath = (field: string): string => {
      const route = ROUTES.find((r) => r.dashboardField === field);
      if (!route) throw new Error(`no route for Notion dashboard field "${field}"`);
      return route.path;
    };

    out(OUTPUTS.stage, this.config.stage, 'Deployment stage');
    out(
      OUTPUTS.dashboardUrl,
      `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.dashboard.dashboard.dashboardName}`,
      'CloudWatch dashboard of the service',
    );
    out(OUTPUTS.publicBaseUrl, baseUrl, 'Base URL of the service');
    const domain = this.config.customDomain;
    if (!domain || domain.keepExecuteApiEndpoint) {
      out(OUTPUTS.apiEndpoint, this.api.api.apiEndpoint, 'Default execute-api endpoint of the HTTP API');
    }
    if (this.api.domainName) {
      out(
        OUTPUTS.customDomainTarget,
        this.api.domainName.regionalDomainName,
        domain?.hostedZone
          ? `Alias target of the A/AAAA records the stack created in ${domain.hostedZone.name}`
          : 'Point a CNAME (or alias) record for the custom domain at this name',
      );
    }

    out(OUTPUTS.authorizeUrl, url(dashboardPath('OAuth Authorize URL')), 'Notion dashboard: OAuth Authorize URL');
    out(OUTPUTS.tokenUrl, url(dashboardPath('OAuth Token URL')), 'Notion dashboard: OAuth Token URL');
    out(OUTPUTS.oauthClientId, this.config.oauthClientId, 'Notion dashboard: OAuth Client ID');
    out(
      OUTPUTS.oauthClientSecretArn,
      this.secrets.oauthClientSecret.secretArn,
      'Notion dashboard: OAuth Client Secret is the value of this Secrets Manager secret',
    );
    out(
      OUTPUTS.oauthClientSecretCommand,
      // With the stack's region: the CLI's default region may be another one, where the secret is not found.
      `aws secretsmanager get-secret-value --region ${this.region} --secret-id ${this.secrets.oauthClientSecret.secretArn} --query SecretString --output text`,
      'Command that prints the OAuth Client Secret for the Notion dashboard',
    );
    out(
      OUTPUTS.unfurlUrl,
      url(dashboardPath('Unfurl Callback URL')),
      'Notion dashboard: Unfurl Callback URL (POST and DELETE)',
    );
    out(
      OUTPUTS.deletedTokenUrl,
      url(dashboardPath('Deleted Token Callback URL')),
      'Notion dashboard: Deleted Token Callback URL',
    );

    out(OUTPUTS.changesUrl, url('/changes'), 'Signed change webhook (Standard Webhooks) for the product');
    out(OUTPUTS.metadataUrl, url('/.well-known/oauth-authorization-server'), 'RFC 8414 authorization server metadata');
    out(
      OUTPUTS.jwksUrl,
      url('/.well-known/jwks.json'),
      'Public keys of the service assertions, for the product to verify them',
    );
    out(OUTPUTS.oauthCallbackUrl, url('/oauth/callback'), 'Redirect URI to register with an external OIDC provider');

    out(
      OUTPUTS.notionCredentialsSecretArn,
      this.secrets.notionCredentials.secretArn,
      'Store the Notion integration OAuth credentials here as {"clientId","clientSecret"}',
    );
    out(
      OUTPUTS.changesWebhookSecretArn,
      this.secrets.changesWebhookSecret.secretArn,
      'Signing secret of the change webhook',
    );
    out(
      OUTPUTS.tokenSigningKeySecretArn,
      this.secrets.tokenSigningKey.secretArn,
      'Seed of the access-token signing key',
    );
    out(OUTPUTS.notionTokenKeyArn, this.secrets.notionTokenKey.keyArn, 'KMS key encrypting stored Notion tokens');

    out(OUTPUTS.oidcIssuer, this.upstream.issuer, 'Upstream OpenID Connect issuer');
    out(OUTPUTS.oidcClientId, this.upstream.clientId, 'Client id at the upstream OpenID Connect provider');
    out(OUTPUTS.oidcClientSecretArn, this.upstream.clientSecret.secretArn, 'Secret holding the upstream client secret');
    if (this.upstream.cognito) {
      out(OUTPUTS.cognitoUserPoolId, this.upstream.cognito.userPool.userPoolId, 'Cognito user pool: create users here');
      out(OUTPUTS.cognitoLoginUrl, this.upstream.cognito.loginBaseUrl, 'Cognito hosted login domain');
    }

    for (const [definition, table] of this.tables.entries()) {
      const key = TABLE_OUTPUTS[definition.id];
      if (key) out(key, table.tableName, `DynamoDB table ${definition.id}`);
    }
    out(OUTPUTS.updateQueueUrl, this.queues.queue.queueUrl, 'Update queue (SendMessage change events here)');
    out(OUTPUTS.updateQueueName, this.queues.queue.queueName, 'Update queue name');
    out(OUTPUTS.deadLetterQueueUrl, this.queues.deadLetterQueue.queueUrl, 'Dead-letter queue of the update queue');
    out(OUTPUTS.deadLetterQueueName, this.queues.deadLetterQueue.queueName, 'Dead-letter queue name');
  }
}

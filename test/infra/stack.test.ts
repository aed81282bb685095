/**
 * The default (development) stack, synthesized once with real esbuild bundling:
 * least-privilege IAM per function, runtime and bundle format, routes, data,
 * queue, alarms and outputs.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Match } from 'aws-cdk-lib/assertions';
import { SUBSCRIPTIONS_TABLE, TABLES, UPDATE_QUEUE, WORKER_TIMEOUT_SECONDS } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { HANDLERS, ROUTES, WORKER_HANDLER } from '#lib/routes.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { dependencyGraph, findCycle, grants, permissionsOfRole, type Synthesized, synthService } from './synth.js';

// Concrete action lists (written out here on purpose, not imported from the construct).
/** `dynamodb:` actions, spelled without the prefix. */
const ddb = (...actions: string[]): string[] => actions.map((a) => `dynamodb:${a}`);
const QUERY = ['dynamodb:Query'];
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const READ_SECRET = ['secretsmanager:GetSecretValue'];

let s: Synthesized;
let names: Map<string, string>;
const fnIds = new Map<string, string>();

beforeAll(() => {
  s = synthService({ bundle: true });
  const { stack } = s;
  names = new Map<string, string>();
  for (const [def, table] of stack.tables.entries()) names.set(s.logicalId(table), def.id);
  names.set(s.logicalId(stack.queues.queue), 'UpdateQueue');
  names.set(s.logicalId(stack.queues.deadLetterQueue), 'UpdateDeadLetterQueue');
  names.set(s.logicalId(stack.secrets.oauthClientSecret), 'OAuthClientSecret');
  names.set(s.logicalId(stack.secrets.notionCredentials), 'NotionCredentials');
  names.set(s.logicalId(stack.secrets.tokenSigningKey), 'TokenSigningKey');
  names.set(s.logicalId(stack.secrets.changesWebhookSecret), 'ChangesWebhookSecret');
  names.set(s.logicalId(stack.secrets.notionTokenKey), 'NotionTokenKey');
  const upstreamSecret = stack.upstream.cognito ? stack.upstream.node.findChild('ClientSecret') : undefined;
  if (upstreamSecret) names.set(s.logicalId(upstreamSecret), 'OidcClientSecret');
  for (const fn of [...Object.values(stack.functions), stack.worker]) {
    names.set(s.logicalId(fn.functionLogGroup), 'OwnLogGroup');
    fnIds.set(fn.handlerName, s.logicalId(fn));
  }
}, 120_000);

afterAll(() => s?.cleanup());

const permissions = (handlerName: string): string[] => {
  const fn =
    handlerName === WORKER_HANDLER ? s.stack.worker : s.stack.functions[handlerName as keyof typeof s.stack.functions];
  return permissionsOfRole(s.template, s.logicalId(fn.executionRole), names);
};

/** The parts of a synthesized Lambda function these assertions read. */
interface LambdaResource {
  readonly Properties: {
    readonly Timeout: number;
    readonly Environment: { readonly Variables: Record<string, unknown> };
  };
}

const lambda = (handlerName: string): LambdaResource => {
  const id = fnIds.get(handlerName);
  if (!id) throw new Error(`no function ${handlerName}`);
  return s.template.toJSON().Resources[id];
};

describe('least-privilege IAM per function', () => {
  it('oauth-authorize: pending logins and codes, creates connections and ends earlier ones (their subscriptions removed, the end logged), envelope-encrypts and decrypts, reads the Notion and upstream client secrets', () => {
    expect(permissions('oauth-authorize')).toEqual(
      grants({
        OwnLogGroup: LOGS,
        AuthState: ddb('DeleteItem', 'GetItem', 'PutItem'),
        Connections: ddb('PutItem', 'UpdateItem'),
        'Connections/index/bySubject': QUERY,
        Subscriptions: ddb('BatchWriteItem'),
        'Subscriptions/index/byConnection': QUERY,
        DeliveryLog: ddb('PutItem'),
        NotionTokenKey: ['kms:Decrypt', 'kms:GenerateDataKey'],
        NotionCredentials: READ_SECRET,
        OidcClientSecret: READ_SECRET,
      }),
    );
  });

  it('oauth-token: reads and redeems codes, reads and rotates connections, ends one on reuse (subscriptions removed, the end logged), our client secret and the signing key; no KMS', () => {
    expect(permissions('oauth-token')).toEqual(
      grants({
        OwnLogGroup: LOGS,
        AuthState: ddb('GetItem', 'UpdateItem'),
        Connections: ddb('GetItem', 'UpdateItem'),
        Subscriptions: ddb('BatchWriteItem'),
        'Subscriptions/index/byConnection': QUERY,
        DeliveryLog: ddb('PutItem'),
        OAuthClientSecret: READ_SECRET,
        TokenSigningKey: READ_SECRET,
      }),
    );
  });

  it('oauth-revoke: reads and ends connections, removes their subscriptions, logs the end, our client secret and the signing key; no auth state, no KMS', () => {
    expect(permissions('oauth-revoke')).toEqual(
      grants({
        OwnLogGroup: LOGS,
        Connections: ddb('GetItem', 'UpdateItem'),
        Subscriptions: ddb('BatchWriteItem'),
        'Subscriptions/index/byConnection': QUERY,
        DeliveryLog: ddb('PutItem'),
        OAuthClientSecret: READ_SECRET,
        TokenSigningKey: READ_SECRET,
      }),
    );
  });

  it('POST /oauth/revoke has its own throttle, below the stage default', () => {
    const stages = Object.values(
      s.template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    expect(
      stages.map((st) => (st.Properties.RouteSettings as Record<string, unknown>)['POST /oauth/revoke']),
    ).toContainEqual({
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 10,
      DetailedMetricsEnabled: true,
    });
  });

  it('unfurl: batch-reads connections, keeps upstream tokens valid (conditional updates), keeps subscriptions, envelope-encrypts and decrypts upstream credentials, reads the signing key and the upstream client secret', () => {
    expect(permissions('unfurl')).toEqual(
      grants({
        OwnLogGroup: LOGS,
        Connections: ddb('BatchGetItem', 'GetItem', 'UpdateItem'),
        Subscriptions: ddb('BatchGetItem', 'DeleteItem', 'GetItem', 'UpdateItem'),
        NotionTokenKey: ['kms:Decrypt', 'kms:GenerateDataKey'],
        TokenSigningKey: READ_SECRET,
        OidcClientSecret: READ_SECRET,
      }),
    );
  });

  it("unfurl-delete: reads and ends connections, deletes subscriptions (a connection's by its index), the signing key", () => {
    expect(permissions('unfurl-delete')).toEqual(
      grants({
        OwnLogGroup: LOGS,
        Connections: ddb('GetItem', 'UpdateItem'),
        Subscriptions: ddb('BatchWriteItem', 'DeleteItem'),
        'Subscriptions/index/byConnection': QUERY,
        DeliveryLog: ddb('PutItem'),
        TokenSigningKey: READ_SECRET,
      }),
    );
  });

  it('changes: reads and writes webhook-id markers in auth state, sends to the update queue, reads the webhook secret', () => {
    expect(permissions('changes')).toEqual(
      grants({
        OwnLogGroup: LOGS,
        AuthState: ddb('GetItem', 'PutItem'),
        UpdateQueue: ['sqs:SendMessage'],
        ChangesWebhookSecret: READ_SECRET,
      }),
    );
  });

  it('metadata: only writes its own logs', () => {
    expect(permissions('metadata')).toEqual(grants({ OwnLogGroup: LOGS }));
  });

  it('jwks: only reads the signing key (its public assertion keys)', () => {
    expect(permissions('jwks')).toEqual(grants({ OwnLogGroup: LOGS, TokenSigningKey: READ_SECRET }));
  });

  it('update-worker: markers, subscriptions, rate limits, connections, writes the delivery log, envelope-encrypts and decrypts, reads the signing key, the upstream client secret and the Notion credentials, consumes and re-sends', () => {
    expect(permissions(WORKER_HANDLER)).toEqual(
      grants({
        OwnLogGroup: LOGS,
        AuthState: ddb('GetItem', 'PutItem'),
        Subscriptions: ddb('BatchGetItem', 'BatchWriteItem', 'DeleteItem', 'GetItem', 'Query', 'UpdateItem'),
        'Subscriptions/index/byConnection': QUERY,
        RateLimits: ddb('BatchGetItem', 'GetItem', 'UpdateItem'),
        Connections: ddb('BatchGetItem', 'GetItem', 'UpdateItem'),
        DeliveryLog: ddb('BatchWriteItem', 'PutItem'),
        NotionTokenKey: ['kms:Decrypt', 'kms:GenerateDataKey'],
        TokenSigningKey: READ_SECRET,
        OidcClientSecret: READ_SECRET,
        NotionCredentials: READ_SECRET,
        UpdateQueue: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
          'sqs:SendMessage',
        ],
        UpdateDeadLetterQueue: ['sqs:SendMessage'],
      }),
    );
  });

  it('no function is granted ConditionCheckItem, Scan or a DynamoDB action its declaration lacks', () => {
    for (const h of fnIds.keys()) {
      expect(permissions(h).filter((p) => /^dynamodb:(ConditionCheckItem|Scan|TransactWriteItems) /.test(p))).toEqual(
        [],
      );
    }
  });

  it('no IAM statement anywhere uses a wildcard action or resource, and no managed policy is attached', () => {
    for (const policy of Object.values(s.template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement) {
        for (const a of [st.Action].flat()) expect(a).not.toContain('*');
        for (const r of [st.Resource].flat()) expect(JSON.stringify(r)).not.toContain('*');
      }
    }
    for (const role of Object.values(s.template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('only the functions that handle stored tokens may use the KMS key (those that store refreshed upstream tokens create data keys)', () => {
    const kms = [...fnIds.keys()].filter((h) => permissions(h).some((p) => p.startsWith('kms:')));
    expect(kms.sort()).toEqual(['oauth-authorize', 'unfurl', WORKER_HANDLER].sort());
    const dataKeys = [...fnIds.keys()].filter((h) => permissions(h).some((p) => p.startsWith('kms:GenerateDataKey')));
    expect(dataKeys.sort()).toEqual(['oauth-authorize', 'unfurl', WORKER_HANDLER].sort());
  });

  it('each function (one per handler, and the worker) exists, with a role of its own', () => {
    const functions = Object.values(s.template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(Object.keys(HANDLERS).length + 1);
    expect(new Set(functions.map((f) => JSON.stringify(f.Properties.Role))).size).toBe(functions.length);
  });
});

describe('environment passed to functions', () => {
  it('binds each table, queue, secret and key by reference, and never passes a secret value', () => {
    const env = (h: string): Record<string, unknown> => lambda(h).Properties.Environment.Variables;
    const ref = (construct: Parameters<Synthesized['logicalId']>[0]) => ({ Ref: s.logicalId(construct) });
    expect(env('unfurl')[ENV.CONNECTIONS_TABLE]).toEqual(ref(s.stack.tables.entries()[0]![1]));
    expect(env('oauth-token')[ENV.OAUTH_CLIENT_SECRET_ARN]).toEqual(ref(s.stack.secrets.oauthClientSecret));
    expect(env('oauth-authorize')[ENV.NOTION_TOKEN_KMS_KEY_ID]).toEqual({
      'Fn::GetAtt': [s.logicalId(s.stack.secrets.notionTokenKey), 'Arn'],
    });
    expect(env('changes')[ENV.UPDATE_QUEUE_URL]).toEqual(ref(s.stack.queues.queue));
    expect(env(WORKER_HANDLER)[ENV.UPDATE_DLQ_URL]).toEqual(ref(s.stack.queues.deadLetterQueue));
    const valueNames = [
      ENV.OAUTH_CLIENT_SECRET,
      ENV.NOTION_CLIENT_SECRET,
      ENV.OIDC_CLIENT_SECRET,
      ENV.CHANGES_WEBHOOK_SECRET,
      ENV.TOKEN_SIGNING_KEY,
      ENV.NOTION_TOKEN_ENCRYPTION_KEY,
    ];
    for (const id of fnIds.values()) {
      const vars = s.template.toJSON().Resources[id].Properties.Environment.Variables;
      for (const n of valueNames) expect(vars).not.toHaveProperty(n);
      expect(vars[ENV.STAGE]).toBe('dev');
      // Source maps are read when a stack is logged, not decoded at every cold start (ADR 0143).
      expect(vars).not.toHaveProperty('NODE_OPTIONS');
    }
  });

  it('PUBLIC_BASE_URL is built from the API id and region, without a dependency cycle', () => {
    const apiId = s.logicalId(s.stack.api.api);
    const base = lambda('metadata').Properties.Environment.Variables[ENV.PUBLIC_BASE_URL];
    expect(JSON.stringify(base)).toContain(`{"Ref":"${apiId}"}`);
    expect(JSON.stringify(base)).toContain('AWS::Region');
    expect(findCycle(dependencyGraph(s.template.toJSON()))).toBeUndefined();
  });

  it('the authorize function gets the Cognito issuer, client id and the secret copied from the app client', () => {
    const vars = lambda('oauth-authorize').Properties.Environment.Variables;
    const pool = s.logicalId(s.stack.upstream.cognito!.userPool);
    const client = s.logicalId(s.stack.upstream.cognito!.client);
    expect(vars[ENV.OIDC_ISSUER]).toEqual({ 'Fn::GetAtt': [pool, 'ProviderURL'] });
    expect(vars[ENV.OIDC_CLIENT_ID]).toEqual({ Ref: client });
    s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: { 'Fn::GetAtt': [client, 'ClientSecret'] },
    });
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: Match.arrayWith(['openid']),
      CallbackURLs: [Match.objectLike({ 'Fn::Join': Match.anyValue() })],
    });
    s.template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    s.template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
  });
});

describe('runtime and bundling', () => {
  it('every function runs Node.js 24 on arm64 from an ESM bundle with the createRequire banner', () => {
    const functions = s.template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).sort()).toEqual([...fnIds.values()].sort());
    for (const [id, fn] of Object.entries(functions)) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Handler).toBe('index.handler');
      const assetDir = path.join(s.outdir, fn.Metadata['aws:asset:path']);
      const bundle = readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith("import { createRequire as __nlpCreateRequire } from 'node:module';")).toBe(true);
      expect(bundle).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
      expect(bundle).not.toMatch(/\bmodule\.exports\s*=/);
      expect(existsSync(path.join(assetDir, 'index.mjs.map'))).toBe(true);
      // Minified: long lines (only template literals keep their newlines), e.g. thousands of characters per line.
      expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(400);
      expect(id).toBeDefined();
    }
  });

  it('one function per handler name, each bundled from functions/<name>.ts', () => {
    const handlers = [...new Set(ROUTES.map((r) => r.handler)), WORKER_HANDLER].sort();
    expect([...fnIds.keys()].sort()).toEqual(handlers);
  });

  it('the worker timeout matches the data model and HTTP functions stay under the API Gateway limit', () => {
    expect(lambda(WORKER_HANDLER).Properties.Timeout).toBe(WORKER_TIMEOUT_SECONDS);
    for (const name of fnIds.keys()) {
      if (name !== WORKER_HANDLER) expect(lambda(name).Properties.Timeout).toBeLessThanOrEqual(29);
    }
  });

  it('each function logs to its own log group with a retention period', () => {
    for (const id of fnIds.values()) {
      const fn = s.template.toJSON().Resources[id];
      const groupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      expect(s.template.toJSON().Resources[groupId].Properties.RetentionInDays).toBe(30);
    }
  });
});

describe('HTTP API', () => {
  it('wires every route of lib/routes.ts to the function of its handler', () => {
    const resources = s.template.toJSON().Resources;
    const routes = s.template.findResources('AWS::ApiGatewayV2::Route');
    expect(Object.keys(routes)).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const found = Object.values(routes).find((r) => r.Properties.RouteKey === `${route.method} ${route.path}`);
      expect(found).toBeDefined();
      const target = found!.Properties.Target['Fn::Join'][1] as unknown[];
      const integrationId = (target[1] as { Ref: string }).Ref;
      const uri = resources[integrationId].Properties.IntegrationUri;
      expect(uri).toEqual({ 'Fn::GetAtt': [fnIds.get(route.handler), 'Arn'] });
      expect(resources[integrationId].Properties.PayloadFormatVersion).toBe('2.0');
    }
  });

  it('throttles the $default stage and writes JSON access logs without query strings', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context.requestId') },
    });
    const stage = Object.values(s.template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(Object.values(format).join(' ')).not.toMatch(/querystring|\$context\.path|requestOverride|authorizer/i);
  });
});

describe('per-route throttles', () => {
  const routeSettings = (): Record<
    string,
    { ThrottlingRateLimit: number; ThrottlingBurstLimit: number; DetailedMetricsEnabled: boolean }
  > => Object.values(s.template.findResources('AWS::ApiGatewayV2::Stage'))[0]!.Properties.RouteSettings;

  it('every route has a throttle setting of its own, from its class in lib/routes.ts', () => {
    const settings = routeSettings();
    expect(Object.keys(settings).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of ROUTES) {
      const limits = s.stack.api.throttleOf(route.throttle);
      expect(settings[`${route.method} ${route.path}`]).toEqual({
        ThrottlingRateLimit: limits.rateLimit,
        ThrottlingBurstLimit: limits.burstLimit,
        DetailedMetricsEnabled: true,
      });
    }
  });

  it("Notion's routes (unfurl, token, deleted-token) are throttled apart from /changes, which has a smaller bucket", () => {
    const settings = routeSettings();
    const notion = [
      'POST /unfurl',
      'DELETE /unfurl',
      'POST /oauth/token',
      'DELETE /deleted-token',
      'POST /deleted-token',
    ];
    for (const key of notion)
      expect(settings[key]).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    expect(settings['POST /changes']).toMatchObject({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
    expect(ROUTES.filter((r) => r.throttle === 'notion').map((r) => r.path)).not.toContain('/changes');
    // Route settings name existing routes: the stage is created after every route.
    const stage = Object.entries(s.template.findResources('AWS::ApiGatewayV2::Stage'))[0]![1];
    const routes = Object.keys(s.template.findResources('AWS::ApiGatewayV2::Route'));
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routes));
  });
});

describe('data', () => {
  it('expires items of every table but the subscriptions: a live preview ends only when Notion or its connection ends it', () => {
    const tables = s.template.findResources('AWS::DynamoDB::Table');
    const withTtl = [...s.stack.tables.entries()]
      .filter(([, table]) => tables[s.logicalId(table)]!.Properties.TimeToLiveSpecification !== undefined)
      .map(([def]) => def.id);
    expect(withTtl).toEqual(TABLES.filter((t) => t !== SUBSCRIPTIONS_TABLE).map((t) => t.id));
  });

  it('creates the tables of the data model: on-demand, PITR, encrypted, TTL, keys and indexes', () => {
    const tables = s.template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(TABLES.length);
    for (const [def, table] of s.stack.tables.entries()) {
      const t = tables[s.logicalId(table)]!;
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(t.Properties.TimeToLiveSpecification).toEqual(
        def.ttlAttribute ? { AttributeName: def.ttlAttribute, Enabled: true } : undefined,
      );
      expect(t.Properties.KeySchema[0]).toEqual({ AttributeName: def.partitionKey.name, KeyType: 'HASH' });
      expect((t.Properties.GlobalSecondaryIndexes ?? []).map((i: { IndexName: string }) => i.IndexName)).toEqual(
        def.globalIndexes.map((i) => i.indexName),
      );
      // Development stage: torn down with the stack.
      expect(t.DeletionPolicy).toBe('Delete');
      expect(t.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });

  it('subscriptions are queryable by resource (table key) and by connection (index)', () => {
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'resourceKey', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byConnection',
          KeySchema: [
            { AttributeName: 'connectionId', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });
});

describe('update queue', () => {
  it('redrives to the DLQ after maxReceiveCount, SSL-only, SQS-managed encryption, visibility ≥ 6 × worker timeout', () => {
    const queueId = s.logicalId(s.stack.queues.queue);
    const dlqId = s.logicalId(s.stack.queues.deadLetterQueue);
    const q = s.template.toJSON().Resources[queueId];
    expect(q.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: UPDATE_QUEUE.deadLetter!.maxReceiveCount,
    });
    expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    expect(q.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * lambda(WORKER_HANDLER).Properties.Timeout);
    const dlq = s.template.toJSON().Resources[dlqId];
    expect(dlq.Properties.SqsManagedSseEnabled).toBe(true);
    expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    for (const id of [queueId, dlqId]) {
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('the worker consumes it with partial batch responses and a concurrency cap', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnIds.get(WORKER_HANDLER) },
      EventSourceArn: { 'Fn::GetAtt': [s.logicalId(s.stack.queues.queue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
      BatchSize: 10,
    });
  });
});

describe('key and secrets', () => {
  it('the Notion token key rotates and is torn down after a pending window in development', () => {
    const key = s.template.toJSON().Resources[s.logicalId(s.stack.secrets.notionTokenKey)];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.PendingWindowInDays).toBe(7);
    expect(key.DeletionPolicy).toBe('Delete');
  });

  it('stack-owned secrets are generated, and the Notion credentials secret has the {clientId, clientSecret} shape', () => {
    s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: Match.stringLikeRegexp('"clientId"'),
        GenerateStringKey: 'clientSecret',
      }),
    });
    s.template.resourceCountIs('AWS::SecretsManager::Secret', 5);
  });
});

describe('alarms', () => {
  const alarmOn = (metric: string, namespace: string) =>
    Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties.MetricName === metric && a.Properties.Namespace === namespace,
    );

  const alarms = () => Object.values(s.template.findResources('AWS::CloudWatch::Alarm'));
  // biome-ignore lint/suspicious/noExplicitAny: template JSON
  const dimensionOf = (a: { [key: string]: any }): string => JSON.stringify(a.Properties.Dimensions?.[0]?.Value);

  it('alarms on DLQ depth, API 5xx, worker errors and backlog age', () => {
    const dlq = alarmOn('ApproximateNumberOfMessagesVisible', 'AWS/SQS');
    expect(dlq?.Properties.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [s.logicalId(s.stack.queues.deadLetterQueue), 'QueueName'] } },
    ]);
    expect(dlq?.Properties.Threshold).toBe(1);
    const api = alarmOn('5xx', 'AWS/ApiGateway');
    expect(api?.Properties.Dimensions).toEqual([{ Name: 'ApiId', Value: { Ref: s.logicalId(s.stack.api.api) } }]);
    expect(
      alarms().filter(
        (a) =>
          a.Properties.MetricName === 'Errors' && dimensionOf(a) === JSON.stringify({ Ref: fnIds.get(WORKER_HANDLER) }),
      ),
    ).toHaveLength(1);
    expect(alarmOn('ApproximateAgeOfOldestMessage', 'AWS/SQS')?.Properties.Threshold).toBe(300);
    for (const a of alarms()) {
      expect(a.Properties.TreatMissingData).toBe('notBreaching');
      expect(a.Properties.AlarmActions).toBeUndefined();
      expect(a.Properties.OKActions).toBeUndefined();
    }
  });

  it("alarms on the authorize routes' failures of ours, which reach Notion as redirects rather than 5xx (ADR 0170)", () => {
    const alarm = alarms().find((a) => String(a.Properties.AlarmName).endsWith('-authorization-failures'));
    expect(alarm?.Properties.Threshold).toBe(5);
    // biome-ignore lint/suspicious/noExplicitAny: template JSON
    const metrics = (alarm?.Properties.Metrics ?? []).filter((m: any) => m.MetricStat);
    // biome-ignore lint/suspicious/noExplicitAny: template JSON
    const stat = (m: any) => m.MetricStat.Metric;
    expect(metrics.map((m: unknown) => stat(m).MetricName)).toEqual(['AuthorizationFailed', 'AuthorizationFailed']);
    expect(metrics.map((m: unknown) => stat(m).Namespace)).toEqual(['NotionLinkPreview', 'NotionLinkPreview']);
    // The dimensions the handler's metric carries: the stage's service name and each reason it counts.
    const dimensions = metrics.map((m: unknown) =>
      Object.fromEntries((stat(m).Dimensions as Array<{ Name: string; Value: string }>).map((d) => [d.Name, d.Value])),
    );
    expect(dimensions.map((d: Record<string, string>) => d.reason).sort()).toEqual(['failed', 'throttled']);
    for (const d of dimensions) expect(d.service).toMatch(/^notion-link-preview-/);
  });

  /** `MetricName{dimension=value,…}` of each metric an alarm reads, `service` left out. */
  // biome-ignore lint/suspicious/noExplicitAny: template JSON
  const readsOf = (a: { [key: string]: any }): string[] =>
    // biome-ignore lint/suspicious/noExplicitAny: template JSON
    [a.Properties, ...(a.Properties.Metrics ?? []).map((m: any) => m.MetricStat?.Metric ?? {})]
      .filter((m) => m.Namespace === 'NotionLinkPreview')
      .map(
        (m) =>
          `${m.MetricName}{${(m.Dimensions as Array<{ Name: string; Value: string }>)
            .filter((d) => d.Name !== 'service')
            .map((d) => `${d.Name}=${d.Value}`)
            .sort()
            .join(',')}}`,
      );

  it('alarms at the first deleted-token callback not processed: a failure of ours answered 503, which no Errors alarm sees', () => {
    const alarm = alarms().find((a) => String(a.Properties.AlarmName).endsWith('-deleted-token-not-processed'));
    expect(alarm?.Properties.Threshold).toBe(1);
    expect(alarm?.Properties.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    // The dimensions functions/handlers/unfurl-delete.ts counts, for both reasons of the error mapper.
    expect(readsOf(alarm!).sort()).toEqual([
      'CallbackNotProcessed{callback=deleted-token,reason=failed}',
      'CallbackNotProcessed{callback=deleted-token,reason=throttled}',
    ]);
  });

  it('alarms when a user meets the unfinished setup (SetupIncomplete), so the operator finishes it', () => {
    const alarm = alarms().find((a) => String(a.Properties.AlarmName).endsWith('-setup-incomplete'));
    expect(alarm?.Properties.Threshold).toBe(1);
    expect(alarm?.Properties.Statistic).toBe('Sum');
    expect(readsOf(alarm!)).toEqual(['SetupIncomplete{setting=NOTION_CREDENTIALS_SECRET_ARN}']);
  });

  it('alarms on errors and throttles of every function, unfurl p99 duration and throttling of every table', () => {
    for (const [handler, id] of fnIds) {
      const on = (metric: string) =>
        alarms().filter((a) => a.Properties.MetricName === metric && dimensionOf(a) === JSON.stringify({ Ref: id }));
      expect({ handler, errors: on('Errors').length, throttles: on('Throttles').length }).toEqual({
        handler,
        errors: 1,
        throttles: 1,
      });
    }
    const p99 = alarms().find((a) => a.Properties.MetricName === 'Duration');
    expect(p99?.Properties.ExtendedStatistic).toBe('p99');
    expect(dimensionOf(p99!)).toBe(JSON.stringify({ Ref: fnIds.get('unfurl') }));
    const tableAlarms = alarms().filter((a) =>
      JSON.stringify(a.Properties.Metrics ?? []).includes('ReadThrottleEvents'),
    );
    expect(tableAlarms).toHaveLength(TABLES.length);
  });

  it('each alarm fires within 10 minutes of its condition (period × evaluation periods)', () => {
    for (const a of alarms()) {
      const period =
        a.Properties.Period ??
        (a.Properties.Metrics as { MetricStat?: { Period: number } }[]).find((m) => m.MetricStat)?.MetricStat?.Period;
      expect({ alarm: a.Properties.AlarmName, within: period * a.Properties.EvaluationPeriods <= 600 }).toEqual({
        alarm: a.Properties.AlarmName,
        within: true,
      });
    }
  });
});

describe('outputs', () => {
  /** Renders an Fn::Join of literals and Refs as text, e.g. `https://<HttpApi…>.execute-api…/unfurl`. */
  const joined = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `<${String(v.Ref)}>`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(joined).join(sep);
    }
    return JSON.stringify(value);
  };

  it('names every value for the Notion dashboard, the endpoints, secrets, tables and queues', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;
    const expected = Object.values(OUTPUTS).filter((k) => k !== OUTPUTS.customDomainTarget);
    expect(Object.keys(outputs).sort()).toEqual([...expected].sort());
    expect(joined(outputs[OUTPUTS.authorizeUrl]!.Value)).toMatch(
      /^https:\/\/<HttpApi\w+>\.execute-api\.<AWS::Region>\.<AWS::URLSuffix>\/oauth\/authorize$/,
    );
    expect(joined(outputs[OUTPUTS.tokenUrl]!.Value)).toMatch(/\/oauth\/token$/);
    expect(joined(outputs[OUTPUTS.unfurlUrl]!.Value)).toMatch(/\/unfurl$/);
    expect(joined(outputs[OUTPUTS.deletedTokenUrl]!.Value)).toMatch(/\/deleted-token$/);
    expect(joined(outputs[OUTPUTS.changesUrl]!.Value)).toMatch(/\/changes$/);
    expect(outputs[OUTPUTS.oauthClientId]!.Value).toBe('notion-link-preview');
    expect(outputs[OUTPUTS.oauthClientSecretArn]!.Value).toEqual({
      Ref: s.logicalId(s.stack.secrets.oauthClientSecret),
    });
    // The printed command names the stack's region: the CLI's default region may be another one.
    expect(joined(outputs[OUTPUTS.oauthClientSecretCommand]!.Value)).toBe(
      `aws secretsmanager get-secret-value --region <AWS::Region> --secret-id <${s.logicalId(s.stack.secrets.oauthClientSecret)}> --query SecretString --output text`,
    );
    expect(outputs[OUTPUTS.notionCredentialsSecretArn]!.Value).toEqual({
      Ref: s.logicalId(s.stack.secrets.notionCredentials),
    });
    expect(outputs[OUTPUTS.connectionsTable]!.Value).toEqual({ Ref: s.logicalId(s.stack.tables.entries()[0]![1]) });
    expect(outputs[OUTPUTS.updateQueueUrl]!.Value).toEqual({ Ref: s.logicalId(s.stack.queues.queue) });
    for (const o of Object.values(outputs)) expect(o.Description.length).toBeGreaterThan(5);
  });
});

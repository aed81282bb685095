/**
 * A production stage configured through context: data is retained and
 * protected, an external OIDC issuer replaces Cognito, a custom domain becomes
 * the public base URL, and alarms notify an encrypted topic.
 */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Match } from 'aws-cdk-lib/assertions';
import { TABLES } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { grants, PRODUCT_SOURCE, permissionsOfRole, type Synthesized, synthService } from './synth.js';

const OIDC_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/notion-link-preview/oidc';
const CONTEXT = {
  stage: 'prod',
  production: true,
  ...PRODUCT_SOURCE,
  oidcIssuer: 'https://login.example.com/realms/team/',
  oidcClientId: 'notion-link-preview',
  oidcClientSecretArn: OIDC_SECRET_ARN,
  domainName: 'links.example.com',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f6a2b1c-1111-2222-3333-444455556666',
  alarmEmail: 'ops@example.com',
  notionRateLimitPerMinute: '600',
  workerMaxConcurrency: 20,
  unfurlReservedConcurrency: 40,
  workerReservedConcurrency: 20,
  logRetentionDays: 90,
};

let s: Synthesized;
beforeAll(() => {
  s = synthService({ context: CONTEXT });
}, 60_000);
afterAll(() => s?.cleanup());

/** The parts of a synthesized resource these assertions read. */
interface Resource {
  readonly DeletionPolicy?: string;
  readonly Properties: {
    readonly Environment: { readonly Variables: Record<string, unknown> };
    readonly KmsMasterKeyId?: unknown;
  };
}

const resource = (id: string): Resource => {
  const r = (s.template.toJSON().Resources as Record<string, Resource>)[id];
  if (!r) throw new Error(`no resource ${id}`);
  return r;
};

describe('production removal policies', () => {
  it('retains and deletion-protects the tables', () => {
    const tables = Object.values(s.template.findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(TABLES.length);
    for (const t of tables) {
      expect(t.DeletionPolicy).toBe('Retain');
      expect(t.UpdateReplacePolicy).toBe('Retain');
      expect(t.Properties.DeletionProtectionEnabled).toBe(true);
    }
  });

  it('retains the Notion token key, the secrets, the queues and the log groups', () => {
    const key = resource(s.logicalId(s.stack.secrets.notionTokenKey));
    expect(key.DeletionPolicy).toBe('Retain');
    for (const type of ['AWS::SecretsManager::Secret', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup']) {
      const all = Object.values(s.template.findResources(type));
      expect(all.length).toBeGreaterThan(0);
      for (const r of all) expect(r.DeletionPolicy).toBe('Retain');
    }
    for (const r of Object.values(s.template.findResources('AWS::Logs::LogGroup'))) {
      expect(r.Properties.RetentionInDays).toBe(90);
    }
  });
});

describe('external OIDC issuer', () => {
  it('creates no Cognito resource', () => {
    for (const type of ['AWS::Cognito::UserPool', 'AWS::Cognito::UserPoolClient', 'AWS::Cognito::UserPoolDomain']) {
      s.template.resourceCountIs(type, 0);
    }
    expect(s.template.toJSON().Outputs).not.toHaveProperty(OUTPUTS.cognitoUserPoolId);
  });

  it('passes the issuer, client id and secret ARN to the authorize function and lets it read only that secret', () => {
    const fn = s.stack.functions['oauth-authorize'];
    const vars = resource(s.logicalId(fn)).Properties.Environment.Variables;
    expect(vars[ENV.OIDC_ISSUER]).toBe('https://login.example.com/realms/team');
    expect(vars[ENV.OIDC_CLIENT_ID]).toBe('notion-link-preview');
    expect(vars[ENV.OIDC_CLIENT_SECRET_ARN]).toBe(OIDC_SECRET_ARN);
    const names = new Map([[s.logicalId(s.stack.secrets.notionCredentials), 'NotionCredentials']]);
    const secretGrants = permissionsOfRole(s.template, s.logicalId(fn.executionRole), names).filter((p) =>
      p.startsWith('secretsmanager:'),
    );
    expect(secretGrants).toEqual(
      grants({
        NotionCredentials: ['secretsmanager:GetSecretValue'],
        [OIDC_SECRET_ARN]: ['secretsmanager:GetSecretValue'],
        [`${OIDC_SECRET_ARN}-??????`]: ['secretsmanager:GetSecretValue'],
      }),
    );
  });
});

describe('custom domain', () => {
  it('maps the domain to the $default stage and uses it as every function’s PUBLIC_BASE_URL', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'links.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: CONTEXT.certificateArn })],
    });
    s.template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
    for (const fn of Object.values(s.template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables[ENV.PUBLIC_BASE_URL]).toBe('https://links.example.com');
      expect(fn.Properties.Environment.Variables[ENV.STAGE]).toBe('prod');
    }
  });

  it('outputs dashboard URLs on the custom domain and the DNS target', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs[OUTPUTS.authorizeUrl]!.Value).toBe('https://links.example.com/oauth/authorize');
    expect(outputs[OUTPUTS.tokenUrl]!.Value).toBe('https://links.example.com/oauth/token');
    expect(outputs[OUTPUTS.unfurlUrl]!.Value).toBe('https://links.example.com/unfurl');
    expect(outputs[OUTPUTS.deletedTokenUrl]!.Value).toBe('https://links.example.com/deleted-token');
    expect(outputs[OUTPUTS.oauthCallbackUrl]!.Value).toBe('https://links.example.com/oauth/callback');
    expect(outputs).toHaveProperty(OUTPUTS.customDomainTarget);
    expect(outputs[OUTPUTS.oidcIssuer]!.Value).toBe('https://login.example.com/realms/team');
    // The execute-api endpoint is off: its URL is no output.
    expect(outputs).not.toHaveProperty(OUTPUTS.apiEndpoint);
  });

  it('disables the execute-api endpoint, creates no DNS record without a zone, and checks the certificate region at deploy', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    s.template.resourceCountIs('AWS::Route53::RecordSet', 0);
    // Environment-agnostic: a CloudFormation rule compares the region with the certificate's before anything is created.
    const rules = s.template.toJSON().Rules as Record<string, { Assertions: { Assert: unknown }[] }>;
    expect(JSON.stringify(Object.values(rules))).toContain('{"Fn::Equals":[{"Ref":"AWS::Region"},"eu-west-1"]}');
  });

  it('with a hosted zone: A and AAAA alias records to the regional domain; the endpoint can be kept for a migration', () => {
    const zoned = synthService({
      context: {
        ...CONTEXT,
        hostedZoneId: 'Z0123456789ABCDEFGHIJ',
        hostedZoneName: 'example.com',
        keepExecuteApiEndpoint: true,
      },
    });
    try {
      for (const type of ['A', 'AAAA']) {
        zoned.template.hasResourceProperties('AWS::Route53::RecordSet', {
          Name: 'links.example.com.',
          Type: type,
          HostedZoneId: 'Z0123456789ABCDEFGHIJ',
          AliasTarget: Match.objectLike({ DNSName: Match.anyValue() }),
        });
      }
      const api = Object.values(zoned.template.findResources('AWS::ApiGatewayV2::Api'))[0]!;
      expect(api.Properties.DisableExecuteApiEndpoint).toBeUndefined();
      expect(zoned.template.toJSON().Outputs).toHaveProperty(OUTPUTS.apiEndpoint);
    } finally {
      zoned.cleanup();
    }
  }, 60_000);

  it('refuses at synth a certificate from another region than the pinned one, naming the key', () => {
    expect(() => synthService({ context: { ...CONTEXT, region: 'us-east-1' } })).toThrow(
      /context "certificateArn": the certificate is in eu-west-1, the stack in us-east-1/,
    );
    expect(() => synthService({ context: { ...CONTEXT, hostedZoneId: 'Z1' } })).toThrow(/hostedZoneName/);
    expect(() => synthService({ context: { ...CONTEXT, hostedZoneId: 'Z0123', hostedZoneName: 'other.org' } })).toThrow(
      /context "hostedZoneName": links.example.com is not in the zone other.org/,
    );
  });
});

describe('tuning through context', () => {
  it('sets the Notion rate plan on the worker and its concurrency cap', () => {
    const worker = resource(s.logicalId(s.stack.worker));
    expect(worker.Properties.Environment.Variables[ENV.NOTION_RATE_LIMIT_PER_MINUTE]).toBe('600');
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
  });

  it('reserves concurrency for unfurl and the worker, and for no other function', () => {
    const reserved = Object.entries(s.template.findResources('AWS::Lambda::Function'))
      .filter(([, f]) => f.Properties.ReservedConcurrentExecutions !== undefined)
      .map(([id, f]) => [id, f.Properties.ReservedConcurrentExecutions]);
    expect(Object.fromEntries(reserved)).toEqual({
      [s.logicalId(s.stack.functions.unfurl)]: 40,
      [s.logicalId(s.stack.worker)]: 20,
    });
  });
});

describe('alarm notifications', () => {
  it('send every alarm, and its all-clear, to an SSL-only topic encrypted with a key CloudWatch may use', () => {
    const topicId = s.logicalId(s.stack.alarms.topic!);
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(s.stack.alarms.all().length);
    expect(alarms.length).toBeGreaterThan(10);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
    const topic = resource(topicId);
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    s.template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
  });

  it("let CloudWatch use the topic's key only for this stage's alarms in this account", () => {
    const keys = Object.values(s.template.findResources('AWS::KMS::Key'));
    const uses = keys
      .flatMap(
        (k) =>
          k.Properties.KeyPolicy.Statement as {
            Principal?: { Service?: string };
            Condition?: Record<string, Record<string, unknown>>;
          }[],
      )
      .filter((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(uses).toHaveLength(1);
    expect(uses[0]!.Condition?.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(uses[0]!.Condition?.ArnLike)).toContain(':alarm:notion-link-preview-prod-*');
  });

  it("let CloudWatch publish to the topic: a topic policy replaces SNS's default one, which allowed the account", () => {
    const topicId = s.logicalId(s.stack.alarms.topic!);
    const policies = Object.values(s.template.findResources('AWS::SNS::TopicPolicy')).filter((p) =>
      JSON.stringify(p.Properties.Topics).includes(topicId),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as {
      Effect: string;
      Principal?: { Service?: string };
      Action: string | string[];
      Condition?: Record<string, Record<string, unknown>>;
    }[];
    const allows = statements.filter(
      (st) =>
        st.Effect === 'Allow' &&
        st.Principal?.Service === 'cloudwatch.amazonaws.com' &&
        [st.Action].flat().includes('sns:Publish'),
    );
    expect(allows).toHaveLength(1);
    // Only this account's alarms (no confused deputy): the source account and an alarm ARN.
    expect(allows[0]!.Condition?.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(allows[0]!.Condition?.ArnLike)).toContain(':alarm:notion-link-preview-prod-*');
  });
});

/**
 * Context validation: settings are checked once, by name, before any construct
 * is built; a half-configured external issuer or domain is refused.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { PROJECT_ROOT } from '#lib/constructs/node-function.js';
import { readStageConfig, StageConfigError } from '#lib/stage-config.js';
import { newOutdir } from './synth.js';

const read = (context: Record<string, unknown>) => readStageConfig((key) => context[key]);

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc-AbCdEf';

describe('readStageConfig', () => {
  it('defaults to a development stage with Cognito, the public Notion API and the 180/min plan', () => {
    const c = read({});
    expect(c.stage).toBe('dev');
    expect(c.production).toBe(false);
    expect(c.externalOidc).toBeUndefined();
    expect(c.customDomain).toBeUndefined();
    expect(c.notionApiBaseUrl).toBe('https://api.notion.com');
    expect(c.notionRateLimitPerMinute).toBe(180);
    expect(c.oauthClientId).toBe('notion-link-preview');
    expect(c.workerMaxConcurrency).toBe(5);
    expect(c.logRetentionDays).toBe(30);
  });

  it('production is an explicit choice, whatever the stage is called', () => {
    const complete = {
      sourceAdapter: 'http',
      unfurlRules: { domain: 'a.example.com', rules: [{ name: 'x' }] },
      alarmEmail: 'ops@example.com',
    };
    expect(read({ stage: 'prod-eu', production: true, ...complete }).production).toBe(true);
    expect(read({ stage: 'prod-eu', production: 'true', ...complete }).production).toBe(true);
    expect(read({ stage: 'prod', production: false }).production).toBe(false);
    expect(read({ stage: 'staging' }).production).toBe(false);
    expect(read({ stage: 'prod-eu', production: true, ...complete }).logRetentionDays).toBe(365);
    // A name that looks like production without the choice made is refused rather than guessed.
    expect(() => read({ stage: 'prod' })).toThrow(/context "production" must be given/);
    expect(() => read({ stage: 'production' })).toThrow(/context "production"/);
    expect(() => read({ production: 'yes' })).toThrow(/context "production" must be true or false/);
  });

  it('reserved concurrency is optional, and the worker keeps at least its poller concurrency', () => {
    expect(read({}).unfurlReservedConcurrency).toBeUndefined();
    expect(read({ unfurlReservedConcurrency: '25' }).unfurlReservedConcurrency).toBe(25);
    expect(() => read({ workerMaxConcurrency: 10, workerReservedConcurrency: 5 })).toThrow(
      /context "workerReservedConcurrency" \(5\) must be at least workerMaxConcurrency/,
    );
    expect(() => read({ unfurlReservedConcurrency: 0 })).toThrow(/context "unfurlReservedConcurrency"/);
  });

  it.each([
    [{ sourceAdapter: undefined }, /context "sourceAdapter"/],
    [{ sourceAdapter: 'demo' }, /context "sourceAdapter"/],
    [{ unfurlRules: undefined }, /context "unfurlRules".*demo rules/],
    [{ unfurlRules: { domain: 'a.example.com', rules: [] } }, /context "unfurlRules".*at least one rule/],
    [{ alarmEmail: undefined }, /context "alarmEmail" or "alarmTopicArn"/],
    [{ alarmTopicArn: 'not-an-arn' }, /context "alarmTopicArn" must be an SNS topic ARN/],
  ])('a production stack refuses %j', (change, message) => {
    const complete = {
      production: true,
      sourceAdapter: 'http',
      unfurlRules: { domain: 'a.example.com', rules: [{ name: 'x' }] },
      alarmEmail: 'ops@example.com',
    };
    expect(() => read({ ...complete, ...change })).toThrow(message);
    expect(() =>
      read({ ...complete, alarmEmail: undefined, alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' }),
    ).not.toThrow();
  });

  it('a production stack with nothing of its own names every missing key in one refusal', () => {
    const refusal = (() => {
      try {
        read({ stage: 'prod', production: true });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(StageConfigError);
    const message = (refusal as Error).message;
    for (const key of ['"sourceAdapter"', '"unfurlRules"', '"alarmEmail" or "alarmTopicArn"']) {
      expect(message).toContain(`context ${key}`);
    }
    expect(message).not.toContain('\n');
  });

  it('bin/app.ts prints a refused setting as one line without a stack trace and exits 1', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ production: true }), CDK_OUTDIR: newOutdir() },
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^cdk: a production stack needs context "sourceAdapter"/),
    ]);
    expect(run.stderr).toContain('"alarmEmail" or "alarmTopicArn"');
  }, 60_000);

  it('accepts a complete external issuer and strips trailing slashes', () => {
    const c = read({ oidcIssuer: 'https://idp.example.com/', oidcClientId: 'abc', oidcClientSecretArn: SECRET_ARN });
    expect(c.externalOidc).toEqual({ issuer: 'https://idp.example.com', clientId: 'abc', clientSecretArn: SECRET_ARN });
  });

  it.each([
    [{ oidcIssuer: 'https://idp.example.com' }, /all of oidcIssuer, oidcClientId and oidcClientSecretArn/],
    [{ oidcIssuer: 'http://idp.example.com', oidcClientId: 'a', oidcClientSecretArn: SECRET_ARN }, /https/],
    [{ oidcIssuer: 'https://idp.example.com', oidcClientId: 'a', oidcClientSecretArn: 'my-secret' }, /secret ARN/],
    [{ domainName: 'links.example.com' }, /both domainName and certificateArn/],
    [
      { domainName: 'Links.Example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
      /DNS name/,
    ],
    [{ stage: 'Prod' }, /stage/],
    [{ stage: 'a-very-long-stage-name-indeed' }, /stage/],
    [{ notionRateLimitPerMinute: 'fast' }, /notionRateLimitPerMinute/],
    [{ workerMaxConcurrency: 1 }, /workerMaxConcurrency/],
    [{ logRetentionDays: 31 }, /logRetentionDays/],
    [{ logLevel: 'chatty' }, /logLevel/],
    [{ cognitoDomainPrefix: 'my-cognito-login' }, /may not contain/],
    [{ alarmEmail: 'not-an-address' }, /alarmEmail/],
    [{ notionApiBaseUrl: 'not a url' }, /absolute URL/],
  ])('refuses %j', (context, message) => {
    expect(() => read(context)).toThrow(StageConfigError);
    expect(() => read(context)).toThrow(message);
  });

  it('passes JSON settings on as text, whether given as a string or as an object in cdk.json', () => {
    const mapping = { title: '$.name', url: '$.links.self' };
    expect(read({ sourceHttpMapping: JSON.stringify(mapping) }).sourceHttpMapping).toBe(JSON.stringify(mapping));
    expect(JSON.parse(read({ unfurlRules: [{ pattern: 'https://x.example/*' }] }).unfurlRules!)).toEqual([
      { pattern: 'https://x.example/*' },
    ]);
    expect(() => read({ sourceHttpMapping: '{not json' })).toThrow(/sourceHttpMapping" must be JSON/);
  });

  it('says why a pretty-printed JSON file given with -c fails: the cdk command line kept its first line only', () => {
    // `-c unfurlRules="$(cat rules.json)"` with a multi-line rules.json reaches the app as its first line.
    const firstLine =
      '{"domain": "acme.example", "rules": [{"name": "item", "pattern": "^https://acme\\.example/items/(?<no>\\d+)$",';
    expect(() => read({ unfurlRules: firstLine })).toThrow(
      /context "unfurlRules" must be JSON \(.+\); a -c value keeps only its first line: give the JSON on one line \(-c unfurlRules="\$\(tr -d '\\n' < file\.json\)"\) or as an object in cdk\.context\.json$/,
    );
  });

  it('takes extra redirect URIs over https, or plain http only on a loopback host', () => {
    const uris = 'https://notion.example/callback, http://127.0.0.1:3000/notion/externalintegrationauthcallback';
    expect(read({ notionRedirectUris: uris }).notionRedirectUris).toBe(uris);
    expect(read({ notionRedirectUris: 'http://localhost:8080/cb' }).notionRedirectUris).toBe(
      'http://localhost:8080/cb',
    );
    for (const refused of ['http://notion.example/callback', 'https://ok.example/cb,http://10.0.0.5/cb']) {
      expect(() => read({ notionRedirectUris: refused })).toThrow(StageConfigError);
      expect(() => read({ notionRedirectUris: refused })).toThrow(/must list https URLs .*cross the network in clear/);
    }
    expect(() => read({ notionRedirectUris: 'not a url' })).toThrow('must list absolute URLs, got "not a url"');
  });

  it('reads numbers given as strings on the command line (-c key=value)', () => {
    const c = read({ notionRateLimitPerMinute: '600', apiRateLimit: '200', apiBurstLimit: '400' });
    expect(c.notionRateLimitPerMinute).toBe(600);
    expect(c.apiRateLimit).toBe(200);
    expect(c.apiBurstLimit).toBe(400);
  });
});

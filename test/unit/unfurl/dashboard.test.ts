import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { NOTION_CLIENT_ID_PLACEHOLDER } from '#lib/placeholders.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import {
  dashboardValues,
  main,
  notionCredentialsState,
  renderDashboard,
  ruleProblems,
} from '../../../scripts/dashboard.js';

const outputsFile = {
  NotionLinkPreview: {
    [OUTPUTS.publicBaseUrl]: 'https://previews.acme.com',
    [OUTPUTS.authorizeUrl]: 'https://previews.acme.com/oauth/authorize',
    [OUTPUTS.tokenUrl]: 'https://previews.acme.com/oauth/token',
    [OUTPUTS.oauthClientId]: 'notion',
    [OUTPUTS.oauthClientSecretArn]: 'arn:aws:secretsmanager:eu-west-1:1:secret:oauth',
    [OUTPUTS.oauthClientSecretCommand]: 'aws secretsmanager get-secret-value --secret-id arn:oauth',
    [OUTPUTS.unfurlUrl]: 'https://previews.acme.com/unfurl',
    [OUTPUTS.deletedTokenUrl]: 'https://previews.acme.com/deleted-token',
  },
};

describe('dashboard values', () => {
  it('uses the local server and the demo rules when no outputs file exists', () => {
    const v = dashboardValues({ PORT: '4321' });
    expect(v.authorizeUrl).toBe('http://127.0.0.1:4321/oauth/authorize');
    expect(v.tokenUrl).toBe('http://127.0.0.1:4321/oauth/token');
    expect(v.unfurlUrl).toBe('http://127.0.0.1:4321/unfurl');
    expect(v.deletedTokenUrl).toBe('http://127.0.0.1:4321/deleted-token');
    expect(v.clientId).toBe('notion-local');
    expect(v.integration.domain).toBe('127.0.0.1');
    expect(ruleProblems(v.integration)).toEqual([]);
    const text = renderDashboard(v);
    for (const label of [
      'OAuth Authorize URL',
      'OAuth Token URL',
      'OAuth Client ID',
      'OAuth Client Secret',
      'Deleted Token Callback URL',
      'Unfurl Callback URL',
      'Unfurl URL Domain',
      'Rule name',
      'Sample URLs',
      'Pattern',
      'placeholder JSON',
    ]) {
      expect(text).toContain(label);
    }
    expect(dashboardValues({ OAUTH_CLIENT_SECRET: 'mine-secret' }).clientSecret).not.toContain('mine-secret');
  });

  it('uses the running local server unless PORT or PUBLIC_BASE_URL is set', () => {
    const running = { pid: 4242, port: 43_210, publicBaseUrl: 'http://127.0.0.1:43210' };
    const v = dashboardValues({}, undefined, running);
    expect(v.authorizeUrl).toBe('http://127.0.0.1:43210/oauth/authorize');
    expect(v.unfurlUrl).toBe('http://127.0.0.1:43210/unfurl');
    expect(v.source).toBe('the running local server http://127.0.0.1:43210, npm start pid 4242');
    expect(v.integration.rules[0]?.sampleUrls[0]).toMatch(/^http:\/\/127\.0\.0\.1:43210\//);
    expect(dashboardValues({ PORT: '4321' }, undefined, running).tokenUrl).toBe('http://127.0.0.1:4321/oauth/token');
    expect(dashboardValues({ PUBLIC_BASE_URL: 'https://x.example.com' }, undefined, running).tokenUrl).toBe(
      'https://x.example.com/oauth/token',
    );
    expect(dashboardValues({}, outputsFile, running).tokenUrl).toBe('https://previews.acme.com/oauth/token');
    expect(dashboardValues({}).tokenUrl).toBe('http://127.0.0.1:3000/oauth/token');
  });

  it('uses the stack outputs when given, and says where the secret lives', () => {
    const v = dashboardValues({}, outputsFile);
    expect(v.authorizeUrl).toBe('https://previews.acme.com/oauth/authorize');
    expect(v.clientSecret).toContain('arn:aws:secretsmanager:eu-west-1:1:secret:oauth');
    expect(v.integration.domain).toBe('previews.acme.com');
    expect(() => dashboardValues({}, { Other: {} })).toThrow(/no stack/);
  });

  it('refuses an outputs file with several of its stacks unless --stack names one', () => {
    const staging = Object.fromEntries(
      Object.entries(outputsFile.NotionLinkPreview).map(([k, v]) => [k, v.replace('previews.acme', 'staging.acme')]),
    );
    const two = { 'NotionLinkPreview-prod': outputsFile.NotionLinkPreview, 'NotionLinkPreview-staging': staging };
    expect(() => dashboardValues({}, two)).toThrow(
      'the outputs file has several stacks (NotionLinkPreview-prod, NotionLinkPreview-staging): choose one with --stack',
    );
    expect(dashboardValues({}, two, undefined, 'NotionLinkPreview-staging').tokenUrl).toBe(
      'https://staging.acme.com/oauth/token',
    );
    expect(dashboardValues({}, two, undefined, 'NotionLinkPreview-prod').tokenUrl).toBe(
      'https://previews.acme.com/oauth/token',
    );
    expect(() => dashboardValues({}, two, undefined, 'NotionLinkPreview-dev')).toThrow(
      'the outputs file has no stack NotionLinkPreview-dev with the output',
    );
    // A stack of something else beside ours is no ambiguity.
    expect(dashboardValues({}, { ...outputsFile, Other: { Url: 'x' } }).tokenUrl).toBe(
      'https://previews.acme.com/oauth/token',
    );
  });

  it('reports a rule whose pattern does not match its sample URL', () => {
    const rules = JSON.stringify({
      domain: 'acme.com',
      rules: [
        {
          name: 'item',
          pattern: '^https://acme\\.com/items/(?<n>\\d+)$',
          sampleUrls: ['https://acme.com/item/1'],
          placeholder: [],
          resource: 'item:$<n>',
        },
      ],
    });
    const problems = ruleProblems(dashboardValues({ UNFURL_RULES: rules }).integration);
    expect(problems[0]).toMatch(/Rule "item": pattern .* does not match sample URL https:\/\/acme.com\/item\/1/);
  });
});

describe('the deployed Notion credentials secret', () => {
  const outputs = {
    [OUTPUTS.notionCredentialsSecretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:n-AbCdEf',
  };
  it('is reported as the placeholder while it holds the value the stack created', async () => {
    const read = async () =>
      JSON.stringify({ clientId: NOTION_CLIENT_ID_PLACEHOLDER, clientSecret: 'generated-by-the-stack' });
    expect(await notionCredentialsState(outputs, read)).toEqual({ state: 'placeholder' });
  });

  it('is set once it holds a real client id; unknown, with the reason, when it cannot be read', async () => {
    expect(await notionCredentialsState(outputs, async () => '{"clientId":"abc-123","clientSecret":"s"}')).toEqual({
      state: 'set',
    });
    expect(
      await notionCredentialsState(outputs, async () => {
        throw new Error('Could not load credentials from any providers');
      }),
    ).toEqual({ state: 'unknown', reason: 'Could not load credentials from any providers' });
    expect((await notionCredentialsState({}, async () => '')).state).toBe('unknown');
  });

  it('npm run dashboard exits 1 and says plainly what is missing when it is the placeholder', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nlp-dashboard-'));
    const file = path.join(dir, 'cdk-outputs.json');
    const stack = {
      [OUTPUTS.publicBaseUrl]: 'https://links.example.com',
      [OUTPUTS.authorizeUrl]: 'https://links.example.com/oauth/authorize',
      [OUTPUTS.tokenUrl]: 'https://links.example.com/oauth/token',
      [OUTPUTS.oauthClientId]: 'notion-link-preview',
      [OUTPUTS.oauthClientSecretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:o-AbCdEf',
      [OUTPUTS.unfurlUrl]: 'https://links.example.com/unfurl',
      [OUTPUTS.deletedTokenUrl]: 'https://links.example.com/deleted-token',
      ...outputs,
    };
    writeFileSync(file, JSON.stringify({ 'NotionLinkPreview-prod': stack }));
    const errors: string[] = [];
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => {
      errors.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const code = await main(
        { values: { outputs: file }, positionals: [] } as unknown as Parameters<typeof main>[0],
        {},
        () => undefined,
        async () => JSON.stringify({ clientId: NOTION_CLIENT_ID_PLACEHOLDER, clientSecret: 'x' }),
      );
      expect(code).toBe(1);
      expect(errors.join('')).toMatch(/Not set up yet: .*NotionCredentialsSecretArn still holds the placeholder/);
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

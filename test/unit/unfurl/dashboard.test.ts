import { describe, expect, it } from '@jest/globals';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { dashboardValues, renderDashboard, ruleProblems } from '../../../scripts/dashboard.js';

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

import { describe, expect, it } from '@jest/globals';
import { localDefaults } from '#local/defaults.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const problemOf = (env: Record<string, string>): string => {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('parseConfig', () => {
  it('applies defaults to an empty environment', () => {
    const config = parseConfig({});
    expect(config.stage).toBe('local');
    expect(config.logLevel).toBe('INFO');
    expect(config.notion.apiBaseUrl).toBe('https://api.notion.com');
    expect(config.notion.version).toBe('2021-08-16');
    expect(config.oauth.accessTokenTtlSeconds).toBe(3600);
    expect(config.oauth.extraRedirectUris).toEqual([]);
    expect(config.oauth.clientId).toBeUndefined();
    expect(config.unfurl.sourceAdapter).toBe('demo');
  });

  it('parses the local defaults', () => {
    const config = parseConfig(localDefaults(3000));
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:3000');
    expect(config.oauth.extraRedirectUris).toEqual(['http://127.0.0.1:3000/notion/externalintegrationauthcallback']);
    expect(config.notion.tokenEncryption?.kind).toBe('local');
  });

  it('trims strings, treats blanks as absent, and reads numbers', () => {
    const config = parseConfig({ OAUTH_CLIENT_ID: '  id  ', OIDC_CLIENT_ID: '   ', ACCESS_TOKEN_TTL_SECONDS: ' 120 ' });
    expect(config.oauth.clientId).toBe('id');
    expect(config.oidc.clientId).toBeUndefined();
    expect(config.oauth.accessTokenTtlSeconds).toBe(120);
    expect(parseConfig({ ACCESS_TOKEN_TTL_SECONDS: '' }).oauth.accessTokenTtlSeconds).toBe(3600);
  });

  it('splits the redirect URI list and validates each entry', () => {
    expect(
      parseConfig({ NOTION_REDIRECT_URIS: 'https://a.example/cb, ,http://b.example/cb' }).oauth.extraRedirectUris,
    ).toEqual(['https://a.example/cb', 'http://b.example/cb']);
    expect(problemOf({ NOTION_REDIRECT_URIS: 'https://a.example/cb,nope' })).toMatch(
      /NOTION_REDIRECT_URIS\.1: Invalid URL/,
    );
    expect(problemOf({ NOTION_REDIRECT_URIS: 'bad,worse' })).toBe(
      'Invalid configuration: NOTION_REDIRECT_URIS.0: Invalid URL; NOTION_REDIRECT_URIS.1: Invalid URL',
    );
  });

  it('names every invalid variable with a readable English message', () => {
    const message = problemOf({
      LOG_LEVEL: 'LOUD',
      PUBLIC_BASE_URL: 'ftp://example.com',
      ACCESS_TOKEN_TTL_SECONDS: '1.5',
      NOTION_RATE_LIMIT_PER_MINUTE: '0',
      NOTION_VERSION: '2021',
    });
    expect(message).toMatch(/^Invalid configuration: /);
    expect(message).toMatch(/LOG_LEVEL: Invalid option: expected one of "DEBUG"\|"INFO"/);
    expect(message).toMatch(/PUBLIC_BASE_URL: Invalid URL/);
    expect(message).toMatch(/ACCESS_TOKEN_TTL_SECONDS: must be a positive integer/);
    expect(message).toMatch(/NOTION_RATE_LIMIT_PER_MINUTE: must be a positive integer/);
    expect(message).toMatch(/NOTION_VERSION: must be a date like 2021-08-16/);
    expect(message).not.toMatch(/Invalid input(;|$)/);
  });
});

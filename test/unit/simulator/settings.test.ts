import { describe, expect, it } from '@jest/globals';
import { localDefaults } from '#local/defaults.js';
import { defaultSettings, settingsFromEnv } from '#local/notion-simulator/settings.js';

describe('simulator settings', () => {
  it('defaults to Notion’s documented limits and the documented client behaviour', () => {
    const s = defaultSettings('http://127.0.0.1:3000/');
    expect(s.api).toMatchObject({
      rateLimit: 180,
      rateWindowSeconds: 60,
      workspaceRateLimit: 0,
      enforceLimits: true,
      issueRefreshToken: false,
    });
    expect(s.api.faults).toEqual({
      overloadRate: 0,
      unavailableRate: 0,
      unavailableApplied: false,
      slowRate: 0,
      slowMs: 3000,
      blocked: false,
    });
    expect(s.client).toEqual({
      serviceBaseUrl: 'http://127.0.0.1:3000',
      scope: 'unfurl',
      tokenAuth: 'client_secret_post',
      unfurlDeleteShape: 'json',
      deletedTokenShape: 'json-tokens',
      deletedTokenMethod: 'DELETE',
      deletedTokenOn: 'disconnect',
      refreshMarginSeconds: 0,
    });
  });

  it('reads the local defaults and every variant', () => {
    expect(settingsFromEnv(localDefaults(3000), 'http://127.0.0.1:3000')).toEqual(
      defaultSettings('http://127.0.0.1:3000'),
    );
    const s = settingsFromEnv(
      {
        NOTION_SIM_RATE_LIMIT: '600',
        NOTION_SIM_FAULT_529_RATE: '0.25',
        NOTION_SIM_BLOCKED: 'true',
        NOTION_SIM_TOKEN_AUTH: 'client_secret_basic',
        NOTION_SIM_DELETED_TOKEN_SHAPE: 'bearer-uri',
        NOTION_SIM_DELETED_TOKEN_METHOD: 'POST',
        NOTION_SIM_DELETED_TOKEN_ON: 'remove-and-disconnect',
        NOTION_SIM_FAULT_503_APPLIED: 'true',
        NOTION_SIM_UNFURL_DELETE_SHAPE: 'query',
        NOTION_SIM_SERVICE_BASE_URL: 'https://previews.example.com/',
      },
      'http://127.0.0.1:3000',
    );
    expect(s.api.rateLimit).toBe(600);
    expect(s.api.faults).toMatchObject({ overloadRate: 0.25, blocked: true, unavailableApplied: true });
    expect(s.client).toMatchObject({
      serviceBaseUrl: 'https://previews.example.com',
      tokenAuth: 'client_secret_basic',
      deletedTokenShape: 'bearer-uri',
      deletedTokenMethod: 'POST',
      deletedTokenOn: 'remove-and-disconnect',
      unfurlDeleteShape: 'query',
    });
  });

  it('fails by name on an invalid value', () => {
    expect(() => settingsFromEnv({ NOTION_SIM_FAULT_503_RATE: '2' }, 'http://x')).toThrow('NOTION_SIM_FAULT_503_RATE');
    expect(() => settingsFromEnv({ NOTION_SIM_DELETED_TOKEN_SHAPE: 'xml' }, 'http://x')).toThrow(
      'NOTION_SIM_DELETED_TOKEN_SHAPE',
    );
    expect(() => settingsFromEnv({ NOTION_SIM_RATE_LIMIT: '0' }, 'http://x')).toThrow('NOTION_SIM_RATE_LIMIT');
    expect(() => settingsFromEnv({ NOTION_SIM_DELETED_TOKEN_ON: 'remove' }, 'http://x')).toThrow(
      'NOTION_SIM_DELETED_TOKEN_ON',
    );
  });
});

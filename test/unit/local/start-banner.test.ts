import { describe, expect, it } from '@jest/globals';
import { ENV } from '#lib/env-names.js';
import { ROUTES } from '#lib/routes.js';
import { localDefaults } from '#local/defaults.js';
import { banner, isSecretName, parsePort, settingsFromEnvironment } from '#local/start.js';
import type { LocalSystem } from '#local/system.js';

const fakeSystem = (env: Record<string, string>): LocalSystem => ({
  baseUrl: 'http://127.0.0.1:3000',
  env,
  port: 3000,
  routes: ROUTES,
  mounts: [
    { name: 'demo', prefix: '/demo', handle: async () => undefined, urls: [{ label: 'Demo product', path: '/demo/' }] },
    { name: 'playground', prefix: '', handle: async () => undefined },
  ],
  skippedMounts: [
    { name: 'local IdP', prefix: '/idp', module: './idp/mount.js', load: async () => Promise.reject(new Error()) },
  ],
  emulators: { dynamodbEndpoint: 'http://127.0.0.1:4001', sqsEndpoint: 'http://127.0.0.1:4002' },
  workerLoop: undefined,
  handler: async () => {
    throw new Error('not loaded in this test');
  },
  stop: async () => undefined,
});

describe('npm start helpers', () => {
  it('parses PORT', () => {
    expect(parsePort(undefined)).toBe(3000);
    expect(parsePort('')).toBe(3000);
    expect(parsePort('0')).toBe(0);
    expect(parsePort('8080')).toBe(8080);
    for (const bad of ['-1', '65536', '80.5', 'eighty', '0x50z']) expect(parsePort(bad)).toBeUndefined();
  });

  it('takes only known, non-empty settings from the environment', () => {
    expect(
      settingsFromEnvironment({ PATH: '/bin', PORT: '4000', OIDC_ISSUER: '', NOTION_VERSION: '2022-06-28' }),
    ).toEqual({
      PORT: '4000',
      NOTION_VERSION: '2022-06-28',
    });
  });

  it('treats secrets, keys and passwords as secret, but not ARNs or ids', () => {
    for (const n of [
      'OAUTH_CLIENT_SECRET',
      'NOTION_CLIENT_SECRET',
      'OIDC_CLIENT_SECRET',
      'CHANGES_WEBHOOK_SECRET',
      'TOKEN_SIGNING_KEY',
      'NOTION_TOKEN_ENCRYPTION_KEY',
      'SOURCE_SERVICE_SECRET',
      'AWS_SECRET_ACCESS_KEY',
    ]) {
      expect(isSecretName(n)).toBe(true);
    }
    for (const n of ['OAUTH_CLIENT_ID', 'OAUTH_CLIENT_SECRET_ARN', 'NOTION_API_BASE_URL', 'PORT', 'OIDC_ISSUER'])
      expect(isSecretName(n)).toBe(false);
  });

  it('lists every route with its dashboard field, every part, and never a secret value', () => {
    const env = { ...localDefaults(3000), [ENV.OAUTH_CLIENT_SECRET]: 'from-the-environment-xyz' };
    const text = banner(
      fakeSystem(env),
      { [ENV.OAUTH_CLIENT_SECRET]: 'from-the-environment-xyz', [ENV.PORT]: '3000' },
      42,
    );
    for (const r of ROUTES) expect(text).toContain(`${r.method.padEnd(7)}http://127.0.0.1:3000${r.path}`);
    expect(text).toMatch(/\/oauth\/authorize\s+→ Notion dashboard: OAuth Authorize URL/);
    expect(text).toContain('http://127.0.0.1:3000/healthz');
    expect(text).toContain('http://127.0.0.1:3000/demo/');
    expect(text).toMatch(/local IdP\s+http:\/\/127\.0\.0\.1:3000\/idp {2}\(not available in this build\)/);
    expect(text).toMatch(/\* PORT\s+3000/);
    expect(text).toContain('OAUTH_CLIENT_SECRET*');
    for (const [name, value] of Object.entries(env)) {
      // (The emulators' dummy AWS credentials, 'local', are too short to check this way.)
      if (isSecretName(name) && value.length > 8) expect(text).not.toContain(value);
    }
  });
});

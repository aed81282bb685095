import { describe, expect, it } from '@jest/globals';
import { ENV } from '#lib/env-names.js';
import { ROUTES } from '#lib/routes.js';
import { localDefaults } from '#local/defaults.js';
import {
  banner,
  dataDirInUseMessage,
  isSecretName,
  nextStep,
  parsePort,
  settingProblem,
  settingsFromEnvironment,
} from '#local/start.js';
import { DataDirInUseError } from '#local/state-dir.js';
import type { LocalSystem } from '#local/system.js';
import { ConfigError } from '#shared/errors.js';

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

describe('the kept state in the banner', () => {
  const system = { ...fakeSystem(localDefaults(3000)), dataDir: '/repo/.local-data' };

  it('names the directory, and the origin the state was made on when it is another one', () => {
    expect(banner(system, {}, 1)).toContain('State kept across restarts in /repo/.local-data (npm start -- --fresh');
    expect(banner(system, {}, 1)).not.toContain('made on');
    expect(banner({ ...system, keptOrigin: 'http://127.0.0.1:3005' }, {}, 1)).toContain(
      '\n  made on http://127.0.0.1:3005, not here: its links and connections name that origin (PORT=3005, or --fresh)\n',
    );
  });
});

describe('what the banner says to do next', () => {
  it("with the demo: open the playground, paste a demo task, sign in as the local provider's first account", () => {
    const system = fakeSystem(localDefaults(3000));
    const idp = { name: 'local OpenID Connect provider', prefix: '/idp', handle: async () => undefined };
    const text = banner({ ...system, mounts: [...system.mounts, idp] }, {}, 42);
    expect(text).toContain(
      'Next: open http://127.0.0.1:3000/ (the playground), paste http://127.0.0.1:3000/demo/tasks/1,\n' +
        '  press "Paste as preview", then "Connect" and sign in as alice / alice-password.\n\nPress Ctrl-C to stop.',
    );
  });

  it("with the team's own rules and provider: their first sample link, and no demo account", () => {
    const rules = {
      domain: 'acme.example',
      rules: [
        {
          name: 'item',
          pattern: String.raw`^https://acme\.example/items/(?<no>\d+)$`,
          sampleUrls: ['https://acme.example/items/1'],
          resource: 'item:$<no>',
        },
      ],
    };
    const env = {
      ...localDefaults(3000),
      [ENV.UNFURL_RULES]: JSON.stringify(rules),
      [ENV.OIDC_ISSUER]: 'https://login.acme.example',
    };
    expect(nextStep(fakeSystem(env))).toBe(
      'Next: open http://127.0.0.1:3000/ (the playground), paste https://acme.example/items/1,\n' +
        '  press "Paste as preview", then "Connect" and sign in.',
    );
  });

  it('says nothing without the playground', () => {
    const system = fakeSystem(localDefaults(3000));
    expect(nextStep({ ...system, mounts: system.mounts.filter((m) => m.prefix !== '') })).toBeUndefined();
  });
});

describe('a setting that stops npm start', () => {
  const origin = (dotEnv: string[], env: Record<string, string>) => ({ dotEnv: new Set(dotEnv), env });

  it('is one line naming the setting and where it was set', () => {
    const error = new ConfigError('Invalid configuration: LOG_LEVEL: Invalid option: expected one of "DEBUG"|"INFO"');
    expect(settingProblem(error, origin(['LOG_LEVEL'], { LOG_LEVEL: 'LOUD' }))).toBe(
      'npm start: Invalid configuration: LOG_LEVEL: Invalid option: expected one of "DEBUG"|"INFO" (LOG_LEVEL set in .env)',
    );
    expect(settingProblem(error, origin([], { LOG_LEVEL: 'LOUD' }))).toBe(
      'npm start: Invalid configuration: LOG_LEVEL: Invalid option: expected one of "DEBUG"|"INFO" (LOG_LEVEL set in the environment)',
    );
    const two = new ConfigError('Invalid configuration: PUBLIC_BASE_URL: Invalid URL; OIDC_ISSUER: Invalid URL');
    expect(settingProblem(two, origin(['OIDC_ISSUER'], { OIDC_ISSUER: 'x', PUBLIC_BASE_URL: 'y' }))).toBe(
      'npm start: Invalid configuration: PUBLIC_BASE_URL: Invalid URL; OIDC_ISSUER: Invalid URL (OIDC_ISSUER set in .env; PUBLIC_BASE_URL set in the environment)',
    );
  });

  it('names a missing setting without inventing where it was set', () => {
    expect(settingProblem(new ConfigError('Missing required setting SOURCE_BASE_URL'), origin([], {}))).toBe(
      'npm start: Missing required setting SOURCE_BASE_URL',
    );
  });

  it("covers the local parts' own settings, which are plain errors", () => {
    const error = new Error('Invalid Notion simulator settings: NOTION_SIM_RATE_LIMIT: Invalid input');
    expect(settingProblem(error, origin([], { NOTION_SIM_RATE_LIMIT: 'abc' }))).toBe(
      'npm start: Invalid Notion simulator settings: NOTION_SIM_RATE_LIMIT: Invalid input (NOTION_SIM_RATE_LIMIT set in the environment)',
    );
  });

  it('is not a crash: a failure that names no setting is left to be printed with its stack', () => {
    expect(
      settingProblem(new Error('EMFILE: too many open files, ERR_SOMETHING_ELSE'), origin([], {})),
    ).toBeUndefined();
    expect(settingProblem('not an error', origin([], {}))).toBeUndefined();
  });
});

describe('a second npm start on a state directory in use', () => {
  const inUse = new DataDirInUseError('/repo/.local-data', 4242);
  const running = { pid: 4242, baseUrl: 'http://127.0.0.1:3000', port: 3000 };

  it('names where the first one is up and gives the second one a port of its own when the first has it', () => {
    expect(dataDirInUseMessage(inUse, 3000, running)).toBe(
      'Another local system (pid 4242) is using /repo/.local-data, already up on http://127.0.0.1:3000. Use that one, or stop it first (Ctrl-C in its terminal); to run a second one beside it: PORT=3001 LOCAL_DATA_DIR=.local-data-2 npm start',
    );
  });

  it('asks only for a directory when the ports differ, and for both when the first one is not known', () => {
    expect(dataDirInUseMessage(inUse, 3005, running)).toMatch(/3000\. .*: LOCAL_DATA_DIR=\.local-data-2 npm start$/);
    expect(dataDirInUseMessage(inUse, 0, running)).toMatch(/: LOCAL_DATA_DIR=\.local-data-2 npm start$/);
    // A record of another process (left by one that was killed) says nothing about the one holding the lock.
    const other = dataDirInUseMessage(inUse, 3000, { ...running, pid: 7 });
    expect(other).not.toContain('already up');
    expect(other).toMatch(/: PORT=3001 LOCAL_DATA_DIR=\.local-data-2 npm start$/);
  });
});

/**
 * Adding a setting takes three hand-edited files: its declaration in
 * lib/settings.ts, the code that reads it, and its test. Tried for real in a
 * copy of the repository with `JWKS_CACHE_SECONDS` (how long a verifier may
 * cache the JWK Set), read by the jwks function and taken from CDK context
 * `jwksCacheSeconds` in AWS: the three files are written, `.env.example` and
 * the README's table regenerated (`npm run settings -- --write`), and then
 * every reader of the declaration is checked in the copy: the settings tests,
 * the runtime config (a bad value refused by name), the stage config (a bad
 * context value stops the synth by its key), a synthesized stack whose jwks
 * function, and no other, gets the value, and the local server answering with
 * it. The files git then reports changed are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyRepository, type RepositoryCopy, splitChanged } from '#test/helpers/repo-copy.js';

const DECLARATION = `  JWKS_CACHE_SECONDS: {
    group: 'behaviour',
    description: 'How long a verifier may cache the JWK Set (its cache-control max-age), in seconds.',
    parse: nonNegativeInt(300),
    deploy: { functions: ['jwks'], context: 'jwksCacheSeconds' },
  },
`;

const TEST = `import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '#shared/config.js';
import { httpEvent, lambdaContext } from '#test/helpers/factories.js';
import { createJwksHandler, jwksDependencies } from '../../functions/handlers/jwks.js';

const env = { PUBLIC_BASE_URL: 'http://x.test', TOKEN_SIGNING_KEY: 'k'.repeat(40) };

describe('JWKS_CACHE_SECONDS', () => {
  it('is the max-age of the JWK Set (300 unless set), and a bad value is refused by name', async () => {
    const answer = (extra: Record<string, string>) =>
      createJwksHandler(() => jwksDependencies(parseConfig({ ...env, ...extra })))(httpEvent(), lambdaContext());
    expect((await answer({})).headers?.['cache-control']).toBe('public, max-age=300');
    expect((await answer({ JWKS_CACHE_SECONDS: '30' })).headers?.['cache-control']).toBe('public, max-age=30');
    expect(() => parseConfig({ JWKS_CACHE_SECONDS: 'soon' })).toThrow('JWKS_CACHE_SECONDS');
  });
});
`;

/** Synthesizes the stack with the context given as JSON; prints each function's JWKS_CACHE_SECONDS, or the error. */
const SYNTH = `import { createServiceApp } from '#lib/app.js';
try {
  const context = { ...JSON.parse(process.argv[2]), 'aws:cdk:bundling-stacks': [] };
  const { app, stack } = createServiceApp({ context }, {});
  const template = app.synth().getStackByName(stack.stackName).template;
  console.log(JSON.stringify(Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler')
      .map(([id, r]) => [id.replace(/Function[0-9A-F]{8}$/, ''), r.Properties.Environment?.Variables?.JWKS_CACHE_SECONDS ?? null]),
  )));
} catch (error) {
  console.log(JSON.stringify({ error: String(error.message) }));
}
`;

/** Starts the local system with the setting given, asks for the JWK Set, stops. */
const LOCAL = `import { startLocalSystem } from '#local/system.js';
const env = { LOG_LEVEL: 'ERROR', JWKS_CACHE_SECONDS: '45' };
const system = await startLocalSystem({ port: 0, workerLoop: false, log: () => {}, env });
try {
  const response = await fetch(\`\${system.baseUrl}/.well-known/jwks.json\`);
  console.log(JSON.stringify({ status: response.status, cacheControl: response.headers.get('cache-control') }));
} finally {
  await system.stop();
}
`;

const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');

let repo: RepositoryCopy;
beforeAll(async () => {
  repo = await copyRepository('nlp-new-setting-');
}, 60_000);
afterAll(() => repo?.remove());

describe('a new setting, JWKS_CACHE_SECONDS', () => {
  it('touches three hand-edited files, and every reader of the declaration follows', async () => {
    // 1. The declaration.
    repo.edit('lib/settings.ts', (text) =>
      text.replace(/(\n {2}NOTION_TIMEOUT_MS: \{\n)/, `\n${DECLARATION}  NOTION_TIMEOUT_MS: {\n`),
    );
    // 2. The code that reads it.
    repo.edit('functions/handlers/jwks.ts', (text) =>
      text
        .replace(
          'readonly keys: SigningKeySource;',
          'readonly keys: SigningKeySource;\n  readonly maxAgeSeconds: number;',
        )
        .replace(
          'keys: accessTokenSettings(config, load).keys,',
          'keys: accessTokenSettings(config, load).keys,\n  maxAgeSeconds: config.settings.JWKS_CACHE_SECONDS,',
        )
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
        .replace("'public, max-age=300'", '`public, max-age=${deps().maxAgeSeconds}`'),
    );
    // 3. Its test.
    repo.write(
      'test/handlers/jwks-cache.test.ts',
      TEST.replace('#handlers/jwks.js', '../../functions/handlers/jwks.js'),
    );

    // Generated: .env.example and the README's settings table.
    await repo.node('scripts/settings.ts', '--write');
    expect(repo.read('.env.example')).toContain(
      '# How long a verifier may cache the JWK Set (its cache-control max-age), in seconds.\n# JWKS_CACHE_SECONDS=300\n',
    );
    expect(repo.read('README.md')).toContain('| `JWKS_CACHE_SECONDS` | `300` |');
    expect(repo.read('README.md')).toContain('CDK context `jwksCacheSeconds`. |');

    // Its test, and the tests of the settings documents, the declaration, the stage config and the config.
    await repo.jest(
      ['unit', 'handlers'],
      [
        'test/handlers/jwks-cache.test.ts',
        'test/unit/settings',
        'test/unit/local/env-example.test.ts',
        'test/unit/shared/config.test.ts',
      ],
    );

    // The stack: the jwks function, and only it, gets the value of its context key; a bad value stops the synth.
    repo.write('synth-setting.ts', SYNTH);
    const env = last(await repo.node('synth-setting.ts', JSON.stringify({ jwksCacheSeconds: '30' })));
    expect(env.Jwks).toBe('30');
    expect(Object.entries(env).filter(([id, v]) => id !== 'Jwks' && v !== null)).toEqual([]);
    const refused = last(await repo.node('synth-setting.ts', JSON.stringify({ jwksCacheSeconds: 'soon' })));
    expect(refused.error).toMatch(/context "jwksCacheSeconds" \(JWKS_CACHE_SECONDS\)/);

    // The local runtime reads it from the environment, as npm start does.
    repo.write('local-setting.ts', LOCAL);
    expect(last(await repo.node('local-setting.ts'))).toEqual({ status: 200, cacheControl: 'public, max-age=45' });

    // Type check and lint, as CI runs them.
    await repo.lint(['functions/handlers/jwks.ts', 'lib/settings.ts', 'test/handlers/jwks-cache.test.ts']);

    const { handEdited, generated } = splitChanged(
      (await repo.changedFiles()).filter((f) => !['synth-setting.ts', 'local-setting.ts'].includes(f)),
    );
    expect(handEdited).toEqual(['functions/handlers/jwks.ts', 'lib/settings.ts', 'test/handlers/jwks-cache.test.ts']);
    expect(generated).toEqual(['.env.example', 'README.md']);
  }, 150_000);
});

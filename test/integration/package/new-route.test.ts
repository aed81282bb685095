/**
 * Adding a route takes three hand-edited files: its entry in lib/routes.ts, its
 * entry module (a small route's logic may live there) and its test. Tried for
 * real in a copy of the repository with `GET /version`: the files are written,
 * the generated documents refreshed (`npm run settings -- --write` for the
 * README's route table, `npm run events -- --out events` for its sample), and
 * then what reads the route table is checked in the copy: the route's own test,
 * the fuzz suite over every route, the README and events/ checks, a
 * synthesized stack with the function, its route and its throttle, and the
 * local server answering it. The files git then reports changed are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { THROTTLE_CLASSES } from '#lib/routes.js';
import { copyRepository, type RepositoryCopy, splitChanged } from '#test/helpers/repo-copy.js';

const ENTRY = `/**
 * Lambda entry of version: GET /version, the service's version (package.json). It needs no setting and no
 * resource, so it composes nothing at init and its logic lives here.
 */
import { httpHandler, json } from '#shared/http.js';
import packageJson from '../package.json' with { type: 'json' };

export const handler = httpHandler(async () => json(200, { version: packageJson.version }));
`;

const TEST = `import { describe, expect, it } from '@jest/globals';
import { httpEvent, lambdaContext } from '#test/helpers/factories.js';
import { handler } from '../../functions/version.js';
import packageJson from '../../package.json' with { type: 'json' };

describe('GET /version', () => {
  it("answers the package's version", async () => {
    const result = await handler(httpEvent({ method: 'GET', path: '/version' }), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '')).toEqual({ version: packageJson.version });
  });
});
`;

/** Synthesizes the stack and prints the version function's environment, and its route with the route's throttle. */
const SYNTH = `import { createServiceApp } from '#lib/app.js';
const { app, stack } = createServiceApp({ context: { 'aws:cdk:bundling-stacks': [] } }, {});
const resources = Object.entries(app.synth().getStackByName(stack.stackName).template.Resources);
const of = (type) => resources.filter(([, r]) => r.Type === type);
const fn = of('AWS::Lambda::Function').find(([id]) => /^VersionFunction[0-9A-F]{8}$/.test(id));
const route = of('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === 'GET /version');
const stage = of('AWS::ApiGatewayV2::Stage')[0]?.[1];
console.log(JSON.stringify({
  version: fn ? { id: fn[0], env: Object.keys(fn[1].Properties.Environment?.Variables ?? {}).sort() } : null,
  route: route ? route[1].Properties.RouteKey : null,
  throttle: stage?.Properties.RouteSettings?.['GET /version'] ?? null,
}));
`;

/** Starts the local system on a free port, asks it for /version, stops it. */
const LOCAL = `import { startLocalSystem } from '#local/system.js';
const system = await startLocalSystem({ port: 0, workerLoop: false, log: () => {}, env: { LOG_LEVEL: 'ERROR' } });
try {
  const response = await fetch(\`\${system.baseUrl}/version\`);
  console.log(JSON.stringify({ status: response.status, body: await response.json() }));
} finally {
  await system.stop();
}
`;

let repo: RepositoryCopy;
beforeAll(async () => {
  repo = await copyRepository('nlp-new-route-');
}, 60_000);
afterAll(() => repo?.remove());

describe('a new route, GET /version', () => {
  it('touches three hand-edited files, and every reader of the route table follows', async () => {
    // 1. The route table: a handler and a route with its throttle class.
    repo.edit('lib/routes.ts', (text) =>
      text
        .replace(/(export const HANDLERS = \{\n)/, '$1  version: { description: "The service\'s version" },\n')
        .replace(
          /(export const ROUTES: readonly RouteDefinition\[\] = \[\n)/,
          "$1  { method: 'GET', path: '/version', throttle: 'public', handler: 'version' },\n",
        ),
    );
    // 2. The entry module. 3. Its test.
    repo.write('functions/version.ts', ENTRY);
    repo.write('test/handlers/version.test.ts', TEST);

    // Generated: the README's route table and the route's sample event.
    await repo.node('scripts/settings.ts', '--write');
    await repo.node('scripts/events.ts', '--out', 'events');
    expect(repo.read('README.md')).toContain("| `GET /version` | `functions/version.ts` | — The service's version |");
    expect(JSON.parse(repo.read('events/version.json'))).toMatchObject({ routeKey: 'GET /version' });

    // The route's test, the fuzz suite (every route), the generated documents and the file-size rules.
    await repo.jest(
      ['unit', 'handlers'],
      [
        'test/handlers/version.test.ts',
        'test/handlers/fuzz/routes.test.ts',
        'test/unit/settings/registry.test.ts',
        'test/unit/architecture/sizes.test.ts',
      ],
    );

    // The stack: one more function (and role), the route, its class's throttle, no setting it does not need.
    repo.write('synth-version.ts', SYNTH);
    repo.write('local-version.ts', LOCAL);
    const synth = JSON.parse((await repo.node('synth-version.ts')).trim().split('\n').at(-1) ?? '{}');
    expect(synth).toMatchObject({
      version: { id: expect.stringMatching(/^VersionFunction/) },
      route: 'GET /version',
      throttle: {
        ThrottlingRateLimit: THROTTLE_CLASSES.public.rateLimit,
        ThrottlingBurstLimit: THROTTLE_CLASSES.public.burstLimit,
      },
    });
    expect(synth.version.env).not.toContain('CONNECTIONS_TABLE');

    // The local server serves it.
    const local = JSON.parse((await repo.node('local-version.ts')).trim().split('\n').at(-1) ?? '{}');
    const version = (JSON.parse(repo.read('package.json')) as { version: string }).version;
    expect(local).toEqual({ status: 200, body: { version } });

    // Type check and lint, as CI runs them.
    await repo.lint(['functions/version.ts', 'lib/routes.ts', 'test/handlers/version.test.ts']);

    const { handEdited, generated } = splitChanged(
      (await repo.changedFiles()).filter((f) => !['synth-version.ts', 'local-version.ts'].includes(f)),
    );
    expect(handEdited).toEqual(['functions/version.ts', 'lib/routes.ts', 'test/handlers/version.test.ts']);
    expect(generated).toEqual(['README.md', 'events/version.json']);
  }, 150_000);
});

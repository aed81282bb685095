/**
 * The package seen from a team's own repository: `npm pack`, the tarball
 * installed into a temporary repository (test/fixtures/team-repo: an adapter
 * module, a bin/app.ts, a script that publishes a change), then
 *
 * - the team's CDK app synthesizes, and its adapter is bundled into the unfurl
 *   and update-worker assets (and no other), which load with it registered;
 * - the local system runs from the installed package with
 *   SOURCE_ADAPTER_MODULE naming the team's file: a full unfurl through the
 *   Notion simulator (sign-in, consent, card), and a pushed update after the
 *   team's script publishes a change with the package's publisher.
 *
 * The tarball's dependencies are not downloaded: the fixture links this
 * repository's node_modules entries, and the package itself is unpacked from
 * the tarball into node_modules/notion-link-preview, as npm would
 * (docs/adr/0131-package-ships-typescript-sources.md).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HANDLERS } from '#lib/routes.js';
import { SETTINGS } from '#lib/settings.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'team-repo');
const MARKER = 'acme-source-adapter-7f3a9c';
const WEBHOOK_SECRET = SETTINGS.CHANGES_WEBHOOK_SECRET.local;
const API_TOKEN = 'acme-local-token';

let team: string;
const timings: Record<string, number> = {};
const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const t0 = Date.now();
  try {
    return await work();
  } finally {
    timings[label] = Date.now() - t0;
  }
};

/** The team's repository: the fixture's files, the packed package unpacked, this repository's dependencies linked. */
const createTeamRepo = async (): Promise<string> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nlp-team-repo-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry.startsWith('.') || entry === 'notion-link-preview') continue;
    symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  const installed = path.join(modules, 'notion-link-preview');
  mkdirSync(installed);
  await run('tar', ['-xzf', path.join(dir, filename), '-C', installed, '--strip-components=1']);
  // The commands of the dependencies (esbuild, which the CDK bundles with), and the package's own, linked as npm does.
  const bin = path.join(modules, '.bin');
  mkdirSync(bin);
  for (const entry of readdirSync(path.join(ROOT, 'node_modules', '.bin'))) {
    symlinkSync(path.join(ROOT, 'node_modules', '.bin', entry), path.join(bin, entry));
  }
  symlinkSync('../notion-link-preview/bin/local.mjs', path.join(bin, 'notion-link-preview-local'));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'acme-link-previews',
      private: true,
      type: 'module',
      dependencies: { 'notion-link-preview': `file:${filename}` },
    }),
  );
  writeFileSync(
    path.join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'acme-link-previews', lockfileVersion: 3, requires: true, packages: {} }),
  );
  return dir;
};

beforeAll(async () => {
  team = await timed('pack and install', createTeamRepo);
}, 60_000);

afterAll(() => {
  if (team) rmSync(team, { recursive: true, force: true });
  console.log(`team-repo timings (ms): ${JSON.stringify(timings)}`);
});

describe('a team repository with the packed package', () => {
  it('ships the TypeScript sources the exports name, and no tests', () => {
    const pkg = JSON.parse(readFileSync(path.join(team, 'node_modules/notion-link-preview/package.json'), 'utf8')) as {
      exports: Record<string, string>;
    };
    for (const target of Object.values(pkg.exports)) {
      expect(readdirSync(path.dirname(path.join(team, 'node_modules/notion-link-preview', target)))).toContain(
        path.basename(target),
      );
    }
    expect(readdirSync(path.join(team, 'node_modules/notion-link-preview'))).not.toContain('test');
  });

  it("synthesizes the team's app with its adapter bundled into the unfurl and worker functions only", async () => {
    const outdir = path.join(team, 'cdk.out');
    await timed('synth', () =>
      run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
        cwd: team,
        env: {
          ...process.env,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:enable-asset-metadata': true }),
        },
        maxBuffer: 16 * 1024 * 1024,
      }),
    );
    const template = JSON.parse(readFileSync(path.join(outdir, 'AcmeLinkPreviews.template.json'), 'utf8')) as {
      Resources: Record<
        string,
        {
          Type: string;
          Metadata?: Record<string, string>;
          Properties: { Environment?: { Variables?: Record<string, string> } };
        }
      >;
    };
    const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    const bundled = new Map<string, boolean>();
    for (const [id, resource] of functions) {
      const asset = resource.Metadata?.['aws:asset:path'] as string;
      const code = readFileSync(path.join(outdir, asset, 'index.mjs'), 'utf8');
      bundled.set(id.replace(/Function[0-9A-F]{8}$/, ''), code.includes(MARKER));
    }
    // Every function of the route table and the worker is there; only the two that call the source carry the adapter.
    expect(bundled.size).toBe(Object.keys(HANDLERS).length + 1);
    expect([...bundled].filter(([, has]) => has).map(([id]) => id)).toEqual(
      expect.arrayContaining(['Unfurl', 'UpdateWorker']),
    );
    expect([...bundled.values()].filter(Boolean)).toHaveLength(2);
    const [, unfurl] = functions.find(([id]) => id.startsWith('UnfurlFunction')) ?? [];
    expect(unfurl?.Properties.Environment?.Variables).toMatchObject({
      SOURCE_ADAPTER: 'acme',
      ACME_API_URL: 'https://api.acme.example',
      ACME_API_TOKEN_SECRET_ARN: expect.stringContaining(':secret:acme-api-token'),
    });
    const policies = JSON.stringify(
      Object.values(template.Resources).filter(
        (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r).includes('s3:GetObject'),
      ),
    );
    expect(policies).toContain('arn:aws:s3:::acme-attachments/*');

    // The bundle registers the team's adapter before the handler composes: it initializes with SOURCE_ADAPTER=acme.
    const unfurlAsset = path.join(outdir, unfurl?.Metadata?.['aws:asset:path'] as string, 'index.mjs');
    const init = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(unfurlAsset)}); console.log(typeof m.handler);`,
      ],
      {
        cwd: team,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'eu-west-1',
          PUBLIC_BASE_URL: 'https://previews.acme.example',
          CONNECTIONS_TABLE: 'connections',
          SUBSCRIPTIONS_TABLE: 'subscriptions',
          TOKEN_SIGNING_KEY: 'a-token-signing-key-of-at-least-32-characters',
          OIDC_CLIENT_SECRET: 'the-upstream-client-secret',
          NOTION_TOKEN_ENCRYPTION_KEY: SETTINGS.NOTION_TOKEN_ENCRYPTION_KEY.local,
          SOURCE_ADAPTER: 'acme',
          ACME_API_URL: 'https://api.acme.example',
        },
      },
    );
    expect(init.stdout.trim()).toBe('function');
  }, 150_000);

  describe('the local system with SOURCE_ADAPTER_MODULE', () => {
    const tickets = new Map([['7', { title: 'Broken login', state: 'Open' }]]);
    const seen: string[] = [];
    let product: Server;
    let productUrl: string;
    let local: ChildProcess | undefined;
    let baseUrl: string;
    let output = '';

    beforeAll(async () => {
      // Acme's API: a ticket for a bearer of the team's token only.
      product = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const m = /^\/tickets\/(\d+)$/.exec(url.pathname);
        seen.push(`${url.pathname} ${url.searchParams.get('viewer')}`);
        const ticket = m ? tickets.get(m[1] ?? '') : undefined;
        const status = req.headers.authorization !== `Bearer ${API_TOKEN}` ? 401 : ticket ? 200 : 404;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ticket ?? {}));
      });
      await new Promise<void>((resolve) => product.listen(0, '127.0.0.1', resolve));
      productUrl = `http://127.0.0.1:${(product.address() as AddressInfo).port}`;
      const rules = {
        domain: '127.0.0.1',
        rules: [
          {
            name: 'ticket',
            pattern: `^${productUrl.replace(/\./g, '\\.')}/tickets/(?<no>\\d+)$`,
            sampleUrls: [`${productUrl}/tickets/7`],
            placeholder: [
              {
                id: 'title',
                name: 'Title',
                type: 'inline',
                inline: { title: { value: 'Ticket $<no>', section: 'title' } },
              },
            ],
            resource: 'ticket:$<no>',
          },
        ],
      };
      const started = await timed('local start', async () => {
        local = spawn(process.execPath, ['node_modules/.bin/notion-link-preview-local', '--fresh'], {
          cwd: team,
          env: {
            ...process.env,
            PORT: '0',
            LOG_LEVEL: 'WARN',
            LOCAL_DATA_DIR: path.join(team, '.local-data'),
            SOURCE_ADAPTER_MODULE: './src/acme-source.ts',
            ACME_API_URL: productUrl,
            ACME_API_TOKEN: API_TOKEN,
            UNFURL_RULES: JSON.stringify(rules),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        return new Promise<string>((resolve, reject) => {
          const onData = (chunk: Buffer) => {
            output += chunk.toString();
            const up = /local system is up on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
            if (up?.[1]) resolve(up[1]);
          };
          local?.stdout?.on('data', onData);
          local?.stderr?.on('data', onData);
          local?.once('exit', (code) => reject(new Error(`the local system exited (${code}):\n${output}`)));
        });
      });
      baseUrl = started;
    }, 60_000);

    afterAll(async () => {
      if (local && local.exitCode === null) {
        const exited = new Promise((resolve) => local?.once('exit', resolve));
        local.kill('SIGTERM');
        await exited;
      }
      await new Promise((resolve) => product?.close(resolve));
    }, 30_000);

    it("unfurls a link through the team's adapter and pushes the update the team publishes", async () => {
      expect(output).toMatch(/SOURCE_ADAPTER\s+acme/);
      const link = `${productUrl}/tickets/7`;
      await timed('unfurl and push', async () => {
        const alice = new NotionDriver({
          baseUrl,
          formValues: { login: 'alice', password: 'alice-password', decision: 'allow' },
        });
        await alice.open();
        await alice.signIn();
        const preview = await alice.paste(link);
        expect(preview.card?.title).toBe('Broken login');
        expect(preview.card?.items.find((i) => i.id === 'state')?.text).toBe('Open');
        expect(preview.card?.items.find((i) => i.id === 'ticket')?.text).toBe('ACME-7');
        expect(seen).toContain('/tickets/7 u-alice');

        tickets.set('7', { title: 'Broken login', state: 'Fixed' });
        const published = await run(
          process.execPath,
          ['--import', 'tsx', 'scripts/publish-change.ts', baseUrl, 'ticket:7'],
          { cwd: team, env: { ...process.env, CHANGES_WEBHOOK_SECRET: WEBHOOK_SECRET } },
        );
        expect(JSON.parse(published.stdout)).toMatchObject({ status: 'queued' });
        const state = await alice.waitFor(
          (s) => s.previews.some((p) => p.card?.items.some((i) => i.id === 'state' && i.text === 'Fixed')),
          20_000,
        );
        expect(state.previews.find((p) => p.uri === link)?.card?.items.find((i) => i.id === 'state')?.text).toBe(
          'Fixed',
        );
      });
    }, 60_000);
  });
});

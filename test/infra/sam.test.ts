/**
 * What `sam local invoke` and `sam local start-api` rely on in the synthesized
 * template (SAM CLI and Docker are not needed to check it): each function's
 * asset metadata points at a bundled directory in the cloud assembly, the
 * handler file exists there and exports `handler` when Node.js loads it, the
 * construct ids SAM accepts are stable, and every route has a sample event.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServiceApp, stackName } from '#lib/app.js';
import { PROJECT_ROOT } from '#lib/constructs/node-function.js';
import { functionId } from '#lib/notion-link-preview-stack.js';
import { HANDLERS, ROUTES, WORKER_HANDLER } from '#lib/routes.js';
import { cdkJsonContext } from './synth.js';

let outdir: string;
interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}
let template: { Resources: Record<string, Resource> };

beforeAll(() => {
  // Inside the project (cdk.out is ignored by git), so a bundle's external imports resolve from node_modules.
  const parent = path.join(PROJECT_ROOT, 'cdk.out');
  mkdirSync(parent, { recursive: true });
  outdir = mkdtempSync(path.join(parent, '.sam-test-'));
  // As `npm run synth` (the CDK CLI) does: asset and path metadata on, bundling on.
  const { app } = createServiceApp(
    {
      outdir,
      context: { ...cdkJsonContext(), 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true },
    },
    {},
  );
  const assembly = app.synth();
  template = assembly.getStackByName(stackName('dev')).template;
}, 180_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const functions = () => Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

describe('sam local on the synthesized template', () => {
  it('every function carries aws:asset:path / aws:asset:property metadata naming a bundled directory', () => {
    expect(functions()).toHaveLength(Object.keys(HANDLERS).length + 1);
    for (const [, fn] of functions()) {
      expect(fn.Metadata?.['aws:asset:property']).toBe('Code');
      const assetPath = fn.Metadata?.['aws:asset:path'] as string;
      expect(assetPath).toMatch(/^asset\.[0-9a-f]{64}$/);
      expect(existsSync(path.join(outdir, assetPath))).toBe(true);
      expect(fn.Metadata?.['aws:asset:is-bundled']).toBe(true);
    }
  });

  it("each handler resolves in its asset: the handler's file exists and Node.js loads a `handler` function from it, with the environment the template gives it", () => {
    for (const [, fn] of functions()) {
      // The template's environment, as Lambda would give it: references (table names, ARNs, the API's
      // URL) become stand-in values of the same kind.
      const variables =
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      const environment = Object.fromEntries(
        Object.entries(variables).map(([k, v]) => [
          k,
          typeof v === 'string'
            ? v
            : /(URL|ISSUER)$/.test(k)
              ? 'https://stand-in.example.com/x'
              : `stand-in-${k.toLowerCase()}`,
        ]),
      );
      const [file, exported] = (fn.Properties.Handler as string).split('.') as [string, string];
      const dir = path.join(outdir, fn.Metadata?.['aws:asset:path'] as string);
      const candidates = readdirSync(dir).filter((f) => f === `${file}.mjs` || f === `${file}.js`);
      expect(candidates).toEqual([`${file}.mjs`]);
      const url = pathToFileURL(path.join(dir, `${file}.mjs`)).href;
      const kind = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(url)}); process.stdout.write(typeof m[${JSON.stringify(exported)}]);`,
        ],
        {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', ...environment },
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      expect(kind).toBe('function');
    }
  });

  it('functions are addressable by their construct ids (what `sam local invoke <Id>` takes)', () => {
    const paths = functions().map(([, fn]) => fn.Metadata?.['aws:cdk:path'] as string);
    const handlers = [...new Set(ROUTES.map((r) => r.handler)), WORKER_HANDLER];
    expect(paths.sort()).toEqual(handlers.map((h) => `${stackName('dev')}/${functionId(h)}/Resource`).sort());
    // The ids of the existing functions stay what they were (a rename would break `sam local invoke <Id>`).
    expect(handlers.map(functionId)).toEqual(
      expect.arrayContaining([
        'ChangesFunction',
        'MetadataFunction',
        'OAuthAuthorizeFunction',
        'OAuthTokenFunction',
        'UnfurlDeleteFunction',
        'UnfurlFunction',
        'UpdateWorkerFunction',
      ]),
    );
  });

  it('the HTTP API routes are plain AWS::ApiGatewayV2 resources with Lambda proxy integrations (start-api)', () => {
    const routes = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    const integrations = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration');
    for (const i of integrations) {
      expect(i.Properties.IntegrationType).toBe('AWS_PROXY');
      expect(i.Properties.PayloadFormatVersion).toBe('2.0');
    }
  });

  it('every route and the worker have a sample event in events/', () => {
    const files = readdirSync(path.join(PROJECT_ROOT, 'events'));
    expect(files).toEqual(
      expect.arrayContaining(['update-worker.json', 'metadata.json', 'unfurl.json', 'changes.json']),
    );
    expect(files.filter((f) => f.startsWith('oauth-token-'))).toHaveLength(2);
  });
});

/**
 * npm run smoke: checks a running deployment (or `npm start`) from outside,
 * the way Notion and the product meet it, with requests that change nothing
 * (a signed change event only with --webhook-secret):
 *
 * - RFC 8414 metadata: 200 JSON, issuer = the base URL, its token and authorize endpoints;
 * - the JWKS: 200, at least one key, each with kid and kty, none with a private key's members;
 * - token endpoint error shapes (RFC 6749 §5.2): no client → 401 invalid_client with a Basic
 *   challenge, a JSON body → 400, each with `Cache-Control: no-store`;
 * - POST /unfurl without a token → 401 with `WWW-Authenticate: Bearer error="invalid_token"`;
 * - POST /changes without a signature → refused (401 or 400);
 * - DELETE /deleted-token with a token that is not ours → 200 (no oracle);
 * - with --webhook-secret: a signed change event → 202.
 *
 * One line per check, then one summary line; exit 0 when all pass, 1 otherwise.
 *
 *   npm run smoke -- --outputs cdk-outputs.json
 *   npm run smoke -- --base-url http://127.0.0.1:3000 [--webhook-secret whsec_…]
 *   npm run smoke                   # cdk-outputs.json when it exists, else the running `npm start`
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { type RuntimeInfo, readRuntimeInfo } from '#local/runtime-info.js';
import { type CliArgs, isEntryPoint, runCli, UsageError } from './cli.js';
import { pickStackOutputs } from './outputs-file.js';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

type Fetch = typeof fetch;

interface Check {
  readonly name: string;
  readonly run: (base: string, f: Fetch) => Promise<string>;
}

/** A failed expectation of a check: its message is the check's detail. */
class Mismatch extends Error {}

const expectThat = (condition: boolean, message: string): void => {
  if (!condition) throw new Mismatch(message);
};

const bodyOf = async (r: Response): Promise<unknown> => {
  const text = await r.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

const errorCode = (body: unknown): string | undefined => {
  if (body === null || typeof body !== 'object') return undefined;
  const e = (body as { error?: unknown }).error;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string')
    return (e as { code: string }).code;
  return undefined;
};

const SMOKE_URI = 'https://smoke.invalid/nothing/1';

export const checks = (webhookSecret?: string): Check[] => [
  {
    name: 'metadata',
    run: async (base, f) => {
      const r = await f(`${base}/.well-known/oauth-authorization-server`);
      expectThat(r.status === 200, `GET /.well-known/oauth-authorization-server answered ${r.status}, not 200`);
      const m = (await bodyOf(r)) as Record<string, unknown>;
      expectThat(m.issuer === base, `issuer is ${JSON.stringify(m.issuer)}, not ${base}`);
      expectThat(m.token_endpoint === `${base}/oauth/token`, `token_endpoint is ${JSON.stringify(m.token_endpoint)}`);
      expectThat(
        m.authorization_endpoint === `${base}/oauth/authorize`,
        `authorization_endpoint is ${JSON.stringify(m.authorization_endpoint)}`,
      );
      return 'RFC 8414 document, issuer and endpoints on the base URL';
    },
  },
  {
    name: 'jwks',
    run: async (base, f) => {
      const r = await f(`${base}/.well-known/jwks.json`);
      expectThat(r.status === 200, `GET /.well-known/jwks.json answered ${r.status}, not 200`);
      const keys = ((await bodyOf(r)) as { keys?: unknown } | null)?.keys;
      expectThat(Array.isArray(keys) && keys.length > 0, 'the JWKS has no keys');
      const list = keys as Array<Record<string, unknown>>;
      expectThat(
        list.every((k) => typeof k.kid === 'string' && typeof k.kty === 'string'),
        'a key has no kid or no kty',
      );
      // A public key set: none of a private key's members (RFC 7517 §4, RFC 7518 §6).
      const secret = list.flatMap((k) => ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].filter((m) => m in k));
      expectThat(secret.length === 0, `the JWKS publishes private key members (${[...new Set(secret)].join(', ')})`);
      return `${list.length} public key(s), the service assertions' keys (the function read its signing keys)`;
    },
  },
  {
    name: 'token-errors',
    run: async (base, f) => {
      const noClient = await f(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=smoke',
      });
      const b1 = await bodyOf(noClient);
      expectThat(
        noClient.status === 401 && errorCode(b1) === 'invalid_client',
        `no client: ${noClient.status} ${errorCode(b1) ?? ''}, not 401 invalid_client`,
      );
      expectThat(/^Basic/i.test(noClient.headers.get('www-authenticate') ?? ''), 'no client: no Basic challenge');
      expectThat(/no-store/.test(noClient.headers.get('cache-control') ?? ''), 'no client: no Cache-Control: no-store');
      const json = await f(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const b2 = await bodyOf(json);
      expectThat(
        json.status === 400 && errorCode(b2) !== undefined,
        `JSON body: ${json.status}, not 400 with an error`,
      );
      expectThat(/no-store/.test(json.headers.get('cache-control') ?? ''), 'JSON body: no Cache-Control: no-store');
      return '401 invalid_client with a Basic challenge, 400 for a JSON body, no-store';
    },
  },
  {
    name: 'unfurl-401',
    run: async (base, f) => {
      const r = await f(`${base}/unfurl`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uri: SMOKE_URI }),
      });
      await r.body?.cancel();
      const challenge = r.headers.get('www-authenticate') ?? '';
      expectThat(r.status === 401, `POST /unfurl without a token answered ${r.status}, not 401`);
      // docs/protocol.md Part A: a missing token is answered like an invalid one.
      expectThat(
        /^Bearer\b/.test(challenge) && /error="invalid_token"/.test(challenge),
        `WWW-Authenticate is "${challenge}"`,
      );
      return '401 with WWW-Authenticate: Bearer error="invalid_token"';
    },
  },
  {
    name: 'changes-unsigned',
    run: async (base, f) => {
      const r = await f(`${base}/changes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resource: 'smoke:unsigned' }),
      });
      await r.body?.cancel();
      expectThat(r.status === 401 || r.status === 400, `POST /changes unsigned answered ${r.status}, not 401/400`);
      return `refused (${r.status})`;
    },
  },
  {
    name: 'deleted-token',
    run: async (base, f) => {
      const r = await f(`${base}/deleted-token`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: 'smoke-not-a-token-of-ours' }),
      });
      await r.body?.cancel();
      expectThat(r.status === 200, `DELETE /deleted-token answered ${r.status}, not 200`);
      return '200 for a token that is not ours';
    },
  },
  ...(webhookSecret
    ? [
        {
          name: 'changes-signed',
          run: async (base: string, f: Fetch) => {
            const body = JSON.stringify({ resource: `smoke:${Date.now()}`, changed_at: new Date().toISOString() });
            const id = `msg_smoke_${Date.now()}`;
            const at = new Date();
            const signature = new Webhook(webhookSecret).sign(id, at, body);
            const r = await f(`${base}/changes`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'webhook-id': id,
                'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
                'webhook-signature': signature,
              },
              body,
            });
            await r.body?.cancel();
            expectThat(
              r.status === 202,
              r.status === 401
                ? "a signed change answered 401, not 202: is --webhook-secret the service's CHANGES_WEBHOOK_SECRET?"
                : `a signed change answered ${r.status}, not 202`,
            );
            return '202 for a signed change event';
          },
        },
      ]
    : []),
];

/**
 * Why a request failed, from fetch's error and its cause: `fetch failed` alone does not say whether the name
 * did not resolve, nothing listened, or the certificate did not match (what a new custom domain runs into).
 */
export const requestFailure = (error: unknown): string => {
  // Duck-typed: fetch's errors may come from another realm (a test's VM context), where instanceof fails.
  type Failure = { message?: unknown; code?: unknown; cause?: unknown; errors?: unknown };
  const firstLine = (text: unknown) => (typeof text === 'string' ? (text.split('\n', 1)[0]?.trim() ?? '') : '');
  const describe = (e: unknown): string | undefined => {
    if (typeof e !== 'object' || e === null) return undefined;
    const failure = e as Failure;
    if (Array.isArray(failure.errors) && failure.errors.length > 0)
      return [...new Set(failure.errors.map(describe).filter((x) => x))].join('; ');
    return firstLine(failure.message) || (typeof failure.code === 'string' ? failure.code : undefined);
  };
  const message = describe(error) ?? String(error);
  const cause = typeof error === 'object' && error !== null ? describe((error as Failure).cause) : undefined;
  return cause && cause !== message ? `${message}: ${cause}` : message;
};

/** Runs every check against `base`; never throws (a network failure is the check's failure). */
export const runSmoke = async (base: string, options: { webhookSecret?: string; fetch?: Fetch } = {}) => {
  const f = options.fetch ?? fetch;
  const results: CheckResult[] = [];
  for (const check of checks(options.webhookSecret)) {
    try {
      results.push({ name: check.name, ok: true, detail: await check.run(base, f) });
    } catch (error) {
      const message = error instanceof Mismatch ? error.message : `request failed: ${requestFailure(error)}`;
      results.push({ name: check.name, ok: false, detail: message });
    }
  }
  return results;
};

/** The one-line summary: `smoke: 5 passed, 1 failed (unfurl-401) at <base>`. */
export const summary = (base: string, results: readonly CheckResult[]): string => {
  const failed = results.filter((r) => !r.ok);
  return `smoke: ${results.length - failed.length} passed, ${failed.length} failed${
    failed.length ? ` (${failed.map((r) => r.name).join(', ')})` : ''
  } at ${base}`;
};

export const CLI = {
  name: 'smoke',
  usage: ['npm run smoke -- --outputs <cdk-outputs.json>', 'npm run smoke -- --base-url <url>', 'npm run smoke'],
  description: `Checks a running deployment from outside with requests that change nothing: RFC 8414
metadata, the published JWKS (public keys only), the token endpoint's error shapes, unfurl 401 with WWW-Authenticate, an unsigned /changes
refused, the deleted-token callback's 200, and with --webhook-secret a signed change accepted. Without
--base-url or --outputs: cdk-outputs.json when it exists, else the running npm start of this directory.`,
  options: {
    outputs: { type: 'string', value: '<file>', description: 'CDK outputs file: the base URL is its PublicBaseUrl' },
    stack: {
      type: 'string',
      value: '<name>',
      description: 'the stack to read when the outputs file holds several (e.g. NotionLinkPreview-prod)',
    },
    'base-url': { type: 'string', value: '<url>', description: 'base URL of the service (instead of --outputs)' },
    'webhook-secret': {
      type: 'string',
      value: '<whsec_…>',
      description: 'Standard Webhooks secret of POST /changes: also check that a signed change is accepted (202)',
    },
  },
  examples: [
    'npm run smoke -- --outputs cdk-outputs.json',
    'npm run smoke -- --base-url http://127.0.0.1:3000 --webhook-secret "$CHANGES_WEBHOOK_SECRET"',
  ],
  notes: ['Exit status: 0 every check passed, 1 a check failed, 2 wrong usage.'],
} as const;

/**
 * The --webhook-secret value, if given: a Standard Webhooks secret (`whsec_<base64>`, or the bare base64 the
 * stack generates) that decodes as the service decodes it. An empty value (an unset shell variable) is a mistake, not "skip the signed check".
 */
export const webhookSecretOf = (values: CliArgs<typeof CLI.options>['values']): string | undefined => {
  const secret = values['webhook-secret'];
  if (secret === undefined) return undefined;
  if (secret.trim() === '')
    throw new UsageError('--webhook-secret is empty (is the variable that should hold the secret set?)');
  if (!/^(?:whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(secret))
    throw new UsageError('--webhook-secret is not a Standard Webhooks secret (whsec_<base64> or base64)');
  // Decoded as the service's verifier decodes it (functions/core/changes/verify.ts): a value it refuses
  // (too short, wrong padding) could never be the service's secret.
  try {
    new Webhook(secret);
  } catch (error) {
    throw new UsageError(
      `--webhook-secret is not a Standard Webhooks secret: its base64 does not decode (${(error as Error).message})`,
    );
  }
  return secret;
};

/**
 * The base URL from --base-url or the outputs file's PublicBaseUrl, without a trailing slash; with neither
 * option and no cdk-outputs.json, the running `npm start` of this directory (as `npm run dashboard` finds it).
 */
export const baseUrlOf = (
  values: CliArgs<typeof CLI.options>['values'],
  running: () => RuntimeInfo | undefined = readRuntimeInfo,
): string => {
  if (values['base-url'] !== undefined && values.outputs !== undefined) {
    throw new UsageError('give --base-url or --outputs, not both');
  }
  let base = values['base-url'];
  const file = resolve(values.outputs ?? 'cdk-outputs.json');
  const outputsFound = base === undefined && existsSync(file);
  if (base === undefined && values.outputs === undefined && !outputsFound) {
    base = running()?.publicBaseUrl;
    if (base === undefined)
      throw new UsageError(
        'no outputs file cdk-outputs.json and no running npm start here (give --outputs or --base-url)',
      );
  }
  if (base === undefined) {
    if (!outputsFound) throw new UsageError(`no outputs file ${values.outputs} (or give --base-url)`);
    try {
      base = pickStackOutputs(JSON.parse(readFileSync(file, 'utf8')) as unknown, [OUTPUTS.publicBaseUrl], values.stack)
        .outputs[OUTPUTS.publicBaseUrl];
    } catch (error) {
      // No stack with it, or several without --stack: the command line must say which file or stack.
      throw new UsageError(`${file}: ${(error as Error).message}`);
    }
  }
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--base-url is not a URL: ${base}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('--base-url must be http(s)');
  return base.replace(/\/+$/, '');
};

export const main = async (
  { values }: CliArgs<typeof CLI.options>,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  f?: Fetch,
  running: () => RuntimeInfo | undefined = readRuntimeInfo,
): Promise<number> => {
  const base = baseUrlOf(values, running);
  const webhookSecret = webhookSecretOf(values);
  const results = await runSmoke(base, {
    ...(webhookSecret ? { webhookSecret } : {}),
    ...(f ? { fetch: f } : {}),
  });
  for (const r of results) out(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}`);
  out(summary(base, results));
  return results.every((r) => r.ok) ? 0 : 1;
};

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runCli(CLI, process.argv.slice(2), (args) => main(args));
}

/**
 * Generates the sample Lambda events (one per route and case, and an SQS batch
 * for the worker) from the same factories the handler tests use, for
 * `sam local invoke -e <file>` and for the test that runs every sample through
 * its handler. The committed samples in `events/` are only rewritten when asked
 * for with `--out events`.
 *
 *   npm run events                      # writes .local-data/events/*.json (untracked) for http://127.0.0.1:3000
 *   npm run events -- --base-url https://previews.example.com
 *   npm run -s events -- --print changes | sam local invoke … ChangesFunction -e -
 *   npm run events -- --out events      # refresh the committed samples
 *
 * The change webhook event is signed with the local default secret
 * (`CHANGES_WEBHOOK_SECRET` of local/defaults.ts) at generation time; Standard
 * Webhooks signatures go stale after 5 minutes, so generate again right before
 * invoking it. The committed samples are signed at a fixed time instead
 * (`COMMITTED_SIGNING_TIME`), so that refreshing them after adding a route
 * changes only that route's sample.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { signWebhook } from '#core/changes/verify.js';
import { ENV } from '#lib/env-names.js';
import { type HttpHandlerName, ROUTES, routeKey, WORKER_HANDLER } from '#lib/routes.js';
import { DEFAULT_PORT, LOCAL_HOST, localDefaults } from '#local/defaults.js';
import { httpEvent, sqsEvent, sqsRecord } from '#test/helpers/factories.js';
import { type CliArgs, httpUrl, isEntryPoint, runCli, UsageError } from './cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The committed samples (what `sam local invoke -e events/<file>.json` and the tests read). */
export const EVENTS_DIR = path.join(ROOT, 'events');
/** Where `npm run events` writes by default: untracked (.local-data/ is gitignored). */
export const DEFAULT_OUT_DIR = path.join(ROOT, '.local-data', 'events');
/** When the committed change webhook sample is signed: fixed, so that `--out events` rewrites nothing unchanged. */
export const COMMITTED_SIGNING_TIME = Date.UTC(2026, 0, 15, 12, 0, 0);

export interface SampleEvent {
  /** File name in events/ (without `.json`). */
  readonly name: string;
  readonly handler: HttpHandlerName | typeof WORKER_HANDLER;
  readonly description: string;
  readonly event: APIGatewayProxyEventV2 | SQSEvent;
}

export interface SampleOptions {
  /** Base URL the service is reached at (PUBLIC_BASE_URL). */
  readonly baseUrl?: string;
  /** Signing time of the change webhook, epoch ms. */
  readonly now?: number;
  /** Settings the samples are built for; the local defaults unless given. */
  readonly env?: Readonly<Record<string, string>>;
}

const setting = (env: Readonly<Record<string, string>>, name: string): string => {
  const value = env[name];
  if (value === undefined) throw new Error(`no value for ${name}`);
  return value;
};

/** Every sample event, built for the given base URL and settings. */
export const sampleEvents = (options: SampleOptions = {}): SampleEvent[] => {
  const baseUrl = (options.baseUrl ?? `http://${LOCAL_HOST}:${DEFAULT_PORT}`).replace(/\/+$/, '');
  const env = { ...localDefaults(DEFAULT_PORT), [ENV.PUBLIC_BASE_URL]: baseUrl, ...options.env };
  const now = options.now ?? Date.now();
  const clientId = setting(env, ENV.OAUTH_CLIENT_ID);
  const clientSecret = setting(env, ENV.OAUTH_CLIENT_SECRET);
  const redirectUri = setting(env, ENV.NOTION_REDIRECT_URIS).split(',')[0]?.trim() ?? '';
  const taskUri = `${baseUrl}/demo/tasks/1`;
  const domainName = new URL(baseUrl).host;
  const notion = { 'user-agent': 'Notion-Link-Preview/1.0' };
  const browser = {
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    accept: 'text/html,application/xhtml+xml',
  };
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  // A well-formed bearer token that no connection holds: the callbacks answer 401 to it.
  const unknownBearer = 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1bmtub3duIn0.c2lnbmF0dXJlLW9mLWFuLXVua25vd24tdG9rZW4';

  const changeBody = JSON.stringify({ resource: 'task:1', changed_at: '2026-01-15T12:00:00Z', fields: ['status'] });
  const webhookId = `msg_sample_${Math.floor(now / 1000)}`;
  const signed = signWebhook(setting(env, ENV.CHANGES_WEBHOOK_SECRET), webhookId, changeBody, now);

  const http = (input: Parameters<typeof httpEvent>[0]) => httpEvent({ domainName, ...input });

  const samples: SampleEvent[] = [
    {
      name: 'oauth-authorize',
      handler: 'oauth-authorize',
      description: 'GET /oauth/authorize from Notion: starts the upstream login (302 to the OIDC provider)',
      event: http({
        method: 'GET',
        path: '/oauth/authorize',
        headers: browser,
        query: {
          response_type: 'code',
          client_id: clientId,
          redirect_uri: redirectUri,
          state: 'notion-state-sample',
          code: 'notion-code-sample',
          scope: 'unfurl',
        },
      }),
    },
    {
      name: 'oauth-callback',
      handler: 'oauth-authorize',
      description: 'GET /oauth/callback from the OIDC provider, with a pending-authorization cookie',
      event: http({
        method: 'GET',
        path: '/oauth/callback',
        headers: browser,
        cookies: ['nlp_oauth_pending=pending-sample'],
        query: { code: 'upstream-code-sample', state: 'upstream-state-sample' },
      }),
    },
    {
      name: 'oauth-consent',
      handler: 'oauth-authorize',
      description: 'POST /oauth/consent: the consent form, "allow"',
      event: http({
        method: 'POST',
        path: '/oauth/consent',
        headers: browser,
        cookies: ['nlp_oauth_pending=pending-sample'],
        form: { pending: 'pending-sample', csrf: 'csrf-sample', decision: 'allow' },
      }),
    },
    {
      name: 'oauth-token-authorization-code',
      handler: 'oauth-token',
      description: 'POST /oauth/token, grant_type=authorization_code, client_secret_basic',
      event: http({
        method: 'POST',
        path: '/oauth/token',
        headers: { ...notion, authorization: basic, accept: 'application/json' },
        form: { grant_type: 'authorization_code', code: 'code-sample', redirect_uri: redirectUri },
      }),
    },
    {
      name: 'oauth-token-refresh-token',
      handler: 'oauth-token',
      description: 'POST /oauth/token, grant_type=refresh_token, client_secret_post',
      event: http({
        method: 'POST',
        path: '/oauth/token',
        headers: { ...notion, accept: 'application/json' },
        form: {
          grant_type: 'refresh_token',
          refresh_token: 'refresh-token-sample',
          client_id: clientId,
          client_secret: clientSecret,
        },
      }),
    },
    {
      name: 'oauth-revoke',
      handler: 'oauth-revoke',
      description: 'POST /oauth/revoke (RFC 7009), client_secret_basic, a token the service does not know',
      event: http({
        method: 'POST',
        path: '/oauth/revoke',
        headers: { ...notion, authorization: basic, accept: 'application/json' },
        form: { token: 'refresh-token-sample', token_type_hint: 'refresh_token' },
      }),
    },
    {
      name: 'unfurl',
      handler: 'unfurl',
      description: "POST /unfurl: Notion asks for a link's preview",
      event: http({
        method: 'POST',
        path: '/unfurl',
        headers: { ...notion, authorization: unknownBearer },
        body: { uri: taskUri },
      }),
    },
    {
      name: 'unfurl-delete',
      handler: 'unfurl-delete',
      description: 'DELETE /unfurl: a preview was removed from a page',
      event: http({
        method: 'DELETE',
        path: '/unfurl',
        routeKey: 'DELETE /unfurl',
        headers: { ...notion, authorization: unknownBearer },
        body: { uri: taskUri },
      }),
    },
    {
      name: 'deleted-token',
      handler: 'unfurl-delete',
      description: 'DELETE /deleted-token: the user disconnected the integration in Notion',
      event: http({
        method: 'DELETE',
        path: '/deleted-token',
        headers: { ...notion, authorization: unknownBearer },
        body: { access_token: 'access-token-sample', refresh_token: 'refresh-token-sample' },
      }),
    },
    {
      name: 'deleted-token-post',
      handler: 'unfurl-delete',
      description: 'POST /deleted-token: the same callback with a form body',
      event: http({
        method: 'POST',
        path: '/deleted-token',
        headers: notion,
        form: { token: 'access-token-sample', token_type_hint: 'access_token' },
      }),
    },
    {
      name: 'changes',
      handler: 'changes',
      description: 'POST /changes: a change event signed with the local default webhook secret',
      event: http({
        method: 'POST',
        path: '/changes',
        headers: { 'content-type': 'application/json', 'user-agent': 'demo-product/1.0', ...signed },
        body: changeBody,
      }),
    },
    {
      name: 'metadata',
      handler: 'metadata',
      description: 'GET /.well-known/oauth-authorization-server',
      event: http({
        method: 'GET',
        path: '/.well-known/oauth-authorization-server',
        headers: { accept: 'application/json' },
      }),
    },
    {
      name: 'update-worker',
      handler: WORKER_HANDLER,
      description: 'SQS batch for the update worker: one change event',
      event: sqsEvent([
        sqsRecord({
          type: 'change',
          id: 'evt-sample-1',
          resource: 'task:1',
          changed_at: '2026-01-15T12:00:00Z',
          fields: ['status'],
        }),
      ]),
    },
  ];
  // A route without a sample of its own above gets a plain request of its method and path.
  for (const route of ROUTES) {
    const key = routeKey(route);
    if (samples.some((s) => 'routeKey' in s.event && s.event.routeKey === key)) continue;
    const name = `${route.handler}${samples.some((s) => s.name === route.handler) ? `-${route.method.toLowerCase()}` : ''}`;
    samples.push({
      name,
      handler: route.handler,
      description: `${key}: a plain request`,
      event: http({ method: route.method, path: route.path, routeKey: key, headers: notion }),
    });
  }
  return samples;
};

/**
 * Writes the samples into `dir` and returns the file names. With `prune`, JSON
 * files of `dir` that are no sample any more are removed (only for folders the
 * generator owns: events/ and the default output folder).
 */
export const writeSampleEvents = (
  samples: readonly SampleEvent[],
  dir = EVENTS_DIR,
  options: { readonly prune?: boolean } = { prune: true },
): string[] => {
  mkdirSync(dir, { recursive: true });
  const names = new Set(samples.map((s) => `${s.name}.json`));
  if (options.prune) {
    for (const file of readdirSync(dir))
      if (file.endsWith('.json') && file !== 'env.json' && !names.has(file)) rmSync(path.join(dir, file));
  }
  const files: string[] = [];
  for (const sample of samples) {
    const file = `${sample.name}.json`;
    writeFileSync(path.join(dir, file), `${JSON.stringify(sample.event, null, 2)}\n`);
    files.push(file);
  }
  return files;
};

export const CLI = {
  name: 'events',
  usage: [
    'npm run events -- [--out <dir>] [--base-url <url>]',
    'npm run -s events -- --print <name> [--base-url <url>]',
  ],
  description: `Generates the sample Lambda events for sam local invoke (one per route and case, and an SQS
batch for the update worker) from the factories the handler tests use. Writes them to
.local-data/events/ (untracked) unless --out names another folder; the committed samples in
events/ change only with --out events. The POST /changes sample is signed with the local default
webhook secret and is valid for 5 minutes: generate it right before invoking (the committed one in
events/ is signed at a fixed time, so refreshing events/ rewrites only what changed).`,
  options: {
    out: {
      type: 'string',
      value: '<dir>',
      description: 'folder to write the samples to (default .local-data/events; events refreshes the committed ones)',
    },
    'base-url': {
      type: 'string',
      value: '<url>',
      description: 'base URL the service is reached at (default http://127.0.0.1:3000)',
    },
    print: {
      type: 'string',
      value: '<name>',
      description: 'print one sample as JSON on stdout and write nothing (for sam local invoke -e -)',
    },
  },
  examples: [
    'npm run events',
    'sam local invoke -t cdk.out/NotionLinkPreview-dev.template.json ChangesFunction -e .local-data/events/changes.json',
    'npm run -s events -- --print changes | sam local invoke -t cdk.out/NotionLinkPreview-dev.template.json ChangesFunction -e -',
    'npm run events -- --out events    # refresh the committed samples (then commit them)',
  ],
  notes: [
    `Samples: ${sampleEvents({ now: 0 })
      .map((s) => s.name)
      .join(', ')}.`,
  ],
} as const;

export const main = ({ values }: CliArgs<typeof CLI.options>): number => {
  const baseUrl = httpUrl(values['base-url'], '--base-url');
  const dir = values.out === undefined || values.out === '' ? DEFAULT_OUT_DIR : path.resolve(values.out);
  const samples = sampleEvents({
    ...(baseUrl ? { baseUrl } : {}),
    ...(dir === EVENTS_DIR && values.print === undefined ? { now: COMMITTED_SIGNING_TIME } : {}),
  });
  if (values.print !== undefined) {
    if (values.out !== undefined) throw new UsageError('--print writes no file: give --print or --out, not both');
    const sample = samples.find((s) => s.name === values.print);
    if (!sample)
      throw new UsageError(`no sample named ${values.print}; one of ${samples.map((s) => s.name).join(', ')}`);
    process.stdout.write(`${JSON.stringify(sample.event, null, 2)}\n`);
    return 0;
  }
  if (values.out === '') throw new UsageError('--out needs a folder');
  const files = writeSampleEvents(samples, dir, { prune: dir === EVENTS_DIR || dir === DEFAULT_OUT_DIR });
  const shown = path.relative(process.cwd(), dir) || '.';
  for (const [i, sample] of samples.entries()) {
    process.stdout.write(`${path.join(shown, files[i] ?? '')}  ${sample.handler}  ${sample.description}\n`);
  }
  if (dir === EVENTS_DIR)
    process.stderr.write('events: the committed samples in events/ were rewritten; commit them\n');
  return 0;
};

if (isEntryPoint(import.meta.url)) process.exitCode = await runCli(CLI, process.argv.slice(2), main);

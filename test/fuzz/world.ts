/**
 * A complete set of the service's HTTP handlers on in-memory stores, with real
 * middy stacks, real token signing and real encryption, plus the secrets a
 * leak check must never find in a response or a log line.
 *
 * `createWorld()` runs one genuine OAuth round trip (authorize → upstream
 * login → consent → code exchange) so that the fuzzers start from real codes,
 * access tokens and refresh tokens rather than from made-up strings.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import {
  MemoryAuthStateStore,
  MemoryConnectionStore,
  MemorySubscriptionStore,
  MemoryUpdateQueue,
} from '#adapters/memory/index.js';
import { signWebhook } from '#core/changes/verify.js';
import { noCredentials } from '#core/sources/credentials.js';
import type { ResolveOutcome, SourceAdapter } from '#core/sources/source-adapter.js';
import { attr } from '#core/unfurl/attributes.js';
import { separateReads } from '#core/unfurl/reads.js';
import { demoRules } from '#core/unfurl/rules.js';
import { ROUTES, routeKey } from '#lib/routes.js';
import { parseConfig, resetConfig } from '#shared/config.js';
import { hiddenField } from '#test/helpers/consent.js';
import { httpEvent } from '#test/helpers/factories.js';
import {
  authorizeDependencies,
  CLIENT_ID,
  CLIENT_SECRET,
  FakeClock,
  FakeNotion,
  FakeUpstream,
  ISSUER,
  memoryEndings,
  NOTION_REDIRECT,
  tokenDependencies,
  tokenSettings,
} from '#test/unit/oauth/fakes.js';
import { createChangesHandler } from '../../functions/handlers/changes.js';
import { createJwksHandler, jwksDependencies } from '../../functions/handlers/jwks.js';
import { createMetadataHandler, metadataDependencies } from '../../functions/handlers/metadata.js';
import { createAuthorizeHandler, PENDING_COOKIE } from '../../functions/handlers/oauth-authorize.js';
import { createRevokeHandler } from '../../functions/handlers/oauth-revoke.js';
import { createTokenHandler } from '../../functions/handlers/oauth-token.js';
import { createUnfurlHandler } from '../../functions/handlers/unfurl.js';
import { createUnfurlDeleteHandler } from '../../functions/handlers/unfurl-delete.js';

export { CLIENT_ID, CLIENT_SECRET, ISSUER, NOTION_REDIRECT };

export const SIGNING_KEY = 'fuzz-signing-secret-0123456789abcdef-fuzz';
export const WEBHOOK_SECRET = `whsec_${Buffer.from('fuzz-webhook-secret-0123456789ab').toString('base64')}`;
export const PRODUCT_BASE = 'http://127.0.0.1:3000';
/** The settings of the routes composed by their production dependencies. */
const SETTINGS = { PUBLIC_BASE_URL: PRODUCT_BASE, TOKEN_SIGNING_KEY: SIGNING_KEY };
export const TASK_URI = `${PRODUCT_BASE}/demo/tasks/1`;

export type Result = {
  statusCode: number;
  headers?: Record<string, unknown>;
  body?: string;
  cookies?: string[];
};
export type Invoke = (event: APIGatewayProxyEventV2) => Promise<Result>;

const context = {} as Context;

/** A source that always has an answer (the fuzzers probe the service, not a product). */
class FixedSource implements SourceAdapter {
  readonly name = 'fixed';
  async resolve(): Promise<ResolveOutcome> {
    return {
      outcome: 'found',
      model: { title: 'Task', attributes: [attr.enum('status', 'Status', 'Open', { r: 1, g: 2, b: 3 })] },
    };
  }
}

export interface World {
  readonly clock: { now(): number };
  /** Where the demo product's task pages live (the unfurl rules match `<productBase>/demo/tasks/<id>`). */
  readonly productBase: string;
  /** Every route's handler, keyed by route key (`POST /unfurl`). */
  readonly invoke: Readonly<Record<string, Invoke>>;
  /** Secrets and tokens known so far: configured secrets, and every code and token minted. */
  readonly secrets: Set<string>;
  /** Real credentials minted by the round trip. */
  readonly minted: {
    readonly accessToken: string;
    readonly refreshToken: string;
    readonly code: string;
    readonly pendingCookie: string;
    readonly csrf: string;
    readonly pendingId: string;
  };
  /** Signs a body for POST /changes with the configured secret, at a time (ms). */
  sign(body: string, id: string, at: number): Record<string, string>;
  /** Records the tokens a response legitimately carried, so later checks look for them too. */
  learn(result: Result): void;
}

/** Records the tokens a response legitimately carried (a token answer, a redirect to Notion with our code). */
export const learner =
  (secrets: Set<string>) =>
  (result: Result): void => {
    if (result.body?.startsWith('{')) {
      try {
        const body = JSON.parse(result.body) as Record<string, unknown>;
        for (const k of ['access_token', 'refresh_token'])
          if (typeof body[k] === 'string') secrets.add(body[k] as string);
      } catch {
        /* not JSON */
      }
    }
    const location = result.headers?.location;
    if (typeof location === 'string' && location.startsWith(NOTION_REDIRECT)) {
      const c = new URL(location).searchParams.get('code');
      if (c) secrets.add(c);
    }
  };

export const createWorld = async (): Promise<World> => {
  process.env.PUBLIC_BASE_URL = ISSUER;
  resetConfig();
  const clock = new FakeClock(Date.now());
  const authState = new MemoryAuthStateStore();
  const connections = new MemoryConnectionStore();
  const subscriptions = new MemorySubscriptionStore();
  const notion = new FakeNotion();
  const tokens = tokenSettings(SIGNING_KEY);
  const endings = memoryEndings({ subscriptions });
  const authorizeDeps = authorizeDependencies({
    authState,
    connections,
    notion,
    upstream: new FakeUpstream(),
    clock,
    endings,
  });
  const authorize = createAuthorizeHandler(() => authorizeDeps);
  const tokenDeps = tokenDependencies({ authState, connections, clock, endings }, tokens);
  const token = createTokenHandler(() => tokenDeps);
  const revoke = createRevokeHandler(() => ({ ...tokenDeps, endings }));
  const unfurl = createUnfurlHandler(() => ({
    integration: demoRules(PRODUCT_BASE),
    adapter: new FixedSource(),
    reads: separateReads(connections, subscriptions),
    subscriptions,
    tokens,
    clock,
    devName: 'Demo Tasks',
    deadlineMs: 100,
    credentialsFor: () => noCredentials,
  }));
  const unfurlDelete = createUnfurlDeleteHandler(() => ({ connections, subscriptions, tokens, clock, endings }));
  const changes = createChangesHandler(() => ({
    clock,
    secret: async () => WEBHOOK_SECRET,
    markers: authState,
    queue: new MemoryUpdateQueue(),
    uriIsPreviewed: (uri) => uri.startsWith(`${PRODUCT_BASE}/demo/tasks/`),
  }));
  const config = parseConfig(SETTINGS);
  const metadataDeps = metadataDependencies(config);
  const jwksDeps = jwksDependencies(config);
  const wrap =
    (h: (e: APIGatewayProxyEventV2, c: Context) => Promise<unknown>): Invoke =>
    async (event) =>
      (await h(event, context)) as Result;

  const invoke: Record<string, Invoke> = {
    'GET /oauth/authorize': wrap(authorize),
    'GET /oauth/callback': wrap(authorize),
    'POST /oauth/consent': wrap(authorize),
    'POST /oauth/token': wrap(token),
    'POST /oauth/revoke': wrap(revoke),
    'POST /unfurl': wrap(unfurl),
    'DELETE /unfurl': wrap(unfurlDelete),
    'DELETE /deleted-token': wrap(unfurlDelete),
    'POST /deleted-token': wrap(unfurlDelete),
    'POST /changes': wrap(changes),
    // Routes that need no in-memory port are composed by their production dependencies from the settings:
    // a dependency or setting added to one of them needs no change here.
    'GET /.well-known/oauth-authorization-server': wrap(createMetadataHandler(() => metadataDeps)),
    'GET /.well-known/jwks.json': wrap(createJwksHandler(() => jwksDeps)),
  };

  // A route the map above does not name runs its function's production entry module (lib/routes.ts names
  // it), which composes at import: it gets the one setting every function needs.
  for (const route of ROUTES) {
    const key = routeKey(route);
    if (invoke[key]) continue;
    invoke[key] = async (event) => {
      process.env.PUBLIC_BASE_URL ??= PRODUCT_BASE;
      const module = (await import(`../../functions/${route.handler}.ts`)) as { handler: Parameters<typeof wrap>[0] };
      return wrap(module.handler)(event);
    };
  }

  const call = (key: string, event: APIGatewayProxyEventV2): Promise<Result> => {
    const f = invoke[key];
    if (!f) throw new Error(`no handler for ${key}`);
    return f(event);
  };

  const secrets = new Set<string>([CLIENT_SECRET, SIGNING_KEY, WEBHOOK_SECRET, 'upstream-at']);

  /** Starts an authorization for a Notion code and follows the upstream login to our consent page. */
  const toConsentPage = async (forNotionCode: string, state: string) => {
    const start = await call(
      'GET /oauth/authorize',
      httpEvent({
        path: '/oauth/authorize',
        query: {
          client_id: CLIENT_ID,
          redirect_uri: NOTION_REDIRECT,
          response_type: 'code',
          code: forNotionCode,
          state,
        },
      }),
    );
    const cookie =
      start.cookies?.map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith(`${PENDING_COOKIE}=`)) ?? '';
    const upstreamState = new URL(String(start.headers?.location)).searchParams.get('state') ?? '';
    const page = await call(
      'GET /oauth/callback',
      httpEvent({ path: '/oauth/callback', query: { code: 'ok', state: upstreamState }, cookies: [cookie] }),
    );
    return { cookie, page };
  };

  // One genuine round trip: a pending authorization, its consent form, a code, and tokens.
  const notionCode = 'notion-code-fuzz-round-trip';
  secrets.add(`secret_notion_${notionCode}`);
  const { cookie: pendingCookie, page: consentPage } = await toConsentPage(notionCode, 's');
  const pendingId = hiddenField(consentPage.body ?? '', 'pending');
  const csrf = hiddenField(consentPage.body ?? '', 'csrf');
  // The round trip's own consent is granted once; the code it yields is exchanged.
  const allowed = await call(
    'POST /oauth/consent',
    httpEvent({
      method: 'POST',
      path: '/oauth/consent',
      cookies: [pendingCookie],
      form: { pending: pendingId, csrf, decision: 'allow' },
    }),
  );
  const code = new URL(String(allowed.headers?.location)).searchParams.get('code') ?? '';
  // A second pending authorization stays open for the fuzzers to poke at.
  const { cookie: openCookie, page: secondPage } = await toConsentPage(`${notionCode}-2`, 's2');
  secrets.add(`secret_notion_${notionCode}-2`);

  const exchanged = await call(
    'POST /oauth/token',
    httpEvent({
      method: 'POST',
      path: '/oauth/token',
      form: {
        grant_type: 'authorization_code',
        code,
        redirect_uri: NOTION_REDIRECT,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      },
    }),
  );
  const grant = JSON.parse(exchanged.body ?? '{}') as { access_token?: string; refresh_token?: string };
  if (!grant.access_token || !grant.refresh_token || !code || !pendingCookie) {
    throw new Error(`the fuzz world's OAuth round trip failed (token endpoint answered ${exchanged.statusCode})`);
  }
  // The CSRF token and pending id are shown to the holder of the pending cookie by design; codes and tokens never are.
  for (const s of [code, grant.access_token, grant.refresh_token]) secrets.add(s);
  const openPendingId = hiddenField(secondPage.body ?? '', 'pending');
  const openCsrf = hiddenField(secondPage.body ?? '', 'csrf');

  const learn = learner(secrets);

  return {
    clock,
    productBase: PRODUCT_BASE,
    invoke,
    secrets,
    minted: {
      accessToken: grant.access_token,
      refreshToken: grant.refresh_token,
      code,
      pendingCookie: openCookie,
      pendingId: openPendingId,
      csrf: openCsrf,
    },
    sign: (body, id, at) => signWebhook(WEBHOOK_SECRET, id, body, at),
    learn,
  };
};

/**
 * The fuzz world over HTTP: the whole local system (production handler
 * wiring, DynamoDB adapters on dynalite, secrets from settings, the demo
 * product), driven with the same request arbitraries as the in-process
 * suite. Catches what in-memory stores cannot: DynamoDB's own limits (key
 * sizes, item sizes, expression rules) reached through attacker-chosen input.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signWebhook } from '#core/changes/verify.js';
import { ROUTES, routeKey } from '#lib/routes.js';
import { seedGrant } from '#local/seed-grant.js';
import type { LocalSystem } from '#local/system.js';
import { systemRandom } from '#shared/crypto.js';
import { learner, NOTION_REDIRECT, type Result, type World } from './world.js';

/** Settings whose values must never be shown or logged. */
const SECRET_SETTINGS = [
  'OAUTH_CLIENT_SECRET',
  'NOTION_CLIENT_SECRET',
  'OIDC_CLIENT_SECRET',
  'CHANGES_WEBHOOK_SECRET',
  'TOKEN_SIGNING_KEY',
  'NOTION_TOKEN_ENCRYPTION_KEY',
  'AWS_SECRET_ACCESS_KEY',
];

/** Sends an API Gateway v2 event to the local server as the HTTP request it stands for. */
const sendOverHttp =
  (baseUrl: string) =>
  async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(event.headers ?? {})) {
      if (v === undefined || ['host', 'content-length'].includes(k.toLowerCase())) continue;
      try {
        headers.set(k, v);
      } catch {
        /* a header value HTTP cannot carry: a real client could not send it either */
      }
    }
    if (event.cookies?.length) {
      try {
        headers.set('cookie', event.cookies.join('; '));
      } catch {
        /* as above */
      }
    }
    const body =
      event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
    const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
    const method = event.requestContext.http.method;
    const res = await fetch(`${baseUrl}${event.rawPath}${query}`, {
      method,
      headers,
      redirect: 'manual',
      ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
    });
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      out[k] = v;
    });
    return { statusCode: res.status, headers: out, body: await res.text(), cookies: res.headers.getSetCookie() };
  };

export const createHttpWorld = async (system: LocalSystem): Promise<World> => {
  const env = system.env;
  const clientId = env.OAUTH_CLIENT_ID as string;
  const secrets = new Set<string>(SECRET_SETTINGS.map((k) => env[k] ?? '').filter((v) => v.length >= 8));
  const send = sendOverHttp(system.baseUrl);

  // A grant as consent leaves it, exchanged over HTTP.
  const seeded = await seedGrant(system, `fuzz-${systemRandom.token(6)}`);
  for (const s of [seeded.code, seeded.accessToken, seeded.refreshToken]) secrets.add(s);

  // A real pending authorization (its cookie); its consent form needs the IdP login, which the fuzzers do not do.
  const start = await fetch(
    `${system.baseUrl}/oauth/authorize?${new URLSearchParams({
      client_id: clientId,
      redirect_uri: NOTION_REDIRECT,
      response_type: 'code',
      code: `notion-${systemRandom.token(8)}`,
      state: 's',
    })}`,
    { redirect: 'manual' },
  );
  const pendingCookie = start.headers.getSetCookie().map((c) => c.split(';')[0] ?? '')[0] ?? '';
  const pendingId = pendingCookie.split('=')[1] ?? 'none';

  const invoke: Record<string, (event: APIGatewayProxyEventV2) => Promise<Result>> = {};
  for (const r of ROUTES) invoke[routeKey(r)] = send;
  const webhookSecret = env.CHANGES_WEBHOOK_SECRET as string;
  return {
    clock: { now: () => Date.now() },
    productBase: system.baseUrl,
    invoke,
    secrets,
    minted: {
      accessToken: seeded.accessToken,
      refreshToken: seeded.refreshToken,
      code: seeded.code,
      pendingCookie,
      pendingId,
      csrf: systemRandom.token(32),
    },
    sign: (body, webhookId, at) => signWebhook(webhookSecret, webhookId, body, at),
    learn: learner(secrets),
  };
};

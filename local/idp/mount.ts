/**
 * The local upstream OpenID Connect provider: a real oidc-provider instance
 * mounted at /idp (issuer `${baseUrl}/idp`), with the demo accounts of
 * local/demo-users.ts, one confidential client (OIDC_CLIENT_ID /
 * OIDC_CLIENT_SECRET, redirect_uri `${baseUrl}/oauth/callback`), PKCE required,
 * a plain HTML login form (no JavaScript) and consent granted automatically for
 * that first-party client. Local only: never part of a deployed function.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type InteractionDetails, type KoaLikeContext } from 'oidc-provider';
import { escapeHtml } from '#core/html.js';
import { ENV } from '#lib/env-names.js';
import { DEMO_USERS, findDemoUserByLogin, findDemoUserBySubject } from '#local/demo-users.js';
import { readBody } from '#local/http-body.js';
import type { LocalMount, MountFactory } from '#local/mount.js';
import { constantTimeEqual } from '#shared/crypto.js';

const PREFIX = '/idp';
const INTERACTION = `${PREFIX}/interaction/`;

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const loginPage = (uid: string, message: string | undefined, login: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · local identity provider</title>
<style>body{font-family:system-ui,sans-serif;background:#eef1f5;margin:0}main{max-width:22rem;margin:5rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font:inherit}.error{color:#b00020}.muted{color:#666;font-size:.85rem}</style></head>
<body><main>
<h1>Sign in</h1>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="${INTERACTION}${escapeHtml(uid)}/login">
<label for="login">Username</label><input id="login" name="login" autocomplete="username" value="${escapeHtml(login)}" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="muted">Demo accounts: ${DEMO_USERS.map((u) => `${escapeHtml(u.login)} / ${escapeHtml(u.password)}`).join(', ')}.</p>
<p class="muted"><a href="${INTERACTION}${escapeHtml(uid)}/abort">Cancel sign-in</a></p>
</main></body></html>`;

/** Largest login form accepted. */
const MAX_FORM_BYTES = 8192;

const send = (res: ServerResponse, status: number, body: string): void => {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': CSP,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
};

/** oidc-provider's storage for one local process (sessions, grants, codes), with expiry. */
class MemoryAdapter {
  private static readonly store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  constructor(private readonly model: string) {}
  private key(id: string): string {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void> {
    MemoryAdapter.store.set(this.key(id), { payload, expiresAt: Date.now() + expiresIn * 1000 });
    const uid = payload.uid;
    if (typeof uid === 'string')
      MemoryAdapter.store.set(`uid:${uid}`, { payload: { id }, expiresAt: Date.now() + expiresIn * 1000 });
  }
  async find(id: string): Promise<Record<string, unknown> | undefined> {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (!entry || entry.expiresAt < Date.now()) return undefined;
    return entry.payload;
  }
  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    const ref = MemoryAdapter.store.get(`uid:${uid}`);
    return ref ? this.find(String(ref.payload.id)) : undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async consume(id: string): Promise<void> {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    MemoryAdapter.store.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, entry] of MemoryAdapter.store)
      if (entry.payload.grantId === grantId) MemoryAdapter.store.delete(key);
  }
}

/** Options of the local provider (mainly for tests). */
export interface LocalIdpOptions {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly cookieKeys: readonly string[];
  /** Lifetime of its access tokens in seconds (LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS; default 600). */
  readonly accessTokenTtlSeconds?: number;
}

/** Default lifetime of the local provider's access tokens. */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 600;

/** LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS as a number; throws naming the setting when it is not a positive integer. */
export const accessTokenTtlOf = (value: string | undefined): number => {
  if (value === undefined || value.trim() === '') return DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${ENV.LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS} must be a positive integer`);
  return n;
};

export const createLocalProvider = async (options: LocalIdpOptions): Promise<Provider> => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'local-idp-es256', alg: 'ES256', use: 'sig' };
  const provider = new Provider(`${options.baseUrl}${PREFIX}`, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [...options.redirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [...options.cookieKeys] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    adapter: MemoryAdapter,
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
      RefreshToken: 14 * 86_400,
    },
    // Our client gets a refresh token with every login (no offline_access scope needed), and each refresh
    // rotates it: the old one is spent, and using it again revokes the grant (oidc-provider's reuse rule).
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION}${interaction.uid}` },
    findAccount: async (_ctx: unknown, id: string) => {
      const user = findDemoUserBySubject(id);
      if (!user) return undefined;
      return {
        accountId: user.subject,
        claims: async () => ({
          sub: user.subject,
          name: user.name,
          preferred_username: user.login,
          email: user.email,
          email_verified: true,
        }),
      };
    },
    // Consent for our own (first-party) client is granted without asking.
    loadExistingGrant: async (ctx: KoaLikeContext) => {
      const { client, session, result, provider: p } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId) return p.Grant.find(grantId);
      if (client.clientId !== options.clientId) return undefined;
      const grant = new p.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid profile email');
      grant.addOIDCClaims(['name', 'preferred_username', 'email', 'email_verified']);
      await grant.save();
      return grant;
    },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><h1>Sign-in error</h1><p>${escapeHtml(out.error ?? 'error')}: ${escapeHtml(out.error_description ?? '')}</p></body></html>`;
    },
  });
  return provider;
};

const handleInteraction = async (provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> => {
  const path = (req.url ?? '').split('?')[0] ?? '';
  const [uid, action] = path.slice(INTERACTION.length).split('/');
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    send(res, 400, '<!doctype html><title>Sign-in expired</title><h1>Sign-in expired</h1><p>Please start again.</p>');
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, '<!doctype html><title>Sign-in expired</title><h1>Sign-in expired</h1><p>Please start again.</p>');
    return;
  }
  if (req.method === 'GET' && action === 'abort') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (details.prompt.name === 'consent') {
    // Only reached for a client other than ours would be asked; ours is granted in loadExistingGrant.
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'Consent is not available for this client' },
      { mergeWithLastSubmission: true },
    );
    return;
  }
  if (req.method === 'GET' && action === undefined) {
    send(res, 200, loginPage(details.uid, undefined, ''));
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    let form: URLSearchParams;
    try {
      form = new URLSearchParams((await readBody(req, MAX_FORM_BYTES)).toString('utf8'));
    } catch {
      send(res, 413, loginPage(details.uid, 'The form was too large.', ''));
      return;
    }
    const user = findDemoUserByLogin(form.get('login') ?? '');
    if (!user || !constantTimeEqual(form.get('password') ?? '', user.password)) {
      send(res, 401, loginPage(details.uid, 'Unknown username or wrong password.', form.get('login') ?? ''));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.subject } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  send(res, 405, '<!doctype html><title>Not allowed</title><p>Method not allowed.</p>');
};

export const createMount: MountFactory = async (context) => {
  const env = context.env;
  const publicBase = (env[ENV.PUBLIC_BASE_URL] ?? context.baseUrl).replace(/\/+$/, '');
  const redirectUris = [...new Set([`${publicBase}/oauth/callback`, `${context.baseUrl}/oauth/callback`])];
  const cookieKeys = (env[ENV.LOCAL_IDP_COOKIE_KEYS] ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  const provider = await createLocalProvider({
    baseUrl: context.baseUrl,
    clientId: env[ENV.OIDC_CLIENT_ID] ?? 'notion-link-preview-local',
    clientSecret: env[ENV.OIDC_CLIENT_SECRET] ?? 'local-oidc-client-secret',
    redirectUris,
    cookieKeys: cookieKeys.length > 0 ? cookieKeys : ['local-idp-cookie-key-change-me'],
    accessTokenTtlSeconds: accessTokenTtlOf(env[ENV.LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS]),
  });
  const callback = provider.callback();

  const mount: LocalMount = {
    name: 'local OpenID Connect provider',
    prefix: PREFIX,
    urls: [
      { label: 'OpenID Connect provider (issuer)', path: PREFIX },
      { label: 'OpenID Connect discovery', path: `${PREFIX}/.well-known/openid-configuration` },
    ],
    async handle(req, res) {
      const url = req.url ?? '/';
      if (url.startsWith(INTERACTION)) {
        await handleInteraction(provider, req, res);
        return;
      }
      // oidc-provider derives its mount path from originalUrl vs url (as under connect/express).
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      req.url = url.slice(PREFIX.length) || '/';
      if (!req.url.startsWith('/')) req.url = `/${req.url}`;
      await new Promise<void>((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
        callback(req, res);
      });
    },
    health: async () => true,
  };
  return mount;
};

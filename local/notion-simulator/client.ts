/**
 * Notion's client behaviour for one integration (docs/protocol.md §0):
 * match a pasted link and show the placeholder (§1b), run the browser
 * round-trip when the user has no connection (§2.1, §2.4, §2.5), refresh the
 * service's token before it expires (§2.6), call the unfurl callback and render
 * its answer (§3), unfurl again when the page is revisited (§2.7), DELETE the
 * unfurl URL when the last preview of a uri goes (§3.4), and call the Deleted
 * Token Callback on disconnect and, as a variant, on every removed preview (§5.3, §8.2).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ROUTES } from '#lib/routes.js';
import { constantTimeEqual } from '#shared/crypto.js';
import { toCard, validateAttributes, validateOperations } from './attributes.js';
import { matchLink } from './link-rules.js';
import { displayBody } from './protocol-log.js';
import type { ClientSettings } from './settings.js';
import type { Preview, ServiceGrant, Session, TokenFailure, World } from './world.js';
import { isGrant } from './world.js';

const CALL_TIMEOUT_MS = 10_000;
/** How long Notion waits for the user to come back from the service's sign-in. */
const PENDING_TTL_MS = 10 * 60 * 1000;

const pathOf = (field: string, method: string): string => {
  const route = ROUTES.find((r) => r.dashboardField === field && r.method === method);
  if (!route) throw new Error(`no route for ${field}`);
  return route.path;
};

/**
 * The fragment of the playground URL the browser is sent back to after a sign-in: the previews were just
 * unfurled with the new grant, so the page load it causes is not a revisit (playground/app.js skips it).
 */
export const SIGNED_IN_FRAGMENT = '#signed-in';

export interface ServiceUrls {
  readonly authorize: string;
  readonly token: string;
  readonly unfurl: string;
  readonly deletedToken: string;
}

export type PasteResult =
  | { readonly ok: true; readonly preview: Preview; readonly needsAuth: boolean }
  | { readonly ok: false; readonly reason: string };

export type CallbackResult =
  | { readonly ok: true; readonly location: string }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** What the playground and the headless driver see of a session (no tokens). */
export interface SessionView {
  readonly user: { readonly name: string; readonly email: string };
  readonly connected: boolean;
  readonly grant?: { readonly expiresAt: number | null; readonly refreshable: boolean; readonly refreshCount: number };
  readonly notionConnection?: {
    readonly botId: string;
    readonly externalAccount: { readonly key: string; readonly name: string };
  };
  readonly signInPending: boolean;
  /** The user declined the last sign-in: Notion shows Connect but does not prompt by itself. */
  readonly declined: boolean;
  readonly lastAuthError?: string;
  readonly previews: readonly Preview[];
  readonly integration: {
    readonly domain: string;
    readonly rules: readonly string[];
    readonly sampleUrls: readonly string[];
  };
  readonly serviceUrls: ServiceUrls;
  readonly workspace: { readonly name: string };
  readonly protocol: Pick<
    ClientSettings,
    'tokenAuth' | 'unfurlDeleteShape' | 'deletedTokenShape' | 'deletedTokenMethod' | 'deletedTokenOn'
  >;
}

interface CallResult {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
  readonly ok: boolean;
  readonly networkError?: string;
}

export class NotionClient {
  constructor(
    private readonly world: World,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  get urls(): ServiceUrls {
    const base = this.world.settings.client.serviceBaseUrl;
    return {
      authorize: base + pathOf('OAuth Authorize URL', 'GET'),
      token: base + pathOf('OAuth Token URL', 'POST'),
      unfurl: base + pathOf('Unfurl Callback URL', 'POST'),
      deletedToken: base + pathOf('Deleted Token Callback URL', 'DELETE'),
    };
  }

  view(session: Session): SessionView {
    const w = this.world;
    const c = session.notionConnectionId ? w.connections.get(session.notionConnectionId) : undefined;
    return {
      user: { name: session.user.name, email: session.user.email },
      connected: session.grant !== undefined,
      ...(session.grant
        ? {
            grant: {
              expiresAt: session.grant.expiresAt ?? null,
              refreshable: session.grant.refreshToken !== undefined,
              refreshCount: session.grant.refreshCount,
            },
          }
        : {}),
      ...(c && c.revokedAt === undefined
        ? { notionConnection: { botId: c.botId, externalAccount: c.externalAccount } }
        : {}),
      signInPending: session.pending !== undefined,
      declined: session.declinedAt !== undefined,
      ...(session.lastAuthError ? { lastAuthError: session.lastAuthError } : {}),
      previews: session.previews,
      integration: {
        domain: w.integration.domain,
        rules: w.integration.rules.map((r) => r.name),
        sampleUrls: w.integration.rules.flatMap((r) => r.sampleUrls ?? []).slice(0, 6),
      },
      serviceUrls: this.urls,
      workspace: { name: w.workspace.name },
      protocol: {
        tokenAuth: w.settings.client.tokenAuth,
        unfurlDeleteShape: w.settings.client.unfurlDeleteShape,
        deletedTokenShape: w.settings.client.deletedTokenShape,
        deletedTokenMethod: w.settings.client.deletedTokenMethod,
        deletedTokenOn: w.settings.client.deletedTokenOn,
      },
    };
  }

  // -------------------------------------------------------------------------
  // Paste, revisit, remove
  // -------------------------------------------------------------------------

  /** The user pastes a link and chooses "Preview". */
  async paste(session: Session, link: string): Promise<PasteResult> {
    const w = this.world;
    const uri = link.trim();
    const match = matchLink(w.integration, uri);
    if (!match) {
      w.log.add({
        direction: 'note',
        level: 'info',
        sessionId: session.id,
        summary: `No rule of the integration matches ${uri.slice(0, 200)}: it stays a plain link`,
      });
      return {
        ok: false,
        reason: `No URL rule of the integration (domain ${w.integration.domain}) matches this link.`,
      };
    }
    const preview: Preview = {
      id: randomUUID(),
      uri,
      ruleName: match.ruleName,
      state: 'placeholder',
      stale: false,
      unfurls: 0,
      updates: 0,
      updatedAt: w.clock.now(),
    };
    const placeholder = validateAttributes(match.placeholder, {
      requireTitleAndDev: false,
      enforceLimits: w.settings.api.enforceLimits,
    });
    if (placeholder.ok) preview.placeholder = toCard(placeholder.items);
    else preview.placeholderError = `Placeholder attributes rejected: ${placeholder.reason}`;
    session.previews.push(preview);
    w.log.add({
      direction: 'note',
      level: 'info',
      sessionId: session.id,
      summary: `Link matches rule "${match.ruleName}": placeholder shown`,
    });
    w.touch(session.id);
    if (!session.grant) {
      preview.state = 'needs-auth';
      w.touch(session.id);
      return { ok: true, preview, needsAuth: true };
    }
    await this.unfurl(session, preview);
    return { ok: true, preview, needsAuth: session.grant === undefined };
  }

  /** The user opens the page again: Notion unfurls every preview on it again (docs/protocol.md §2.7). */
  async revisit(session: Session): Promise<void> {
    for (const preview of [...session.previews]) {
      if (!session.previews.includes(preview)) continue;
      if (!session.grant) {
        if (!preview.stale && preview.state !== 'card' && preview.state !== 'error') preview.state = 'needs-auth';
        continue;
      }
      await this.unfurl(session, preview);
    }
    this.world.touch(session.id);
  }

  async refreshPreview(session: Session, previewId: string): Promise<boolean> {
    const preview = session.previews.find((p) => p.id === previewId);
    if (!preview) return false;
    if (session.grant) await this.unfurl(session, preview);
    return true;
  }

  /** The user removes a preview; the last one of a uri triggers the unfurl DELETE (docs/protocol.md §3.4). */
  async remove(session: Session, previewId: string): Promise<boolean> {
    const i = session.previews.findIndex((p) => p.id === previewId);
    if (i < 0) return false;
    const [preview] = session.previews.splice(i, 1) as [Preview];
    this.world.touch(session.id);
    const stillShown = session.previews.some((p) => p.uri === preview.uri);
    if (!stillShown && session.grant) {
      const grant = await this.freshGrant(session);
      if (isGrant(grant)) {
        const shape = this.world.settings.client.unfurlDeleteShape;
        const url =
          shape === 'query' ? `${this.urls.unfurl}?${new URLSearchParams({ uri: preview.uri })}` : this.urls.unfurl;
        await this.call(session, 'Unfurl DELETE (last preview of this link removed)', url, {
          method: 'DELETE',
          headers: {
            authorization: `Bearer ${grant.accessToken}`,
            ...(shape === 'json' ? { 'content-type': 'application/json' } : {}),
          },
          ...(shape === 'json' ? { body: JSON.stringify({ uri: preview.uri }) } : {}),
        });
      }
    }
    // docs/protocol.md §5.3 names removing a preview as a cause of the Deleted Token Callback too, §8.2 leaves
    // open which call Notion makes: with remove-and-disconnect it follows every removal. Notion keeps its own
    // side of the connection (the user did not disconnect); what the service does with the call is its own.
    const grant = session.grant;
    if (grant && this.world.settings.client.deletedTokenOn === 'remove-and-disconnect') {
      await this.deletedTokenCallback(session, grant, [preview.uri], 'a preview removed');
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // Connect (the browser round-trip) and disconnect
  // -------------------------------------------------------------------------

  /** Starts the round-trip: a fresh Notion code and state, and the service's authorize URL to send the browser to. */
  startSignIn(session: Session): string {
    const w = this.world;
    const notionCode = randomUUID();
    const state = randomBytes(16).toString('base64url');
    w.addCode(notionCode, session.id);
    session.pending = { state, notionCode, createdAt: w.clock.now() };
    delete session.lastAuthError;
    // Pressing Connect is the user's choice: a decline earlier does not hold it back.
    delete session.declinedAt;
    const params = new URLSearchParams({
      code: notionCode,
      redirect_uri: w.redirectUri,
      client_id: w.serviceClient.clientId,
      response_type: 'code',
      state,
    });
    const scope = w.settings.client.scope;
    if (scope !== '') params.set('scope', scope);
    const location = `${this.urls.authorize}?${params}`;
    w.log.add({
      direction: 'to-service',
      level: 'info',
      sessionId: session.id,
      summary: "Browser sent to the service's OAuth Authorize URL",
      method: 'GET',
      url: location,
    });
    w.touch(session.id);
    return location;
  }

  /** The browser comes back to Notion's redirect_uri (`code` and `state`, or `error`). */
  async callback(session: Session | undefined, query: URLSearchParams): Promise<CallbackResult> {
    const w = this.world;
    const state = query.get('state') ?? '';
    w.log.add({
      direction: 'note',
      level: 'info',
      ...(session ? { sessionId: session.id } : {}),
      summary: "Browser returned to Notion's redirect_uri",
      method: 'GET',
      url: `${w.redirectUri}?${query}`,
    });
    const pending = session?.pending;
    if (!session || !pending || state === '' || !constantTimeEqual(state, pending.state)) {
      const message = 'This sign-in is not the one Notion started (state does not match).';
      w.log.add({
        direction: 'note',
        level: 'error',
        ...(session ? { sessionId: session.id } : {}),
        summary: `Rejected the redirect: ${message}`,
      });
      return { ok: false, status: 400, message };
    }
    delete session.pending;
    if (w.clock.now() - pending.createdAt > PENDING_TTL_MS) {
      return this.authFailed(session, 'The sign-in took longer than 10 minutes; paste the link again.');
    }
    const error = query.get('error');
    if (error !== null) {
      const description = query.get('error_description');
      if (error === 'access_denied') session.declinedAt = w.clock.now();
      return this.authFailed(
        session,
        `The service refused the connection: ${error}${description ? ` (${description})` : ''}`,
      );
    }
    const code = query.get('code');
    if (!code) return this.authFailed(session, 'The service redirected back without a code.');

    const notionCode = w.codes.get(pending.notionCode);
    if (notionCode?.connectionId) session.notionConnectionId = notionCode.connectionId;
    else {
      w.log.add({
        direction: 'note',
        level: 'warn',
        sessionId: session.id,
        summary:
          "The service redirected back without exchanging Notion's code at /v1/oauth/token: it will not be able to push updates",
      });
    }

    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: w.redirectUri });
    const grant = await this.tokenRequest(session, form, 'Token request (authorization_code)');
    if (!isGrant(grant)) return this.authFailed(session, grant.reason);
    session.grant = grant;
    w.touch(session.id);
    for (const preview of [...session.previews]) {
      if (preview.state === 'needs-auth' || preview.state === 'placeholder' || preview.stale) {
        preview.stale = false;
        await this.unfurl(session, preview);
      }
    }
    // The page the browser comes back to must not unfurl them a second time as a revisit (see app.js).
    return { ok: true, location: `${w.baseUrl}/${SIGNED_IN_FRAGMENT}` };
  }

  /** The user disconnects the integration: Notion calls the Deleted Token Callback and forgets both sides (docs/protocol.md §5.3). */
  async disconnect(session: Session): Promise<void> {
    const w = this.world;
    const grant = session.grant;
    if (grant)
      await this.deletedTokenCallback(
        session,
        grant,
        session.previews.map((p) => p.uri),
        'disconnect',
      );
    delete session.grant;
    delete session.pending;
    if (session.notionConnectionId) w.revokeConnection(session.notionConnectionId);
    delete session.notionConnectionId;
    for (const p of session.previews) p.stale = true;
    w.log.add({
      direction: 'note',
      level: 'info',
      sessionId: session.id,
      summary: 'Disconnected: Notion revoked its token; previews no longer update',
    });
    w.touch(session.id);
  }

  /**
   * The Deleted Token Callback in the configured shape and method (docs/protocol.md §5.3): the service's
   * tokens in a JSON or form body, a Bearer header alone, or a Bearer header with `{uri}`, one call per
   * link of `uris` (one empty-bodied call when there is none).
   */
  private async deletedTokenCallback(
    session: Session,
    grant: ServiceGrant,
    uris: readonly string[],
    cause: string,
  ): Promise<void> {
    const { deletedTokenShape: shape, deletedTokenMethod: method } = this.world.settings.client;
    const url = this.urls.deletedToken;
    const label = `Deleted Token Callback (${shape}, ${cause})`;
    if (shape === 'json-tokens') {
      await this.call(session, label, url, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          access_token: grant.accessToken,
          ...(grant.refreshToken ? { refresh_token: grant.refreshToken } : {}),
        }),
      });
    } else if (shape === 'form') {
      const form = new URLSearchParams({ access_token: grant.accessToken });
      if (grant.refreshToken) form.set('refresh_token', grant.refreshToken);
      await this.call(session, label, url, {
        method,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } else if (shape === 'bearer-empty') {
      await this.call(session, label, url, { method, headers: { authorization: `Bearer ${grant.accessToken}` } });
    } else {
      const distinct = [...new Set(uris)];
      for (const uri of distinct.length > 0 ? distinct : [undefined]) {
        await this.call(session, label, url, {
          method,
          headers: { authorization: `Bearer ${grant.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(uri === undefined ? {} : { uri }),
        });
      }
    }
  }

  // -------------------------------------------------------------------------
  // Calls to the service
  // -------------------------------------------------------------------------

  /** POST the unfurl callback and render (or reject) the answer. */
  async unfurl(session: Session, preview: Preview): Promise<void> {
    const w = this.world;
    const fresh = await this.freshGrant(session);
    if (fresh !== undefined && !isGrant(fresh) && fresh.unanswered) {
      this.refreshUnanswered(session, preview, fresh);
      return;
    }
    if (!isGrant(fresh)) {
      preview.state = 'needs-auth';
      w.touch(session.id);
      return;
    }
    let result = await this.postUnfurl(session, preview, fresh);
    if (result.status === 401 && fresh.refreshToken) {
      // Notion's reaction to a 401 is undocumented (docs/protocol.md §8.4); the simulator tries one refresh.
      const next = await this.refresh(session, fresh);
      if (isGrant(next)) result = await this.postUnfurl(session, preview, next);
      else if (next.unanswered) {
        this.refreshUnanswered(session, preview, next);
        return;
      }
    }
    if (!session.previews.includes(preview)) return;
    preview.unfurls += 1;
    preview.updatedAt = w.clock.now();
    delete preview.failure;
    delete preview.validationError;
    if (result.status === 401) {
      delete session.grant;
      preview.state = 'needs-auth';
      preview.failure = 'The service no longer accepts the connection (401): connect again.';
      w.touch(session.id);
      return;
    }
    if (result.networkError || (!result.ok && !hasOperations(result.json))) {
      preview.state = preview.card ? preview.state : 'failed';
      preview.failure = result.networkError ?? `The unfurl callback answered HTTP ${result.status}.`;
      w.touch(session.id);
      return;
    }
    const checked = validateOperations(result.json, { enforceLimits: w.settings.api.enforceLimits, answer: 'unfurl' });
    let reason: string | undefined;
    if (!checked.ok) reason = checked.reason;
    else if (checked.uri !== preview.uri)
      reason = `body.uri: "${checked.uri.slice(0, 200)}" is not the uri Notion asked for`;
    if (reason !== undefined || !checked.ok) {
      preview.validationError = `Unfurl answer rejected: ${reason}`;
      if (!preview.card) preview.state = 'failed';
      w.log.add({
        direction: 'note',
        level: 'error',
        sessionId: session.id,
        summary: `Unfurl answer rejected by validation: ${reason}`,
      });
      w.touch(session.id);
      return;
    }
    if (checked.items) {
      preview.card = toCard(checked.items);
      if (!checked.error) delete preview.error;
    }
    if (checked.error) preview.error = checked.error;
    preview.state = preview.error ? 'error' : 'card';
    preview.stale = false;
    for (const warning of checked.warnings)
      w.log.add({ direction: 'note', level: 'warn', sessionId: session.id, summary: warning });
    w.touch(session.id);
  }

  /** The refresh got no answer: the grant stays for the next call, the preview keeps what it showed. */
  private refreshUnanswered(session: Session, preview: Preview, failure: TokenFailure): void {
    if (!session.previews.includes(preview)) return;
    preview.updatedAt = this.world.clock.now();
    preview.failure = `The service's token could not be refreshed (${failure.reason}); Notion tries again at its next call.`;
    if (!preview.card) preview.state = 'failed';
    this.world.touch(session.id);
  }

  private postUnfurl(session: Session, preview: Preview, grant: ServiceGrant): Promise<CallResult> {
    return this.call(session, 'Unfurl callback', this.urls.unfurl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${grant.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({ uri: preview.uri }),
    });
  }

  /**
   * The session's grant, refreshed first once it has expired (docs/protocol.md §2.6: Notion refreshes when
   * now > last refresh + expires_in, at its next call), or when it expires within the margin if one is set.
   * Undefined: the user has no grant; a failure: the refresh was refused (the grant is gone) or got no
   * answer (the grant stays, refreshed at the next call).
   */
  async freshGrant(session: Session): Promise<ServiceGrant | TokenFailure | undefined> {
    const grant = session.grant;
    if (!grant) return undefined;
    const margin = this.world.settings.client.refreshMarginSeconds * 1000;
    if (grant.expiresAt === undefined || this.world.clock.now() <= grant.expiresAt - margin) return grant;
    return this.refresh(session, grant);
  }

  private refresh(session: Session, grant: ServiceGrant): Promise<ServiceGrant | TokenFailure> {
    if (session.refreshing) return session.refreshing;
    const run = async (): Promise<ServiceGrant | TokenFailure> => {
      if (!grant.refreshToken) {
        delete session.grant;
        session.lastAuthError = "The service's token expired and there is no refresh token: connect again.";
        this.world.touch(session.id);
        return { unanswered: false, reason: session.lastAuthError };
      }
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: grant.refreshToken,
        redirect_uri: this.world.redirectUri,
      });
      const next = await this.tokenRequest(session, form, 'Token request (refresh_token)', grant);
      if (isGrant(next)) session.grant = next;
      // Only a refusal ends the grant; without an answer the same refresh token is tried at the next call.
      else if (!next.unanswered) delete session.grant;
      this.world.touch(session.id);
      return next;
    };
    session.refreshing = run().finally(() => {
      delete session.refreshing;
    });
    return session.refreshing;
  }

  /** Calls the service's token URL, form-encoded, with the configured client authentication (docs/protocol.md §2.5). */
  private async tokenRequest(
    session: Session,
    form: URLSearchParams,
    label: string,
    previous?: ServiceGrant,
  ): Promise<ServiceGrant | TokenFailure> {
    const w = this.world;
    const { clientId, clientSecret } = w.serviceClient;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (w.settings.client.tokenAuth === 'client_secret_basic') {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    const result = await this.call(session, label, this.urls.token, { method: 'POST', headers, body: form.toString() });
    const body = result.json as Record<string, unknown> | undefined;
    const fail = (why: string, unanswered = false): TokenFailure => {
      // A refresh without an answer leaves the user connected: it is no sign-in error.
      if (!(unanswered && previous)) session.lastAuthError = why;
      w.log.add({ direction: 'note', level: 'error', sessionId: session.id, summary: `${label} failed: ${why}` });
      return { unanswered, reason: why };
    };
    if (result.networkError) return fail(result.networkError, true);
    if (!result.ok || typeof body !== 'object' || body === null) {
      const err = typeof body?.error === 'string' ? `${result.status} ${body.error}` : `HTTP ${result.status}`;
      return fail(`the token URL answered ${err}`, result.status >= 500 || result.status === 429);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '')
      return fail('the answer has no access_token');
    const refreshToken =
      typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : previous?.refreshToken;
    const expiresIn = body.expires_in;
    const givenMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : undefined;
    // §2.5: a code exchange that returns a refresh_token must say when the access token expires. §2.6: a
    // refresh answer may leave expires_in (and refresh_token) out; the previous lifetime then still holds,
    // counted from this refresh.
    if (!previous && typeof body.refresh_token === 'string' && givenMs === undefined) {
      return fail('a refresh_token was returned without expires_in (docs/protocol.md §2.5 requires it)');
    }
    const previousMs =
      previous?.expiresAt === undefined ? undefined : Math.max(0, previous.expiresAt - previous.obtainedAt);
    const lifetimeMs = givenMs ?? previousMs;
    const now = w.clock.now();
    return {
      accessToken: body.access_token,
      ...(refreshToken ? { refreshToken } : {}),
      ...(lifetimeMs !== undefined ? { expiresAt: now + lifetimeMs } : {}),
      obtainedAt: now,
      refreshCount: previous ? previous.refreshCount + 1 : 0,
    };
  }

  private authFailed(session: Session, message: string): CallbackResult {
    session.lastAuthError = message;
    for (const p of session.previews) if (p.state === 'placeholder') p.state = 'needs-auth';
    this.world.log.add({ direction: 'note', level: 'error', sessionId: session.id, summary: message });
    this.world.touch(session.id);
    return { ok: true, location: `${this.world.baseUrl}/` };
  }

  /** One HTTP call to the service, logged in both directions with secrets redacted. */
  private async call(
    session: Session,
    label: string,
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
  ): Promise<CallResult> {
    const w = this.world;
    let result: CallResult;
    let responseHeaders: Record<string, string> | undefined;
    try {
      const res = await this.fetchImpl(url, {
        ...init,
        redirect: 'manual',
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      responseHeaders = {};
      for (const name of ['content-type', 'www-authenticate', 'retry-after', 'location']) {
        const v = res.headers.get(name);
        if (v !== null) responseHeaders[name] = v;
      }
      result = { status: res.status, text, json, ok: res.status >= 200 && res.status < 300 };
    } catch (error) {
      result = {
        status: 0,
        text: '',
        json: undefined,
        ok: false,
        networkError: `The call failed: ${(error as Error).message}`,
      };
    }
    w.log.add({
      direction: 'to-service',
      level: result.ok ? 'info' : result.status >= 500 || result.status === 0 ? 'error' : 'warn',
      sessionId: session.id,
      summary: `${label}: ${init.method} → ${result.status === 0 ? 'no answer' : result.status}`,
      method: init.method,
      url,
      ...(result.status ? { status: result.status } : {}),
      request: { headers: init.headers, body: displayBody(init.body, init.headers['content-type']) },
      response: {
        ...(responseHeaders ? { headers: responseHeaders } : {}),
        body: result.json ?? displayBody(result.text, responseHeaders?.['content-type']) ?? result.networkError,
      },
    });
    return result;
  }
}

const hasOperations = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && Array.isArray((v as { operations?: unknown }).operations);

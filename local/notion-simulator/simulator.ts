/**
 * The local Notion simulator: Notion's API under /notion, Notion's client
 * behaviour for one integration, and the playground at / (static page + JSON +
 * Server-Sent Events). One instance serves both mounts.
 *
 * Tests and benchmarks construct it directly (`new NotionSimulator({...})`,
 * or `startNotionSimulator()` for a server of its own) and use the
 * programmatic API: stats, last payloads, codes and connections made without a
 * browser, settings changed at run time, an injectable clock.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeHtml } from '#core/html.js';
import type { Clock } from '#core/ports.js';
import { BodyTooLargeError, readBody } from '#local/http-body.js';
import { parseCookies, serializeCookie } from '#shared/cookies.js';
import { NotionApi } from './api.js';
import type { SessionView } from './client.js';
import { NotionClient } from './client.js';
import { systemClock } from './clock.js';
import { BASE_HEADERS, header, redirect, sendJson, sendText } from './http-util.js';
import type { IntegrationRules } from './link-rules.js';
import { fetchPdf, pdfSources } from './pdf-embed.js';
import type { LogEntry } from './protocol-log.js';
import { ProtocolLog, visibleTo } from './protocol-log.js';
import type { ApiSettings, ClientSettings, FaultSettings, SimulatorSettings } from './settings.js';
import { defaultSettings } from './settings.js';
import type { Credentials, NotionConnection, Preview, Session, Workspace } from './world.js';
import { World } from './world.js';

export const SESSION_COOKIE = 'notion_sim_session';
export const CALLBACK_PATH = '/notion/externalintegrationauthcallback';

const PLAYGROUND_DIR = join(dirname(fileURLToPath(import.meta.url)), 'playground');
const STATIC: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/playground/app.js', { file: 'app.js', type: 'text/javascript; charset=utf-8' }],
  ['/playground/app.css', { file: 'app.css', type: 'text/css; charset=utf-8' }],
]);

/** Strict CSP: our own script and style only; media and embeds from http(s) since the service's data names them. */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  'img-src http: https: data:',
  'media-src http: https:',
  'frame-src http: https:',
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface SimulatorOptions {
  /** Where the simulator is served, e.g. http://127.0.0.1:3000 (redirect_uri and the playground hang off it). */
  readonly baseUrl: string;
  readonly integration: IntegrationRules;
  /** Our integration's credentials at Notion (NOTION_CLIENT_ID / NOTION_CLIENT_SECRET). */
  readonly notionClient: Credentials;
  /** What Notion presents to the service (OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET). */
  readonly serviceClient: Credentials;
  readonly settings?: SimulatorSettings;
  readonly clock?: Clock;
  /** Source of randomness for fault injection, in [0, 1). */
  readonly random?: () => number;
  /** How slow answers wait (default: setTimeout). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
  readonly workspace?: Workspace;
  /** Receives one line per PATCH /v1/external/object received (`pushLogLine`); absent: none. */
  readonly pushLog?: (line: string) => void;
}

export interface SimulatorStats {
  readonly patchCalls: number;
  readonly rateLimited: number;
  readonly byStatus: Readonly<Record<number, number>>;
  readonly connections: ReadonlyArray<{
    readonly connectionId: string;
    readonly botId: string;
    readonly externalAccountKey: string;
    readonly calls: number;
    readonly rateLimited: number;
    readonly byStatus: Readonly<Record<number, number>>;
  }>;
}

export interface SettingsPatch {
  readonly api?: Partial<Omit<ApiSettings, 'faults'>> & { readonly faults?: Partial<FaultSettings> };
  readonly client?: Partial<ClientSettings>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class NotionSimulator {
  readonly world: World;
  readonly api: NotionApi;
  readonly client: NotionClient;
  readonly log: ProtocolLog;
  private readonly streams = new Set<{ sessionId: string; res: ServerResponse }>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onSession: (sessionId: string) => void;
  private readonly onEntry: (entry: LogEntry) => void;
  private readonly fetchImpl: typeof fetch;

  constructor(options: SimulatorOptions) {
    const clock = options.clock ?? systemClock;
    const baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.log = new ProtocolLog(clock);
    this.world = new World(
      clock,
      this.log,
      options.settings ?? defaultSettings(baseUrl),
      options.integration,
      options.notionClient,
      options.serviceClient,
      options.workspace ?? { id: randomUUID(), name: 'Acme Workspace (simulated)', icon: null },
      baseUrl,
    );
    this.api = new NotionApi(this.world, options.random ?? Math.random, options.sleep ?? defaultSleep, options.pushLog);
    this.fetchImpl = options.fetch ?? fetch;
    this.client = new NotionClient(this.world, this.fetchImpl);
    this.onSession = (sessionId) => this.pushState(sessionId);
    this.onEntry = (entry) => this.pushLog(entry);
    this.world.events.on('session', this.onSession);
    this.log.on('entry', this.onEntry);
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) s.res.write(': keep-alive\n\n');
    }, 15_000);
    this.heartbeat.unref();
  }

  get baseUrl(): string {
    return this.world.baseUrl;
  }

  get settings(): SimulatorSettings {
    return this.world.settings;
  }

  // -------------------------------------------------------------------------
  // Programmatic API (tests, benchmarks)
  // -------------------------------------------------------------------------

  /** Changes settings at run time (rate limits, faults, protocol shapes). Rate windows restart. */
  configure(patch: SettingsPatch): SimulatorSettings {
    const current = this.world.settings;
    this.world.settings = {
      api: { ...current.api, ...patch.api, faults: { ...current.api.faults, ...patch.api?.faults } },
      client: { ...current.client, ...patch.client },
    };
    if (patch.api) this.api.reconfigure();
    return this.world.settings;
  }

  stats(): SimulatorStats {
    const counters = this.api.counters();
    return {
      ...counters,
      connections: [...this.world.connections.values()].map((c) => {
        const s = this.world.stats.get(c.id);
        return {
          connectionId: c.id,
          botId: c.botId,
          externalAccountKey: c.externalAccount.key,
          calls: s?.calls ?? 0,
          rateLimited: s?.rateLimited ?? 0,
          byStatus: { ...s?.byStatus },
        };
      }),
    };
  }

  resetStats(): void {
    this.api.resetCounters();
    this.world.lastPayloadByUri.clear();
  }

  /** The body of the last accepted PATCH for a uri. */
  lastPayload(uri: string): unknown {
    return this.world.lastPayloadByUri.get(uri);
  }

  /** A Notion code as the authorize step would carry it, bound to a new headless user (or the given session). */
  issueCode(sessionId?: string): string {
    const session = (sessionId ? this.world.sessions.get(sessionId) : undefined) ?? this.world.createSession(true);
    const code = randomUUID();
    this.world.addCode(code, session.id);
    return code;
  }

  /** A Notion connection made without a browser (as if the service had exchanged a code for this account). */
  createConnection(externalAccount: { key: string; name?: string }): {
    connectionId: string;
    accessToken: string;
    botId: string;
    sessionId: string;
  } {
    const session = this.world.createSession(true);
    const c = this.api.connect(session.id, {
      key: externalAccount.key,
      name: externalAccount.name ?? externalAccount.key,
    });
    session.notionConnectionId = c.id;
    return { connectionId: c.id, accessToken: c.accessToken, botId: c.botId, sessionId: session.id };
  }

  /** Puts a preview of `uri` on the page of the connection's user, so that PATCHes for it are accepted. */
  addPreview(connectionId: string, uri: string): Preview {
    const c = this.world.connections.get(connectionId);
    if (!c) throw new Error('unknown connection');
    const session = this.world.sessions.get(c.sessionId);
    if (!session) throw new Error('connection without user');
    const preview: Preview = {
      id: randomUUID(),
      uri,
      ruleName: '',
      state: 'card',
      stale: false,
      unfurls: 0,
      updates: 0,
      updatedAt: this.world.clock.now(),
    };
    session.previews.push(preview);
    return preview;
  }

  /** Removes every preview of `uri` of the connection's user (PATCHes then answer 404). */
  removePreviews(connectionId: string, uri: string): void {
    const c = this.world.connections.get(connectionId);
    const session = c ? this.world.sessions.get(c.sessionId) : undefined;
    if (!session) return;
    for (let i = session.previews.length - 1; i >= 0; i -= 1)
      if (session.previews[i]?.uri === uri) session.previews.splice(i, 1);
  }

  /** Revokes a connection on Notion's side (PATCHes then answer 401). */
  revokeConnection(connectionId: string): void {
    this.world.revokeConnection(connectionId);
  }

  /**
   * Expires the connection's access token on Notion's side (PATCHes then answer 401) while its refresh
   * token stays valid: a service that refreshes gets a new pair and pushes again. False when there was no
   * live access token to expire.
   */
  expireAccessToken(connectionId: string): boolean {
    return this.world.expireAccessToken(connectionId);
  }

  connection(connectionId: string): NotionConnection | undefined {
    return this.world.connections.get(connectionId);
  }

  connectionByExternalKey(key: string): NotionConnection | undefined {
    return [...this.world.connections.values()].find((c) => c.revokedAt === undefined && c.externalAccount.key === key);
  }

  /** A headless Notion user (the driver uses the cookie instead). */
  createSession(): Session {
    return this.world.createSession(true);
  }

  session(sessionId: string): Session | undefined {
    return this.world.sessions.get(sessionId);
  }

  view(sessionId: string): SessionView | undefined {
    const s = this.world.sessions.get(sessionId);
    return s ? this.client.view(s) : undefined;
  }

  /** Resolves with the first log entry (already logged or future) that satisfies `predicate`. */
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs = 10_000): Promise<LogEntry> {
    const found = this.log.all().find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onEntry = (entry: LogEntry) => {
        if (!predicate(entry)) return;
        cleanup();
        resolve(entry);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error('timed out waiting for a protocol log entry'));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.log.off('entry', onEntry);
      };
      this.log.on('entry', onEntry);
    });
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.world.events.off('session', this.onSession);
    this.log.off('entry', this.onEntry);
    for (const s of this.streams) s.res.end();
    this.streams.clear();
  }

  // -------------------------------------------------------------------------
  // HTTP: /notion/* (API and Notion's redirect_uri)
  // -------------------------------------------------------------------------

  async handleNotion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', this.baseUrl);
      if (url.pathname.toLowerCase() === CALLBACK_PATH && req.method === 'HEAD') {
        // HEAD is safe (RFC 9110 §9.2.1): a link checker or prefetch must not spend the service's code.
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end();
        return;
      }
      if (url.pathname.toLowerCase() === CALLBACK_PATH && req.method === 'GET') {
        const session = this.sessionFromCookie(req);
        const result = await this.client.callback(session, url.searchParams);
        if (result.ok) redirect(res, result.location);
        else this.errorPage(res, result.status, result.message);
        return;
      }
      if (await this.api.handle(req, res, url.pathname)) return;
      sendJson(res, 400, {
        object: 'error',
        status: 400,
        code: 'invalid_request_url',
        message: 'Invalid request URL.',
        request_id: randomUUID(),
      });
    } catch (error) {
      this.fail(res, error);
    }
  }

  // -------------------------------------------------------------------------
  // HTTP: the playground at /
  // -------------------------------------------------------------------------

  /** Whether a path belongs to the playground (its pages, assets and /playground/ API). */
  ownsPlaygroundPath(path: string): boolean {
    return STATIC.has(path) || path.startsWith('/playground/');
  }

  async handlePlayground(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', this.baseUrl);
      const method = req.method ?? 'GET';
      const path = url.pathname;
      const asset = STATIC.get(path);
      if (asset && (method === 'GET' || method === 'HEAD')) {
        const cookie = path === '/' ? this.ensureSession(req).cookie : undefined;
        const body = await readFile(join(PLAYGROUND_DIR, asset.file), 'utf8');
        sendText(res, 200, asset.type, body, {
          'content-security-policy': PLAYGROUND_CSP,
          'x-frame-options': 'DENY',
          ...(cookie ? { 'set-cookie': cookie } : {}),
        });
        return;
      }
      if (!path.startsWith('/playground/')) {
        sendText(res, 404, 'text/plain; charset=utf-8', 'Not found');
        return;
      }
      const { session, cookie } = this.ensureSession(req);
      const extra: Record<string, string> = cookie ? { 'set-cookie': cookie } : {};
      if (method === 'GET' && path === '/playground/state') {
        sendJson(res, 200, this.client.view(session), extra);
        return;
      }
      if (method === 'GET' && path === '/playground/events') {
        this.openStream(session, res, extra);
        return;
      }
      const pdf = /^\/playground\/previews\/([\w-]{1,64})\/pdf$/.exec(path);
      if (pdf && (method === 'GET' || method === 'HEAD')) {
        await this.servePdf(session, pdf[1] as string, url.searchParams.get('src'), res, extra);
        return;
      }
      if (method !== 'POST') {
        sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, POST', ...extra });
        return;
      }
      const problem = this.checkPost(req);
      if (problem) {
        sendJson(res, 403, { error: problem }, extra);
        return;
      }
      let parsed: unknown;
      try {
        const raw = (await readBody(req, 64 * 1024)).toString('utf8');
        parsed = raw === '' ? {} : JSON.parse(raw);
      } catch (error) {
        if (error instanceof BodyTooLargeError) sendJson(res, 413, { error: 'the body is larger than 64 KB' }, extra);
        else sendJson(res, 400, { error: 'invalid JSON body' }, extra);
        return;
      }
      if (!isObject(parsed)) {
        sendJson(res, 400, { error: 'the body must be a JSON object' }, extra);
        return;
      }
      const body = parsed;
      await this.playgroundAction(session, path, body, res, extra);
    } catch (error) {
      this.fail(res, error);
    }
  }

  private async playgroundAction(
    session: Session,
    path: string,
    body: Record<string, unknown>,
    res: ServerResponse,
    extra: Record<string, string>,
  ): Promise<void> {
    const view = () => this.client.view(session);
    if (path === '/playground/previews') {
      if (typeof body.url !== 'string' || body.url.trim() === '') {
        sendJson(res, 400, { error: 'url is required' }, extra);
        return;
      }
      const result = await this.client.paste(session, body.url);
      if (!result.ok) sendJson(res, 422, { error: result.reason, state: view() }, extra);
      else sendJson(res, 200, { previewId: result.preview.id, needsAuth: result.needsAuth, state: view() }, extra);
      return;
    }
    if (path === '/playground/connect') {
      sendJson(res, 200, { location: this.client.startSignIn(session) }, extra);
      return;
    }
    if (path === '/playground/revisit') {
      await this.client.revisit(session);
      sendJson(res, 200, { state: view() }, extra);
      return;
    }
    if (path === '/playground/disconnect') {
      await this.client.disconnect(session);
      sendJson(res, 200, { state: view() }, extra);
      return;
    }
    if (path === '/playground/settings') {
      const picked = body.client === undefined ? {} : pickClientSettings(body.client);
      if (typeof picked === 'string') {
        sendJson(res, 400, { error: picked }, extra);
        return;
      }
      this.configure({ client: picked });
      sendJson(res, 200, { settings: this.world.settings.client }, extra);
      return;
    }
    const m = /^\/playground\/previews\/([\w-]{1,64})\/(remove|refresh)$/.exec(path);
    if (m) {
      const [, id, action] = m as unknown as [string, string, string];
      const found =
        action === 'remove' ? await this.client.remove(session, id) : await this.client.refreshPreview(session, id);
      sendJson(res, found ? 200 : 404, { state: view() }, extra);
      return;
    }
    sendJson(res, 404, { error: 'not found' }, extra);
  }

  /**
   * GET /playground/previews/<id>/pdf?src=<url>: the bytes of a `pdf` embed that preview shows,
   * checked to be a PDF, so that the playground can frame it without a sandbox (pdf-embed.ts).
   * Only a source the session's own preview names is fetched: this is not an open proxy.
   */
  private async servePdf(
    session: Session,
    previewId: string,
    src: string | null,
    res: ServerResponse,
    extra: Record<string, string>,
  ): Promise<void> {
    const preview = session.previews.find((p) => p.id === previewId);
    if (!preview || src === null || !pdfSources(preview).includes(src)) {
      sendText(res, 404, 'text/plain; charset=utf-8', 'This preview shows no such PDF.', extra);
      return;
    }
    const result = await fetchPdf(this.fetchImpl, src);
    if (!result.ok) {
      sendText(res, result.status, 'text/plain; charset=utf-8', `The PDF cannot be shown: ${result.reason}.`, {
        ...extra,
        'content-security-policy': "default-src 'none'",
      });
      return;
    }
    res.writeHead(200, {
      ...BASE_HEADERS,
      ...extra,
      'content-type': 'application/pdf',
      'content-length': String(result.body.length),
      'content-disposition': 'inline',
      'x-frame-options': 'SAMEORIGIN',
    });
    res.end(res.req.method === 'HEAD' ? undefined : result.body);
  }

  /** Same-origin JSON posts only: a cross-site form cannot send application/json without a preflight. */
  private checkPost(req: IncomingMessage): string | undefined {
    const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') return 'content-type must be application/json';
    const origin = header(req, 'origin');
    if (origin !== undefined && origin !== new URL(this.baseUrl).origin) return 'cross-origin request refused';
    return undefined;
  }

  private sessionFromCookie(req: IncomingMessage): Session | undefined {
    const id = parseCookies(header(req, 'cookie'))[SESSION_COOKIE];
    return id ? this.world.sessions.get(id) : undefined;
  }

  private ensureSession(req: IncomingMessage): { session: Session; cookie?: string } {
    const existing = this.sessionFromCookie(req);
    if (existing) return { session: existing };
    const session = this.world.createSession(false);
    return {
      session,
      cookie: serializeCookie(SESSION_COOKIE, session.id, { path: '/', httpOnly: true, sameSite: 'Lax' }),
    };
  }

  private openStream(session: Session, res: ServerResponse, extra: Record<string, string>): void {
    res.writeHead(200, {
      ...BASE_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      ...extra,
    });
    const stream = { sessionId: session.id, res };
    this.streams.add(stream);
    res.on('close', () => this.streams.delete(stream));
    res.write(`event: state\ndata: ${JSON.stringify(this.client.view(session))}\n\n`);
    res.write(`event: log-reset\ndata: ${JSON.stringify(this.log.forSession(session.id))}\n\n`);
  }

  private pushState(sessionId: string): void {
    const session = this.world.sessions.get(sessionId);
    if (!session) return;
    let data: string | undefined;
    for (const s of this.streams) {
      if (s.sessionId !== sessionId) continue;
      data ??= JSON.stringify(this.client.view(session));
      s.res.write(`event: state\ndata: ${data}\n\n`);
    }
  }

  private pushLog(entry: LogEntry): void {
    let data: string | undefined;
    for (const s of this.streams) {
      if (!visibleTo(entry, s.sessionId)) continue;
      data ??= JSON.stringify(entry);
      s.res.write(`event: log\ndata: ${data}\n\n`);
    }
  }

  private errorPage(res: ServerResponse, status: number, message: string): void {
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Notion (simulated)</title></head><body><h1>Something went wrong</h1><p>${escapeHtml(message)}</p><p><a href="/">Back to the playground</a></p></body></html>`;
    sendText(res, status, 'text/html; charset=utf-8', body, {
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    });
  }

  private fail(res: ServerResponse, error: unknown): void {
    this.log.add({ direction: 'note', level: 'error', summary: `Simulator error: ${(error as Error).message}` });
    if (!res.headersSent)
      sendJson(res, 500, {
        object: 'error',
        status: 500,
        code: 'internal_server_error',
        message: 'Internal error.',
        request_id: randomUUID(),
      });
    else res.end();
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The values each client setting of the playground may take. */
const CLIENT_SETTING_VALUES: { readonly [K in keyof ClientSettings]?: readonly ClientSettings[K][] } = {
  tokenAuth: ['client_secret_post', 'client_secret_basic'],
  unfurlDeleteShape: ['json', 'query'],
  deletedTokenShape: ['json-tokens', 'bearer-empty', 'bearer-uri', 'form'],
  deletedTokenMethod: ['DELETE', 'POST'],
  deletedTokenOn: ['disconnect', 'remove-and-disconnect'],
};

/** The settings a `client` object names, or what is wrong with it (a field it does not know is ignored). */
const pickClientSettings = (input: unknown): Partial<ClientSettings> | string => {
  if (!isObject(input)) return 'client must be a JSON object';
  const out: Record<string, unknown> = {};
  for (const [name, allowed] of Object.entries(CLIENT_SETTING_VALUES) as [string, readonly unknown[]][]) {
    if (!Object.hasOwn(input, name)) continue;
    const value = input[name];
    if (!allowed.includes(value)) return `client.${name} must be one of ${allowed.join(', ')}`;
    out[name] = value;
  }
  return out as Partial<ClientSettings>;
};

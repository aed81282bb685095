/**
 * Notion's public API as the service sees it (docs/protocol.md §6):
 * `POST /v1/oauth/token` (§2.3, §6.6) and `PATCH /v1/external/object` (§5.1),
 * with `Notion-Version` checks (§6.2), rate limits (§6.3), the error object
 * (§6.4) and fault injection for tests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody } from '#local/http-body.js';
import { constantTimeEqual } from '#shared/crypto.js';
import { toCard, validateOperations } from './attributes.js';
import { header, sendJson } from './http-util.js';
import { displayBody } from './protocol-log.js';
import { FixedWindowLimiter } from './rate-limiter.js';
import type { NotionConnection, World } from './world.js';

/** `Notion-Version` values Notion has documented (docs/protocol.md §6.2). */
export const KNOWN_NOTION_VERSIONS: readonly string[] = [
  '2021-05-13',
  '2021-05-11',
  '2021-08-16',
  '2022-02-22',
  '2022-06-28',
  '2025-09-03',
  '2026-03-11',
];

/** Notion's one-time code lives 10 minutes (docs/protocol.md §2.1). */
export const NOTION_CODE_TTL_MS = 10 * 60 * 1000;
/** Request bodies up to 500 KB (docs/protocol.md §6.5). */
export const MAX_REQUEST_BYTES = 500 * 1024;

const RATE_REASON = {
  connection: 'public_api_request_rate_limit',
  workspace: 'public_api_space_request_rate_limit',
  blocked: 'public_api_request_blocked',
} as const;

export interface NotionErrorBody {
  readonly object: 'error';
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly request_id: string;
  readonly additional_data?: Record<string, unknown>;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

const errorAnswer = (
  status: number,
  code: string,
  message: string,
  additional?: Record<string, unknown>,
  headers?: Record<string, string>,
): Answer => ({
  status,
  body: {
    object: 'error',
    status,
    code,
    message,
    request_id: randomUUID(),
    ...(additional ? { additional_data: additional } : {}),
  } satisfies NotionErrorBody,
  ...(headers ? { headers } : {}),
});

/**
 * The line logged per push received, e.g.
 * `PATCH /v1/external/object uri=http://127.0.0.1:3000/demo/tasks/1 bot=… → 200`:
 * the object's uri without its query string or fragment (they may carry
 * secrets), the connection's bot id (not a secret), the status. Never a token.
 */
export const pushLogLine = (raw: string, status: number, botId?: string): string => {
  let uri = '-';
  try {
    const body: unknown = JSON.parse(raw);
    const u = typeof body === 'object' && body !== null ? (body as { uri?: unknown }).uri : undefined;
    if (typeof u === 'string' && u !== '')
      uri = (u.split(/[?#]/, 1)[0] ?? '')
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
        .replace(/[\u0000-\u001f\u007f\s]/g, '')
        .slice(0, 200);
  } catch {
    // Not JSON: the uri stays unknown.
  }
  return `PATCH /v1/external/object uri=${uri || '-'}${botId ? ` bot=${botId}` : ''} → ${status}`;
};

/**
 * The answer to a request whose `Notion-Version` is missing (400 `missing_version`) or not a version Notion
 * has (400 `validation_error`), on every endpoint of the API (docs/protocol.md §6.2); undefined when it is good.
 */
const versionProblem = (req: IncomingMessage): Answer | undefined => {
  const version = header(req, 'notion-version');
  if (!version)
    return errorAnswer(
      400,
      'missing_version',
      'Notion-Version header failed validation: Notion-Version header should be defined.',
    );
  if (!KNOWN_NOTION_VERSIONS.includes(version))
    return errorAnswer(
      400,
      'validation_error',
      `Notion-Version header failed validation: "${version.slice(0, 40)}" is not a supported version.`,
    );
  return undefined;
};

const notionToken = (): string => `ntn_${randomBytes(24).toString('base64url')}`;

export class NotionApi {
  readonly connectionLimiter: FixedWindowLimiter;
  readonly workspaceLimiter: FixedWindowLimiter;
  private patchCalls = 0;
  private rateLimitedCalls = 0;
  private readonly byStatus: Record<number, number> = {};

  constructor(
    private readonly world: World,
    private readonly random: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly pushLog?: (line: string) => void,
  ) {
    const api = world.settings.api;
    this.connectionLimiter = new FixedWindowLimiter(world.clock, api.rateLimit, api.rateWindowSeconds * 1000);
    this.workspaceLimiter = new FixedWindowLimiter(
      world.clock,
      api.workspaceRateLimit,
      api.workspaceRateWindowSeconds * 1000,
    );
  }

  /** Re-reads the limits after the settings changed. */
  reconfigure(): void {
    const api = this.world.settings.api;
    this.connectionLimiter.configure(api.rateLimit, api.rateWindowSeconds * 1000);
    this.workspaceLimiter.configure(api.workspaceRateLimit, api.workspaceRateWindowSeconds * 1000);
  }

  /** Serves /notion/v1/*; returns false when the path is not part of the API. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    const started = { method, url: path };
    let raw = '';
    let tooLarge = false;
    let answer: Answer;
    let connection: NotionConnection | undefined;
    /** The Notion user the call concerns; its log entry is shown to that user only. */
    let sessionId: string | undefined;
    if (path === '/notion/v1/oauth/token' || path === '/notion/v1/external/object') {
      try {
        // The limit is in bytes, as sent; the text's length would count a multi-byte character once.
        raw = (await readBody(req, MAX_REQUEST_BYTES)).toString('utf8');
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        tooLarge = true;
      }
    }
    if (path === '/notion/v1/oauth/token') {
      if (method === 'POST') {
        const result = this.token(req, raw, tooLarge);
        answer = result.answer;
        sessionId = result.sessionId;
      } else answer = errorAnswer(400, 'invalid_request_url', 'Invalid request URL.');
    } else if (path === '/notion/v1/external/object') {
      if (method !== 'PATCH') answer = errorAnswer(400, 'invalid_request_url', 'Invalid request URL.');
      else {
        const result = await this.patch(req, raw, tooLarge);
        answer = result.answer;
        connection = result.connection;
        sessionId = connection?.sessionId ?? this.formerOwner(req);
      }
    } else if (path.startsWith('/notion/v1/')) {
      answer = errorAnswer(400, 'invalid_request_url', 'Invalid request URL.');
    } else {
      return false;
    }
    sendJson(res, answer.status, answer.body, answer.headers ?? {});
    if (this.pushLog && path === '/notion/v1/external/object' && method === 'PATCH') {
      try {
        this.pushLog(pushLogLine(raw, answer.status, connection?.botId));
      } catch {
        // A failing logger never fails a push.
      }
    }
    const requestHeaders: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'notion-version']) {
      const v = header(req, name);
      if (v !== undefined) requestHeaders[name] = v;
    }
    this.world.log.add({
      direction: 'to-notion',
      level: answer.status >= 500 ? 'error' : answer.status >= 400 ? 'warn' : 'info',
      summary: `${method} ${path.replace(/^\/notion/, '')} → ${answer.status}`,
      ...started,
      status: answer.status,
      ...(sessionId !== undefined ? { sessionId } : {}),
      request: { headers: requestHeaders, body: displayBody(raw, header(req, 'content-type')) },
      response: { ...(answer.headers ? { headers: answer.headers } : {}), body: answer.body },
    });
    // docs/protocol.md §2.3, §6.1: request bodies are JSON with `Content-Type: application/json`. What Notion
    // answers to another type is undocumented, so the call is served as sent and the log says what is wrong.
    const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if ((method === 'POST' || method === 'PATCH') && raw !== '' && type !== 'application/json') {
      this.world.log.add({
        direction: 'note',
        level: 'warn',
        ...(sessionId !== undefined ? { sessionId } : {}),
        summary: `${method} ${path.replace(/^\/notion/, '')} sent with Content-Type ${type ? `"${type.slice(0, 60)}"` : 'missing'}, not application/json (docs/protocol.md §6.1); Notion's answer to that is undocumented`,
      });
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // POST /v1/oauth/token
  // -------------------------------------------------------------------------

  /** The token exchange's answer, and the user whose code or connection it concerns (for the log). */
  private token(req: IncomingMessage, raw: string, tooLarge: boolean): { answer: Answer; sessionId?: string } {
    const body = this.parseTokenBody(raw);
    const answer = this.tokenAnswer(req, raw, tooLarge, body);
    return { answer, ...this.tokenOwner(body) };
  }

  private parseTokenBody(raw: string): Record<string, unknown> | undefined {
    try {
      const body: unknown = JSON.parse(raw);
      return typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** The session of the code (authorization_code) or of the connection (refresh_token) a token request names. */
  private tokenOwner(body: Record<string, unknown> | undefined): { sessionId?: string } {
    const w = this.world;
    if (typeof body?.code === 'string') {
      const code = w.codes.get(body.code);
      if (code) return { sessionId: code.sessionId };
    }
    if (typeof body?.refresh_token === 'string') {
      const id = w.refreshTokens.get(body.refresh_token) ?? w.retiredTokens.get(body.refresh_token);
      const c = id === undefined ? undefined : w.connections.get(id);
      if (c) return { sessionId: c.sessionId };
    }
    return {};
  }

  /** The session of the connection a bearer token belonged to before it was replaced or revoked. */
  private formerOwner(req: IncomingMessage): string | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
    const id = m ? (this.world.tokens.get(m[1] as string) ?? this.world.retiredTokens.get(m[1] as string)) : undefined;
    return id === undefined ? undefined : this.world.connections.get(id)?.sessionId;
  }

  private tokenAnswer(
    req: IncomingMessage,
    raw: string,
    tooLarge: boolean,
    parsed: Record<string, unknown> | undefined,
  ): Answer {
    const badVersion = versionProblem(req);
    if (badVersion) return badVersion;
    const auth = header(req, 'authorization') ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
    let id = '';
    let secret = '';
    if (m) {
      const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0) {
        id = decoded.slice(0, i);
        secret = decoded.slice(i + 1);
      }
    }
    const { clientId, clientSecret } = this.world.notionClient;
    if (!m || !constantTimeEqual(id, clientId) || !constantTimeEqual(secret, clientSecret)) {
      return errorAnswer(401, 'unauthorized', 'API token is invalid.');
    }
    if (tooLarge) return errorAnswer(400, 'validation_error', 'Request body too large (limit 500 KB).');
    if (!parsed) {
      try {
        JSON.parse(raw);
      } catch {
        return errorAnswer(400, 'invalid_json', 'Error parsing JSON body.');
      }
      return errorAnswer(400, 'validation_error', 'body failed validation: body should be an object.');
    }
    const b = parsed;
    if (b.grant_type === 'refresh_token') return this.refresh(b);
    if (b.grant_type !== 'authorization_code') {
      return errorAnswer(
        400,
        'validation_error',
        'body failed validation: body.grant_type should be "authorization_code" or "refresh_token".',
      );
    }
    if (typeof b.code !== 'string' || b.code === '')
      return errorAnswer(400, 'validation_error', 'body failed validation: body.code should be a string.');
    const ext = b.external_account;
    if (typeof ext !== 'object' || ext === null || Array.isArray(ext)) {
      return errorAnswer(
        400,
        'validation_error',
        'body failed validation: body.external_account should be an object with key and name.',
      );
    }
    const { key, name } = ext as Record<string, unknown>;
    if (typeof key !== 'string' || key.trim() === '')
      return errorAnswer(
        400,
        'validation_error',
        'body failed validation: body.external_account.key should be a non-empty string.',
      );
    if (typeof name !== 'string')
      return errorAnswer(
        400,
        'validation_error',
        'body failed validation: body.external_account.name should be a string.',
      );

    const now = this.world.clock.now();
    const code = this.world.codes.get(b.code);
    if (!code || code.usedAt !== undefined || now - code.createdAt > NOTION_CODE_TTL_MS || now < code.createdAt) {
      return errorAnswer(400, 'invalid_grant', 'Invalid code: this code has expired, been used, or was never issued.');
    }
    code.usedAt = now;
    const connection = this.connect(code.sessionId, { key, name });
    code.connectionId = connection.id;
    const session = this.world.sessions.get(code.sessionId);
    const user = session?.user;
    const ws = this.world.workspace;
    return {
      status: 200,
      body: {
        access_token: connection.accessToken,
        token_type: 'bearer',
        bot_id: connection.botId,
        workspace_id: ws.id,
        workspace_name: ws.name,
        workspace_icon: ws.icon,
        owner: user
          ? {
              type: 'user',
              user: {
                object: 'user',
                id: user.id,
                name: user.name,
                avatar_url: null,
                type: 'person',
                person: { email: user.email },
              },
            }
          : { type: 'workspace', workspace: true },
        duplicated_template_id: null,
        refresh_token: connection.refreshToken ?? null,
        request_id: randomUUID(),
      },
    };
  }

  /**
   * Creates the connection for an external account, or replaces the one that
   * account already has in this workspace (same key: one connection, new token).
   */
  connect(sessionId: string, externalAccount: { key: string; name: string }): NotionConnection {
    const w = this.world;
    const existing = [...w.connections.values()].find(
      (c) =>
        c.revokedAt === undefined && c.workspaceId === w.workspace.id && c.externalAccount.key === externalAccount.key,
    );
    const accessToken = notionToken();
    const refreshToken = w.settings.api.issueRefreshToken ? notionToken() : undefined;
    let connection: NotionConnection;
    if (existing) {
      w.retireToken(existing.accessToken, existing.id);
      if (existing.refreshToken) {
        w.refreshTokens.delete(existing.refreshToken);
        w.retireToken(existing.refreshToken, existing.id);
      }
      existing.accessToken = accessToken;
      delete existing.accessTokenExpiredAt;
      if (refreshToken) existing.refreshToken = refreshToken;
      else delete existing.refreshToken;
      existing.externalAccount = externalAccount;
      const previous = w.sessions.get(existing.sessionId);
      if (previous && previous.id !== sessionId && previous.notionConnectionId === existing.id)
        delete previous.notionConnectionId;
      existing.sessionId = sessionId;
      existing.replacedCount += 1;
      connection = existing;
    } else {
      connection = {
        id: randomUUID(),
        botId: randomUUID(),
        workspaceId: w.workspace.id,
        accessToken,
        ...(refreshToken ? { refreshToken } : {}),
        externalAccount,
        sessionId,
        createdAt: w.clock.now(),
        replacedCount: 0,
      };
      w.connections.set(connection.id, connection);
    }
    w.tokens.set(accessToken, connection.id);
    if (refreshToken) w.refreshTokens.set(refreshToken, connection.id);
    return connection;
  }

  private refresh(b: Record<string, unknown>): Answer {
    const w = this.world;
    const id = typeof b.refresh_token === 'string' ? w.refreshTokens.get(b.refresh_token) : undefined;
    const c = id === undefined ? undefined : w.connections.get(id);
    if (!c || c.revokedAt !== undefined || c.refreshToken !== b.refresh_token) {
      return errorAnswer(400, 'invalid_grant', 'Invalid refresh token.');
    }
    w.retireToken(c.accessToken, c.id);
    w.refreshTokens.delete(b.refresh_token as string);
    w.retireToken(b.refresh_token as string, c.id);
    c.accessToken = notionToken();
    delete c.accessTokenExpiredAt;
    c.refreshToken = notionToken();
    w.tokens.set(c.accessToken, c.id);
    w.refreshTokens.set(c.refreshToken, c.id);
    const ws = w.workspace;
    return {
      status: 200,
      body: {
        access_token: c.accessToken,
        token_type: 'bearer',
        bot_id: c.botId,
        workspace_id: ws.id,
        workspace_name: ws.name,
        workspace_icon: ws.icon,
        owner: { type: 'workspace', workspace: true },
        duplicated_template_id: null,
        refresh_token: c.refreshToken,
        request_id: randomUUID(),
      },
    };
  }

  // -------------------------------------------------------------------------
  // PATCH /v1/external/object
  // -------------------------------------------------------------------------

  private async patch(
    req: IncomingMessage,
    raw: string,
    tooLarge: boolean,
  ): Promise<{ answer: Answer; connection?: NotionConnection }> {
    this.patchCalls += 1;
    const result = await this.patchInner(req, raw, tooLarge);
    this.byStatus[result.answer.status] = (this.byStatus[result.answer.status] ?? 0) + 1;
    if (result.answer.status === 429) this.rateLimitedCalls += 1;
    if (result.connection) {
      const s = this.world.statsFor(result.connection.id);
      s.calls += 1;
      s.byStatus[result.answer.status] = (s.byStatus[result.answer.status] ?? 0) + 1;
      if (result.answer.status === 429) s.rateLimited += 1;
    }
    return result;
  }

  private async patchInner(
    req: IncomingMessage,
    raw: string,
    tooLarge: boolean,
  ): Promise<{ answer: Answer; connection?: NotionConnection }> {
    const w = this.world;
    const api = w.settings.api;
    const badVersion = versionProblem(req);
    if (badVersion) return { answer: badVersion };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
    const connection = m ? w.connectionByToken(m[1] as string) : undefined;
    if (!connection) return { answer: errorAnswer(401, 'unauthorized', 'API token is invalid.') };

    if (api.faults.blocked) {
      return {
        connection,
        answer: errorAnswer(429, 'rate_limited', 'This integration is blocked from making requests.', {
          rate_limit_reason: RATE_REASON.blocked,
        }),
      };
    }
    const own = this.connectionLimiter.peek(connection.id);
    if (!own.allowed) return { connection, answer: this.rateLimited(own.retryAfterSeconds, RATE_REASON.connection) };
    if (api.workspaceRateLimit > 0) {
      const ws = this.workspaceLimiter.peek(connection.workspaceId);
      if (!ws.allowed) return { connection, answer: this.rateLimited(ws.retryAfterSeconds, RATE_REASON.workspace) };
      this.workspaceLimiter.take(connection.workspaceId);
    }
    this.connectionLimiter.take(connection.id);

    const { faults } = api;
    if (faults.slowRate > 0 && this.random() < faults.slowRate) await this.sleep(faults.slowMs);
    const roll = this.random();
    if (roll < faults.overloadRate) {
      return {
        connection,
        answer: errorAnswer(
          529,
          'service_overload',
          'Notion is unavailable due to high load. Please try again later.',
          undefined,
          { 'retry-after': '1' },
        ),
      };
    }
    if (roll < faults.overloadRate + faults.unavailableRate) {
      const unavailable = errorAnswer(503, 'service_unavailable', 'Notion is unavailable. Please try again later.');
      // docs/protocol.md §6.3: a write answered 503 may already have been applied. With the setting on, the
      // update is taken as any other (a valid one shows on the card) and the answer is the 503 all the same.
      if (faults.unavailableApplied) this.applyUpdate(connection, raw, tooLarge);
      return { connection, answer: unavailable };
    }
    return { connection, answer: this.applyUpdate(connection, raw, tooLarge) };
  }

  /** Validates an update and, when valid and previewed, shows it on the previews of its uri (docs/protocol.md §5.1). */
  private applyUpdate(connection: NotionConnection, raw: string, tooLarge: boolean): Answer {
    const w = this.world;
    const api = w.settings.api;
    if (tooLarge) return errorAnswer(400, 'validation_error', 'Request body too large (limit 500 KB).');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return errorAnswer(400, 'invalid_json', 'Error parsing JSON body.');
    }
    const session = w.sessions.get(connection.sessionId);
    const uri = typeof body === 'object' && body !== null ? (body as { uri?: unknown }).uri : undefined;
    const previews = session && typeof uri === 'string' ? session.previews.filter((p) => p.uri === uri) : [];
    const result = validateOperations(body, { enforceLimits: api.enforceLimits, answer: 'update' });
    if (!result.ok) {
      for (const p of previews) {
        p.validationError = `Update rejected: ${result.reason}`;
        p.updatedAt = w.clock.now();
      }
      if (session && previews.length > 0) w.touch(session.id);
      w.log.add({
        direction: 'note',
        level: 'error',
        sessionId: connection.sessionId,
        summary: `Update rejected by validation: ${result.reason}`,
      });
      return errorAnswer(400, 'validation_error', result.reason);
    }
    if (previews.length === 0 || !session) {
      return errorAnswer(
        404,
        'object_not_found',
        `Could not find external object with uri: ${result.uri.slice(0, 200)}.`,
      );
    }
    const now = w.clock.now();
    for (const p of previews) {
      if (result.items) {
        p.card = toCard(result.items);
        if (!result.error) delete p.error;
      }
      if (result.error) p.error = result.error;
      p.state = p.error ? 'error' : 'card';
      delete p.validationError;
      delete p.failure;
      p.updates += 1;
      p.updatedAt = now;
    }
    w.lastPayloadByUri.set(result.uri, body);
    w.touch(session.id);
    for (const warning of result.warnings)
      w.log.add({ direction: 'note', level: 'warn', sessionId: session.id, summary: warning });
    return { status: 200, body: { object: 'external_object', uri: result.uri, request_id: randomUUID() } };
  }

  private rateLimited(retryAfter: number, reason: string): Answer {
    return errorAnswer(
      429,
      'rate_limited',
      'You have been rate limited. Please try again in a few minutes.',
      { rate_limit_reason: reason, retry_after: String(retryAfter) },
      { 'retry-after': String(retryAfter) },
    );
  }

  /** Counters for tests and benchmarks. */
  counters(): { patchCalls: number; rateLimited: number; byStatus: Readonly<Record<number, number>> } {
    return { patchCalls: this.patchCalls, rateLimited: this.rateLimitedCalls, byStatus: { ...this.byStatus } };
  }

  resetCounters(): void {
    this.patchCalls = 0;
    this.rateLimitedCalls = 0;
    for (const k of Object.keys(this.byStatus)) delete this.byStatus[Number(k)];
    this.world.stats.clear();
  }
}

/**
 * The simulated Notion's state: one workspace, its users (one per browser
 * session of the playground, or created by tests), the integration's
 * connections, Notion's one-time codes, and the previews on each user's page.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock } from '#core/ports.js';
import type { CardModel } from './attributes.js';
import type { IntegrationRules } from './link-rules.js';
import type { ProtocolLog } from './protocol-log.js';
import type { SimulatorSettings } from './settings.js';

export interface NotionUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

/** Our service's tokens, as Notion holds them for one user. */
export interface ServiceGrant {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Epoch ms when the access token expires (absent: long-lived). */
  readonly expiresAt?: number;
  readonly obtainedAt: number;
  readonly refreshCount: number;
}

/**
 * Why a request to the service's token URL gave no grant. `unanswered`: no answer, a 5xx or a 429, which says
 * nothing about the code or refresh token (RFC 6749 §5.2 errors are 4xx), so a refresh is tried again at the
 * next call; otherwise the service refused it.
 */
export interface TokenFailure {
  readonly unanswered: boolean;
  readonly reason: string;
}

export const isGrant = (v: ServiceGrant | TokenFailure | undefined): v is ServiceGrant =>
  v !== undefined && 'accessToken' in v;

export type PreviewState =
  /** Placeholder shown, waiting for the unfurl callback. */
  | 'placeholder'
  /** No connection: the user has to connect (sign in) first. */
  | 'needs-auth'
  | 'card'
  /** The service answered with an error operation. */
  | 'error'
  /** The service's answer was rejected (validation error) or the call failed. */
  | 'failed';

export interface Preview {
  readonly id: string;
  readonly uri: string;
  readonly ruleName: string;
  state: PreviewState;
  placeholder?: CardModel;
  placeholderError?: string;
  card?: CardModel;
  error?: { readonly status: number; readonly message: string };
  /** Why the last answer or update was rejected, shown instead of rendering it. */
  validationError?: string;
  /** Why the last call to the service failed (network, HTTP status). */
  failure?: string;
  /** True once the connection was removed: the preview no longer updates. */
  stale: boolean;
  unfurls: number;
  updates: number;
  updatedAt: number;
}

export interface Session {
  readonly id: string;
  readonly user: NotionUser;
  readonly previews: Preview[];
  grant?: ServiceGrant;
  /** The Notion connection created by the service's code exchange in this user's round-trip. */
  notionConnectionId?: string;
  pending?: { readonly state: string; readonly notionCode: string; readonly createdAt: number };
  /** A refresh in flight, shared so that concurrent calls do not replay a rotating refresh token. */
  refreshing?: Promise<ServiceGrant | TokenFailure>;
  lastAuthError?: string;
  /**
   * When the user last declined at the service's consent page. Notion does not prompt this user
   * by itself again ("never nag twice"); pressing Connect is the user's own choice and starts a new
   * sign-in at once.
   */
  declinedAt?: number;
  readonly headless: boolean;
}

export interface NotionCode {
  readonly code: string;
  readonly sessionId: string;
  readonly createdAt: number;
  usedAt?: number;
  connectionId?: string;
}

export interface NotionConnection {
  readonly id: string;
  readonly botId: string;
  readonly workspaceId: string;
  accessToken: string;
  refreshToken?: string;
  externalAccount: { readonly key: string; readonly name: string };
  sessionId: string;
  readonly createdAt: number;
  replacedCount: number;
  revokedAt?: number;
  /** When `expireAccessToken` made the access token stop working (a new one from a refresh or reconnect clears it). */
  accessTokenExpiredAt?: number;
}

export interface ConnectionStats {
  calls: number;
  rateLimited: number;
  byStatus: Record<number, number>;
}

export interface Credentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly icon: string | null;
}

const MAX_RETIRED_TOKENS = 10_000;

const FIRST_NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Radia'];

export class World {
  readonly sessions = new Map<string, Session>();
  readonly codes = new Map<string, NotionCode>();
  readonly connections = new Map<string, NotionConnection>();
  readonly tokens = new Map<string, string>();
  readonly refreshTokens = new Map<string, string>();
  /** Tokens no longer valid (replaced, rotated, revoked) → their connection, so late calls are logged for its user. */
  readonly retiredTokens = new Map<string, string>();
  readonly stats = new Map<string, ConnectionStats>();
  readonly lastPayloadByUri = new Map<string, unknown>();
  /** Emits 'session' with a session id whenever what that user sees changed. */
  readonly events = new EventEmitter().setMaxListeners(0);
  /** Users created so far (numbers the next one); kept with the world's state (persistence.ts). */
  userCount = 0;

  constructor(
    readonly clock: Clock,
    readonly log: ProtocolLog,
    public settings: SimulatorSettings,
    readonly integration: IntegrationRules,
    /** Our integration's credentials at Notion (NOTION_CLIENT_ID / NOTION_CLIENT_SECRET). */
    readonly notionClient: Credentials,
    /** The credentials Notion presents to the service (OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET). */
    readonly serviceClient: Credentials,
    readonly workspace: Workspace,
    /** Where the simulator is served, e.g. http://127.0.0.1:3000 */
    readonly baseUrl: string,
  ) {}

  /** Notion's redirect target for the service's authorize step. */
  get redirectUri(): string {
    return `${this.baseUrl}/notion/externalintegrationauthcallback`;
  }

  createSession(headless = false): Session {
    this.userCount += 1;
    const first = FIRST_NAMES[(this.userCount - 1) % FIRST_NAMES.length] as string;
    const id = randomUUID();
    const session: Session = {
      id,
      user: {
        id: randomUUID(),
        name: `${first} (Notion user ${this.userCount})`,
        email: `${first.toLowerCase()}.${this.userCount}@notion.local`,
      },
      previews: [],
      headless,
    };
    this.sessions.set(id, session);
    return session;
  }

  /** Records a new Notion code, forgetting codes past their 10 minutes now and then. */
  addCode(code: string, sessionId: string): void {
    const now = this.clock.now();
    if (this.codes.size >= 1000) {
      for (const [k, c] of this.codes) if (now - c.createdAt > 10 * 60 * 1000) this.codes.delete(k);
    }
    this.codes.set(code, { code, sessionId, createdAt: now });
  }

  touch(sessionId: string): void {
    this.events.emit('session', sessionId);
  }

  connectionByToken(token: string): NotionConnection | undefined {
    const id = this.tokens.get(token);
    const c = id === undefined ? undefined : this.connections.get(id);
    return c && c.revokedAt === undefined && c.accessToken === token ? c : undefined;
  }

  statsFor(connectionId: string): ConnectionStats {
    let s = this.stats.get(connectionId);
    if (!s) {
      s = { calls: 0, rateLimited: 0, byStatus: {} };
      this.stats.set(connectionId, s);
    }
    return s;
  }

  revokeConnection(connectionId: string): void {
    const c = this.connections.get(connectionId);
    if (!c || c.revokedAt !== undefined) return;
    c.revokedAt = this.clock.now();
    this.retireToken(c.accessToken, c.id);
    if (c.refreshToken) {
      this.refreshTokens.delete(c.refreshToken);
      this.retireToken(c.refreshToken, c.id);
    }
  }

  /**
   * Expires a connection's access token (PATCHes with it answer 401 `unauthorized`) and keeps its refresh
   * token valid, so a `refresh_token` grant gets a new pair (docs/protocol.md §6.6).
   */
  expireAccessToken(connectionId: string): boolean {
    const c = this.connections.get(connectionId);
    if (!c || c.revokedAt !== undefined || !this.tokens.has(c.accessToken)) return false;
    this.retireToken(c.accessToken, c.id);
    c.accessTokenExpiredAt = this.clock.now();
    return true;
  }

  /** Invalidates an access token (or remembers a refresh token) and keeps who owned it, the oldest forgotten first. */
  retireToken(token: string, connectionId: string): void {
    this.tokens.delete(token);
    this.retiredTokens.set(token, connectionId);
    if (this.retiredTokens.size > MAX_RETIRED_TOKENS) {
      const oldest = this.retiredTokens.keys().next().value;
      if (oldest !== undefined) this.retiredTokens.delete(oldest);
    }
  }
}

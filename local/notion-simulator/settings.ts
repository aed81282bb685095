/**
 * Settings of the local Notion simulator. Local-only: read from the effective
 * environment of the local runtime (defaults in local/defaults.ts), never by a
 * deployed function.
 */
import { z } from 'zod';
import { ENV } from '#lib/env-names.js';

/** Where Notion sends the `uri` of an unfurl DELETE (docs/protocol.md §3.4: undocumented). */
export type UnfurlDeleteShape = 'json' | 'query';
/** What the Deleted Token Callback carries (docs/protocol.md §5.3: undocumented candidates). */
export type DeletedTokenShape = 'json-tokens' | 'bearer-empty' | 'bearer-uri' | 'form';
/**
 * When Notion calls the Deleted Token Callback (docs/protocol.md §5.3 says "when a user removes a Link Preview
 * from a page or disconnects"; §8.2: which call removing a preview makes is unclear): on disconnect only, or
 * also on every removal of a preview (after the unfurl DELETE when it was the last of its link).
 */
export type DeletedTokenOn = 'disconnect' | 'remove-and-disconnect';
/** How Notion authenticates at our token URL (docs/protocol.md §2.5: documented post; basic as a variant). */
export type TokenAuthMethod = 'client_secret_post' | 'client_secret_basic';

export interface FaultSettings {
  /** Share (0..1) of PATCH calls answered 529 service_overload. */
  readonly overloadRate: number;
  /** Share (0..1) of PATCH calls answered 503 service_unavailable. */
  readonly unavailableRate: number;
  /** Share (0..1) of PATCH calls answered only after `slowMs`. */
  readonly slowRate: number;
  readonly slowMs: number;
  /** Every PATCH answered 429 with rate_limit_reason public_api_request_blocked. */
  readonly blocked: boolean;
  /**
   * A 503 fault applies a valid update before it answers (docs/protocol.md §6.3: a write answered 503 may
   * already have been applied); false: it is answered without looking at the update.
   */
  readonly unavailableApplied: boolean;
}

export interface ApiSettings {
  /** Requests per window and connection (docs/protocol.md §6.3: 180 per 60 s, 600 on Business/Enterprise). */
  readonly rateLimit: number;
  readonly rateWindowSeconds: number;
  /** Requests per window for the whole workspace, 0 = off. */
  readonly workspaceRateLimit: number;
  readonly workspaceRateWindowSeconds: number;
  /** Reject text values and URLs over 2,000 characters (UTF-16 code units, `length`) and more than 100 attributes (docs/protocol.md §6.5, guessed to apply). */
  readonly enforceLimits: boolean;
  /** Return a Notion refresh token from /v1/oauth/token (docs/protocol.md §6.6: the link-preview guide says long-lived, so null by default). */
  readonly issueRefreshToken: boolean;
  readonly faults: FaultSettings;
}

export interface ClientSettings {
  /** The service Notion talks to (authorize, token, unfurl and deleted-token URLs hang off it). */
  readonly serviceBaseUrl: string;
  readonly scope: string;
  readonly tokenAuth: TokenAuthMethod;
  readonly unfurlDeleteShape: UnfurlDeleteShape;
  readonly deletedTokenShape: DeletedTokenShape;
  readonly deletedTokenMethod: 'DELETE' | 'POST';
  readonly deletedTokenOn: DeletedTokenOn;
  /** Refresh our access token this many seconds before it expires (0, the default: once it has, as Notion does, §2.6). */
  readonly refreshMarginSeconds: number;
}

export interface SimulatorSettings {
  readonly api: ApiSettings;
  readonly client: ClientSettings;
}

/** Names of the simulator's settings (also listed in lib/env-names.ts). */
export const SIM_ENV = {
  RATE_LIMIT: ENV.NOTION_SIM_RATE_LIMIT,
  RATE_WINDOW_SECONDS: ENV.NOTION_SIM_RATE_WINDOW_SECONDS,
  WORKSPACE_RATE_LIMIT: ENV.NOTION_SIM_WORKSPACE_RATE_LIMIT,
  WORKSPACE_RATE_WINDOW_SECONDS: ENV.NOTION_SIM_WORKSPACE_RATE_WINDOW_SECONDS,
  ENFORCE_LIMITS: ENV.NOTION_SIM_ENFORCE_LIMITS,
  ISSUE_REFRESH_TOKEN: ENV.NOTION_SIM_ISSUE_REFRESH_TOKEN,
  FAULT_529_RATE: ENV.NOTION_SIM_FAULT_529_RATE,
  FAULT_503_RATE: ENV.NOTION_SIM_FAULT_503_RATE,
  FAULT_503_APPLIED: ENV.NOTION_SIM_FAULT_503_APPLIED,
  FAULT_SLOW_RATE: ENV.NOTION_SIM_FAULT_SLOW_RATE,
  FAULT_SLOW_MS: ENV.NOTION_SIM_FAULT_SLOW_MS,
  BLOCKED: ENV.NOTION_SIM_BLOCKED,
  SERVICE_BASE_URL: ENV.NOTION_SIM_SERVICE_BASE_URL,
  SCOPE: ENV.NOTION_SIM_SCOPE,
  TOKEN_AUTH: ENV.NOTION_SIM_TOKEN_AUTH,
  UNFURL_DELETE_SHAPE: ENV.NOTION_SIM_UNFURL_DELETE_SHAPE,
  DELETED_TOKEN_SHAPE: ENV.NOTION_SIM_DELETED_TOKEN_SHAPE,
  DELETED_TOKEN_METHOD: ENV.NOTION_SIM_DELETED_TOKEN_METHOD,
  DELETED_TOKEN_ON: ENV.NOTION_SIM_DELETED_TOKEN_ON,
  REFRESH_MARGIN_SECONDS: ENV.NOTION_SIM_REFRESH_MARGIN_SECONDS,
} as const;

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const int = (min: number, fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().min(min).default(fallback));
const share = z.preprocess(blankToUndefined, z.coerce.number().min(0).max(1).default(0));
const bool = (fallback: boolean) =>
  z
    .preprocess(blankToUndefined, z.enum(['true', 'false', '1', '0']).default(fallback ? 'true' : 'false'))
    .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  [SIM_ENV.RATE_LIMIT]: int(1, 180),
  [SIM_ENV.RATE_WINDOW_SECONDS]: int(1, 60),
  [SIM_ENV.WORKSPACE_RATE_LIMIT]: int(0, 0),
  [SIM_ENV.WORKSPACE_RATE_WINDOW_SECONDS]: int(1, 60),
  [SIM_ENV.ENFORCE_LIMITS]: bool(true),
  [SIM_ENV.ISSUE_REFRESH_TOKEN]: bool(false),
  [SIM_ENV.FAULT_529_RATE]: share,
  [SIM_ENV.FAULT_503_RATE]: share,
  [SIM_ENV.FAULT_503_APPLIED]: bool(false),
  [SIM_ENV.FAULT_SLOW_RATE]: share,
  [SIM_ENV.FAULT_SLOW_MS]: int(0, 3000),
  [SIM_ENV.BLOCKED]: bool(false),
  [SIM_ENV.SERVICE_BASE_URL]: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/ }).optional()),
  [SIM_ENV.SCOPE]: z.string().default('unfurl'),
  [SIM_ENV.TOKEN_AUTH]: z.preprocess(
    blankToUndefined,
    z.enum(['client_secret_post', 'client_secret_basic']).default('client_secret_post'),
  ),
  [SIM_ENV.UNFURL_DELETE_SHAPE]: z.preprocess(blankToUndefined, z.enum(['json', 'query']).default('json')),
  [SIM_ENV.DELETED_TOKEN_SHAPE]: z.preprocess(
    blankToUndefined,
    z.enum(['json-tokens', 'bearer-empty', 'bearer-uri', 'form']).default('json-tokens'),
  ),
  [SIM_ENV.DELETED_TOKEN_METHOD]: z.preprocess(blankToUndefined, z.enum(['DELETE', 'POST']).default('DELETE')),
  [SIM_ENV.DELETED_TOKEN_ON]: z.preprocess(
    blankToUndefined,
    z.enum(['disconnect', 'remove-and-disconnect']).default('disconnect'),
  ),
  [SIM_ENV.REFRESH_MARGIN_SECONDS]: int(0, 0),
});

/** Parses the simulator's settings; `baseUrl` is where the local server listens. */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>, baseUrl: string): SimulatorSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid Notion simulator settings: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    api: {
      rateLimit: e[SIM_ENV.RATE_LIMIT],
      rateWindowSeconds: e[SIM_ENV.RATE_WINDOW_SECONDS],
      workspaceRateLimit: e[SIM_ENV.WORKSPACE_RATE_LIMIT],
      workspaceRateWindowSeconds: e[SIM_ENV.WORKSPACE_RATE_WINDOW_SECONDS],
      enforceLimits: e[SIM_ENV.ENFORCE_LIMITS],
      issueRefreshToken: e[SIM_ENV.ISSUE_REFRESH_TOKEN],
      faults: {
        overloadRate: e[SIM_ENV.FAULT_529_RATE],
        unavailableRate: e[SIM_ENV.FAULT_503_RATE],
        slowRate: e[SIM_ENV.FAULT_SLOW_RATE],
        slowMs: e[SIM_ENV.FAULT_SLOW_MS],
        blocked: e[SIM_ENV.BLOCKED],
        unavailableApplied: e[SIM_ENV.FAULT_503_APPLIED],
      },
    },
    client: {
      serviceBaseUrl: (e[SIM_ENV.SERVICE_BASE_URL] ?? baseUrl).replace(/\/+$/, ''),
      scope: e[SIM_ENV.SCOPE],
      tokenAuth: e[SIM_ENV.TOKEN_AUTH],
      unfurlDeleteShape: e[SIM_ENV.UNFURL_DELETE_SHAPE],
      deletedTokenShape: e[SIM_ENV.DELETED_TOKEN_SHAPE],
      deletedTokenMethod: e[SIM_ENV.DELETED_TOKEN_METHOD],
      deletedTokenOn: e[SIM_ENV.DELETED_TOKEN_ON],
      refreshMarginSeconds: e[SIM_ENV.REFRESH_MARGIN_SECONDS],
    },
  };
}

/** The defaults, for tests and programmatic use. */
export const defaultSettings = (baseUrl: string): SimulatorSettings => settingsFromEnv({}, baseUrl);

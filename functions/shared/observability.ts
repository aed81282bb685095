/**
 * Logger and metrics singletons (Powertools). Every log line passes through the
 * redacting JSON replacer, so no token, code or secret reaches a log; a logged
 * error's stack is shown in source positions (./source-positions.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { redactingReplacer } from './redact.js';
import { mapErrorStack } from './source-positions.js';

/** The stack names the stage in it (lib/constructs/dashboard.ts serviceNameOf); locally it is the bare name. */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME?.trim() || 'notion-link-preview';

/** The logger's JSON replacer: secrets redacted, and a logged error's stack in source positions. */
export const logReplacer = (key: string, value: unknown): unknown => {
  if (value instanceof Error) mapErrorStack(value);
  return redactingReplacer(key, value);
};

export const logger = new Logger({
  serviceName,
  logLevel: (process.env.LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
  jsonReplacerFn: logReplacer,
});

/** A log port of the domain code (e.g. the OAuth flows' `log`), written through the logger. */
export const logTo = (
  level: 'debug' | 'info' | 'warn',
  message: string,
  details: Readonly<Record<string, unknown>>,
): void => logger[level](message, { ...details });

export const metrics = new Metrics({ serviceName, namespace: 'NotionLinkPreview' });

/**
 * Custom metric names (namespace `NotionLinkPreview`, unit Count). Dimensions
 * are named beside each; docs/observability.md lists them for dashboards.
 */
export const METRIC = {
  /** POST /unfurl answers, dimension `outcome` (the unfurl core's outcome). */
  unfurlOutcome: 'UnfurlOutcome',
  /** Answers from Notion's API, dimensions `operation` (`oauth_token` | `oauth_refresh` | `patch_external_object`) and `status` (HTTP status, or `network`). */
  notionResponse: 'NotionResponse',
  /** POST /oauth/token grants issued, dimension `grant_type`. */
  tokenGranted: 'TokenGranted',
  /** POST /oauth/token errors, dimension `error` (RFC 6749 error code). */
  tokenError: 'TokenError',
  /** Pushes deferred because a connection's or workspace's budget was spent (no dimension). */
  rateLimitWait: 'RateLimitWait',
  /** Messages the worker moved to the dead-letter queue, dimension `reason`. */
  deadLettered: 'DeadLettered',
  /** Change events merged into an already open coalescing window (no dimension). */
  changeCoalesced: 'ChangeCoalesced',
  /**
   * A callback Notion must not take as done was answered 503 (a failure of ours: storage, keys, secrets, a
   * throttled dependency), dimensions `callback` (`deleted-token`) and `reason` (`failed` | `throttled`).
   */
  callbackNotProcessed: 'CallbackNotProcessed',
  /**
   * A failure of ours in the authorization round trip after the redirect_uri was validated, told to Notion by
   * redirect (docs/adr/0170), dimension `reason` (`failed` | `throttled`).
   */
  authorizationFailed: 'AuthorizationFailed',
  /** A request refused because setup is unfinished (the Notion credentials placeholder), dimension `setting`. */
  setupIncomplete: 'SetupIncomplete',
  /** Change events that opened a coalescing window (no dimension); coalescing ratio = ChangeCoalesced / (ChangeCoalesced + WindowOpened). */
  windowOpened: 'WindowOpened',
  /** Connections ended, dimension `reason` (#core/connection-end.js CONNECTION_END_REASONS). */
  connectionEnded: 'ConnectionEnded',
  /** POST /oauth/revoke answers, dimension `outcome` (`refresh_token` | `access_token` | `none` | an OAuth error code). */
  tokenRevocation: 'TokenRevocation',
  /**
   * Refreshes of users' upstream tokens (docs/adr/0127), dimension `outcome`: `refreshed`, `waited` (another
   * caller's refresh was used), `failed` (no answer from the provider), `login_required` (refused: the
   * connection needs re-authorization).
   */
  upstreamTokenRefresh: 'UpstreamTokenRefresh',
  /**
   * Refreshes of a connection's Notion token after a 401 to a push (docs/adr/0151), dimension `outcome`:
   * `refreshed`, `not_saved` (used for the push, not stored), `waited` (another invocation's new token
   * used), `busy` (another invocation holds the claim: the push waits), `failed` (no answer from Notion:
   * retried with backoff), `refused` (the connection is disconnected).
   */
  notionTokenRefresh: 'NotionTokenRefresh',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
export type MetricListener = (name: string, dimensions: Readonly<Record<string, string>>, value: number) => void;

const metricListeners = new Set<MetricListener>();

/** Observes every counted metric in-process (tests; the local runtime). Returns the unsubscribe function. */
export const onMetric = (listener: MetricListener): (() => void) => {
  metricListeners.add(listener);
  return () => metricListeners.delete(listener);
};

/**
 * CloudWatch metrics (EMF) are written inside Lambda (and `sam local`) only;
 * locally and in tests the same facts are in the structured logs, and nothing
 * is printed. `POWERTOOLS_METRICS_DISABLED=true` turns them off in Lambda too.
 */
export const metricsEnabled = (): boolean =>
  Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME) &&
  !/^(1|true|yes)$/i.test(process.env.POWERTOOLS_METRICS_DISABLED ?? '');

/**
 * Counts one occurrence of a metric. Without dimensions it is buffered and
 * written by `flushMetrics()` at the end of the invocation; with dimensions
 * it is written at once as its own EMF record (so dimensions never mix).
 */
export const countMetric = (
  name: MetricName | string,
  dimensions: Readonly<Record<string, string>> = {},
  value = 1,
): void => {
  for (const listener of metricListeners) listener(name, dimensions, value);
  if (!metricsEnabled()) return;
  const entries = Object.entries(dimensions);
  if (entries.length === 0) {
    metrics.addMetric(name, MetricUnit.Count, value);
    return;
  }
  const single = metrics.singleMetric();
  for (const [k, v] of entries) single.addDimension(k, v);
  single.addMetric(name, MetricUnit.Count, value);
};

/** Writes buffered metrics, once per invocation; silent when there are none. */
export const flushMetrics = (): void => {
  if (metricsEnabled() && metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};

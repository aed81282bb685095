/**
 * The users' upstream credentials as a deployment configures them: one wiring
 * for the unfurl and the update worker (docs/adr/0127). Tokens are decrypted
 * through the token cipher, refreshed through openid-client at OIDC_ISSUER
 * (loaded only when a token must be refreshed), and stored back on the
 * connection with conditional writes. Each refresh is logged and counted
 * (metric UpstreamTokenRefresh); a refused one is a warning.
 */
import { loadSecretField } from '#adapters/oidc/secrets.js';
import type { Connection, TokenCipher, UpstreamTokenStore } from '#core/ports.js';
import { upstreamCredentials } from '#core/sources/credentials.js';
import type { UpstreamCredentials } from '#core/sources/source-adapter.js';
import type { Config } from '#shared/config.js';
import { countMetric, logTo, METRIC } from '#shared/observability.js';

const OUTCOMES: Readonly<Record<string, string>> = {
  'upstream.refreshed': 'refreshed',
  'upstream.waited': 'waited',
  'upstream.refresh_failed': 'failed',
  'upstream.login_required': 'login_required',
  'upstream.not_saved': 'not_saved',
};

/** Logs and counts one event of the upstream credentials (no token is ever in `details`). */
export const observeUpstream = (event: string, details: Readonly<Record<string, unknown>>): void => {
  const outcome = OUTCOMES[event];
  if (outcome) countMetric(METRIC.upstreamTokenRefresh, { outcome });
  logTo(event === 'upstream.login_required' || event === 'upstream.refresh_failed' ? 'warn' : 'debug', event, details);
};

export interface UpstreamCredentialsWiring {
  readonly cipher: () => Promise<TokenCipher>;
  readonly store: UpstreamTokenStore;
  readonly now?: () => number;
  /** How long a caller waits for another's refresh (the source deadline: UNFURL_DEADLINE_MS). */
  readonly maxWaitMs?: number;
}

/** `credentialsFor(connection)`: the credentials of one connection, kept valid. */
export const upstreamCredentialsFor = (
  config: Config,
  wiring: UpstreamCredentialsWiring,
): ((connection: Connection) => UpstreamCredentials) => {
  const refresher = async () =>
    (await import('#adapters/oidc/refresh.js')).refresherFromConfig(config, loadSecretField);
  const keeping = {
    store: wiring.store,
    refresher,
    now: wiring.now ?? (() => Date.now()),
    ...(wiring.maxWaitMs === undefined ? {} : { maxWaitMs: wiring.maxWaitMs }),
    observe: observeUpstream,
  };
  return (connection) => upstreamCredentials(connection, wiring.cipher, keeping);
};

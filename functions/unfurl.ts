/**
 * Route handler: unfurl (see lib/routes.ts): POST /unfurl.
 *
 * Bearer check (one read: the connection, and with it the uri's subscription),
 * `{uri}` body, then the unfurl core: rule match, deadline-bound resolve,
 * subscription record (skipped when it already holds the answer), and the answers of
 * notion-protocol.md Part A. A source that gives no answer and has no
 * snapshot to fall back on yields 503.
 */

import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { subscriptionStore, unfurlReads } from '#adapters/dynamo/factory.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { sourceAdapterFromConfig } from '#adapters/sources/registry.js';
import { type AccessTokenClaims, type AccessTokenSettings, authenticateBearer } from '#core/oauth/access-token.js';
import type { Clock, UnfurlReads } from '#core/ports.js';
import { upstreamCredentials } from '#core/sources/credentials.js';
import { describeIssues } from '#core/unfurl/rules.js';
import {
  type PreparedUnfurl,
  prepareUnfurl,
  subscriptionKeyOf,
  type UnfurlDependencies,
  unfurlUri,
} from '#core/unfurl/unfurl.js';
import { getConfig } from '#shared/config.js';
import { AppError, BadRequestError } from '#shared/errors.js';
import { httpHandler, json } from '#shared/http.js';
import { countMetric, logger, METRIC } from '#shared/observability.js';
import * as z from '#shared/zod.js';

export interface UnfurlHandlerDependencies extends UnfurlDependencies {
  /** The connection (token check) and the uri's subscription, in one request. */
  readonly reads: UnfurlReads;
  readonly tokens: AccessTokenSettings;
  readonly clock: Clock;
}

const bodySchema = z.object({
  uri: z.string().check(z.minLength(1, 'uri must not be empty'), z.maxLength(8192, 'uri is too long')),
});

/** The source gave no answer in time and there is no snapshot to serve. */
export class SourceUnavailableResponseError extends AppError {
  override readonly name = 'SourceUnavailableResponseError';
  constructor() {
    super(503, 'source_unavailable', 'The preview source is not answering; try again shortly', {
      expose: true,
      headers: { 'retry-after': '5' },
    });
  }
  override toBody(): unknown {
    return { error: { status: 503, message: this.message } };
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export const createUnfurlHandler = (deps: () => UnfurlHandlerDependencies) =>
  httpHandler(async (request) => {
    const d = deps();
    const parsed = bodySchema.safeParse(request.body);
    // Once the token's signature checks out, the uri is matched: the connection
    // read then also reads the subscription (ADR 0065), and the source may be
    // asked meanwhile; its answer is used only if the check passes (ADR 0064).
    let prepared: PreparedUnfurl | undefined;
    const verified = parsed.success
      ? (claims: AccessTokenClaims) => {
          prepared = prepareUnfurl(d, parsed.data.uri, claims.sub, claims.connectionId);
        }
      : undefined;
    const connections = {
      get: async (id: string) => {
        const key = prepared?.connectionId === id ? subscriptionKeyOf(prepared) : undefined;
        // A source request already started leaves first: Node.js writes it only once the
        // current turn's microtasks are done, and building the DynamoDB request is a long
        // chain of them, which would hold the source request back by that much (ADR 0099).
        if (prepared?.rendered) await nextTurn();
        const read = await d.reads.read(id, key);
        if (key && prepared) prepared.stored = read.stored;
        return read.connection;
      },
    };
    let connection: Awaited<ReturnType<typeof authenticateBearer>>;
    try {
      connection = await authenticateBearer(request.headers.authorization, {
        connections,
        tokens: d.tokens,
        clock: d.clock,
        ...(verified ? { verified } : {}),
      });
    } catch (error) {
      if (error instanceof AppError) countMetric(METRIC.unfurlOutcome, { outcome: error.code ?? 'rejected' });
      throw error;
    }
    if (!parsed.success) {
      countMetric(METRIC.unfurlOutcome, { outcome: 'invalid_request' });
      throw new BadRequestError(
        `Body must be JSON {"uri": "..."}: ${describeIssues(parsed.error.issues)}`,
        'invalid_request',
      );
    }
    const answer = await unfurlUri(d, connection, parsed.data.uri, prepared);
    logger.info('unfurl', { outcome: answer.outcome, connectionId: connection.id });
    countMetric(METRIC.unfurlOutcome, { outcome: answer.outcome });
    if (answer.outcome === 'unavailable') throw new SourceUnavailableResponseError();
    return json(200, answer.body, { 'cache-control': 'no-store' });
  });

let production: UnfurlHandlerDependencies | undefined;

const fromConfig = (): UnfurlHandlerDependencies => {
  if (production) return production;
  const config = getConfig();
  const cipher = async () => (await import('#adapters/crypto/token-cipher.js')).tokenCipherFromConfig(config);
  production = {
    integration: rulesFromConfig(config),
    adapter: sourceAdapterFromConfig({ config, loadSecret }),
    reads: unfurlReads(config),
    subscriptions: subscriptionStore(config),
    tokens: accessTokenSettings(config, loadSecret),
    clock: { now: () => Date.now() },
    devName: config.unfurl.devName,
    deadlineMs: config.unfurl.deadlineMs,
    snapshotRefreshMs: config.unfurl.snapshotRefreshSeconds * 1000,
    credentialsFor: (connection) => upstreamCredentials(connection, cipher),
    observe: (event, details) => logger.debug(event, { ...details }),
  };
  return production;
};

export const handler = createUnfurlHandler(fromConfig);

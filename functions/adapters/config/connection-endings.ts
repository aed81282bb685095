/**
 * What ending a connection reaches (#core/connection-end.js) as a deployment
 * configures it: the Subscriptions table, the delivery log, and a WARN log line
 * with the ConnectionEnded metric (dimension `reason`).
 */
import { deliveryLog, subscriptionStore } from '#adapters/dynamo/factory.js';
import type { ConnectionEnded, ConnectionEndPorts } from '#core/connection-end.js';
import type { Config } from '#shared/config.js';
import { countMetric, logger, METRIC } from '#shared/observability.js';

/** Says why a connection ended: one log line (no token material) and one metric. */
export const reportConnectionEnded = (ended: ConnectionEnded): void => {
  logger.warn('connection ended', { ...ended });
  countMetric(METRIC.connectionEnded, { reason: ended.reason });
};

export const connectionEndings = (config: Config): ConnectionEndPorts => ({
  subscriptions: subscriptionStore(config),
  deliveries: deliveryLog(config),
  onEnded: reportConnectionEnded,
});

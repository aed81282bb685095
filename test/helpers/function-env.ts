/**
 * Everything a function could need, as the local runtime gives it: the local defaults plus its tables
 * and queues named, every endpoint on a closed loopback port (nothing in a composition test may reach
 * a service).
 */
import { localDefaults } from '#local/defaults.js';

export const completeFunctionEnv = (): Record<string, string> => ({
  ...localDefaults(3000),
  CONNECTIONS_TABLE: 'connections',
  AUTH_STATE_TABLE: 'auth-state',
  SUBSCRIPTIONS_TABLE: 'subscriptions',
  RATE_LIMITS_TABLE: 'rate-limits',
  DELIVERY_LOG_TABLE: 'delivery-log',
  UPDATE_QUEUE_URL: 'http://127.0.0.1:1/000000000000/updates',
  UPDATE_DLQ_URL: 'http://127.0.0.1:1/000000000000/updates-dlq',
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
  SQS_ENDPOINT: 'http://127.0.0.1:1',
});

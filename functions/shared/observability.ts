/**
 * Logger and metrics singletons (Powertools). Every log line passes through the
 * redacting JSON replacer, so no token, code or secret reaches a log.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { redactingReplacer } from './redact.js';

const serviceName = 'notion-link-preview';

export const logger = new Logger({
  serviceName,
  logLevel: (process.env.LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
  jsonReplacerFn: redactingReplacer,
});

export const metrics = new Metrics({ serviceName, namespace: 'NotionLinkPreview' });

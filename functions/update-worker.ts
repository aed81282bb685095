/**
 * SQS-triggered update worker. Not available yet: reports every record as failed
 * so nothing is lost (messages return to the queue, then the DLQ).
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => ({
  batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })),
});

/**
 * The update queue and its dead-letter queue, from `QUEUES` in `lib/data-model.ts`:
 * SSL-only access policies, SQS-managed encryption, a redrive policy after
 * `maxReceiveCount` receives, and a visibility timeout of at least six times the
 * worker's timeout (so a message is not redelivered while a batch still runs).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { UPDATE_DLQ, UPDATE_QUEUE, WORKER_TIMEOUT_SECONDS } from '../data-model.js';

export interface UpdateQueueProps {
  readonly removalPolicy: RemovalPolicy;
  /** The consuming function's timeout; the visibility timeout must be ≥ 6 × this. */
  readonly workerTimeout?: Duration;
}

export class UpdateQueues extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: UpdateQueueProps) {
    super(scope, id);
    const workerTimeout = props.workerTimeout ?? Duration.seconds(WORKER_TIMEOUT_SECONDS);
    const deadLetter = UPDATE_QUEUE.deadLetter;
    if (!deadLetter || deadLetter.queueId !== UPDATE_DLQ.id)
      throw new Error('the update queue must redrive to the DLQ');
    if (UPDATE_QUEUE.visibilityTimeoutSeconds < 6 * workerTimeout.toSeconds()) {
      throw new Error(
        `update queue visibility timeout (${UPDATE_QUEUE.visibilityTimeoutSeconds}s) must be ≥ 6 × the worker timeout (${workerTimeout.toSeconds()}s)`,
      );
    }

    this.deadLetterQueue = new Queue(this, UPDATE_DLQ.id, {
      enforceSSL: true,
      encryption: QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(UPDATE_DLQ.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(UPDATE_DLQ.retentionSeconds),
      removalPolicy: props.removalPolicy,
    });
    this.queue = new Queue(this, UPDATE_QUEUE.id, {
      enforceSSL: true,
      encryption: QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(UPDATE_QUEUE.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(UPDATE_QUEUE.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: deadLetter.maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });
  }
}

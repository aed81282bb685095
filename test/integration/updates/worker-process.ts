/**
 * A worker in a process of its own, for the test that kills it mid-batch:
 * the local worker loop (local/worker-loop.ts) around functions/update-worker.ts,
 * with the settings it is given in the RIG_ENV variable (JSON).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { startWorkerLoop } from '#local/worker-loop.js';

// Never outlive the test: the parent holds our stdin; when it goes away, so do we.
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();

const env = JSON.parse(process.env.RIG_ENV ?? '{}') as Record<string, string>;
Object.assign(process.env, env);
const { handler } = await import('../../../functions/update-worker.js');
const sqs = new SQSClient({
  endpoint: env.SQS_ENDPOINT as string,
  region: env.AWS_REGION ?? 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
await startWorkerLoop({ sqs, queueUrl: env.UPDATE_QUEUE_URL as string, handler, waitTimeSeconds: 1 });
process.stdout.write('worker ready\n');

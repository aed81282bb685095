/**
 * CloudWatch alarms for the signals an operator must act on: anything in the
 * dead-letter queue, updates piling up, API 5xx answers and worker errors.
 * With an `alarmEmail`, the alarms notify an encrypted, SSL-only SNS topic.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ServiceAlarmsProps {
  readonly stage: string;
  readonly api: HttpApi;
  readonly worker: IFunction;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly removalPolicy: RemovalPolicy;
  readonly alarmEmail?: string;
  /** An existing SNS topic the alarms notify as well. */
  readonly alarmTopicArn?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

export class ServiceAlarms extends Construct {
  readonly deadLetterDepth: Alarm;
  readonly updateBacklogAge: Alarm;
  readonly api5xx: Alarm;
  readonly workerErrors: Alarm;
  readonly topic?: Topic;
  /** Every topic the alarms notify. */
  readonly targets: ITopic[] = [];

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const prefix = `notion-link-preview-${props.stage}`;

    this.deadLetterDepth = new Alarm(this, 'DeadLetterDepth', {
      alarmName: `${prefix}-dlq-not-empty`,
      alarmDescription: 'Update events reached the dead-letter queue: inspect the reason, fix, then redrive (runbook).',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.updateBacklogAge = new Alarm(this, 'UpdateBacklogAge', {
      alarmName: `${prefix}-update-backlog-age`,
      alarmDescription: 'The oldest update event has waited over 15 minutes: the worker is failing or throttled.',
      metric: props.queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' }),
      threshold: 900,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.api5xx = new Alarm(this, 'Api5xx', {
      alarmName: `${prefix}-api-5xx`,
      alarmDescription: 'The HTTP API answered 5xx: a handler failed or timed out (see the function logs).',
      metric: props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.workerErrors = new Alarm(this, 'WorkerErrors', {
      alarmName: `${prefix}-worker-errors`,
      alarmDescription: 'The update worker threw (whole-batch failure or crash), distinct from per-record failures.',
      metric: props.worker.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmEmail) {
      // CloudWatch can publish to an encrypted topic only with a customer-managed key it may use.
      const key = new Key(this, 'TopicKey', {
        description: 'Encrypts the alarm notification topic',
        enableKeyRotation: true,
        removalPolicy: props.removalPolicy,
      });
      key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
      const topic = new Topic(this, 'Topic', {
        displayName: `Notion Link Preview alarms (${props.stage})`,
        masterKey: key,
        enforceSSL: true,
      });
      topic.addSubscription(new EmailSubscription(props.alarmEmail));
      this.topic = topic;
      this.targets.push(topic);
    }
    if (props.alarmTopicArn) this.targets.push(Topic.fromTopicArn(this, 'ExistingTopic', props.alarmTopicArn));
    for (const target of this.targets) {
      const action = new SnsAction(target);
      for (const alarm of this.all()) alarm.addAlarmAction(action);
    }
  }

  all(): Alarm[] {
    return [this.deadLetterDepth, this.updateBacklogAge, this.api5xx, this.workerErrors];
  }
}

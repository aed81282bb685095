/**
 * CloudWatch alarms for the signals an operator must act on: anything in the
 * dead-letter queue, updates piling up, API 5xx answers, failures of ours in
 * the OAuth round trip (told to Notion by redirect), a deleted-token callback
 * not processed, a user meeting an unfinished setup, errors and throttles of
 * every function, the unfurl function's p99 duration and DynamoDB
 * throttling. Each fires within 10 minutes of its condition (period ×
 * evaluation periods ≤ 10 minutes). With an `alarmEmail`, the alarms notify an
 * encrypted, SSL-only SNS topic; with an `alarmTopicArn`, that topic too.
 */
import { ArnFormat, Aws, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../env-names.js';
import { SERVICE_METRICS_NAMESPACE, serviceNameOf } from './dashboard.js';

export interface ServiceAlarmsProps {
  readonly stage: string;
  readonly api: HttpApi;
  readonly worker: IFunction;
  /** Every function by its handler name (the worker included). */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The unfurl function, whose p99 duration Notion waits on. */
  readonly unfurl: IFunction;
  /** Each table by its id. */
  readonly tables: Readonly<Record<string, Table>>;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly removalPolicy: RemovalPolicy;
  readonly alarmEmail?: string;
  /** An existing SNS topic the alarms notify as well. */
  readonly alarmTopicArn?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
const ONE_MINUTE = Duration.minutes(1);
/** p99 duration of an unfurl above which the alarm fires (Notion shows a placeholder when we are slow). */
export const UNFURL_P99_THRESHOLD_MS = 3000;

export class ServiceAlarms extends Construct {
  readonly deadLetterDepth: Alarm;
  readonly updateBacklogAge: Alarm;
  readonly api5xx: Alarm;
  /** Failures of ours in the OAuth browser round trip, told to Notion by redirect and so not among the 5xx (ADR 0170). */
  readonly authorizationFailures: Alarm;
  /** Notion's deleted-token callback answered 503 (a failure of ours): a user's disconnect not yet carried out. */
  readonly deletedTokenNotProcessed: Alarm;
  /** A user met the unfinished setup (the Notion credentials placeholder): nobody can connect until it is done. */
  readonly setupIncomplete: Alarm;
  readonly workerErrors: Alarm;
  /** Errors and throttles of each function (the worker's errors are `workerErrors`). */
  readonly functionErrors: Alarm[] = [];
  readonly functionThrottles: Alarm[] = [];
  readonly unfurlDurationP99: Alarm;
  readonly tableThrottles: Alarm[] = [];
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
      alarmDescription:
        'The oldest update event has waited over 5 minutes for 5 minutes: the worker is failing or throttled.',
      metric: props.queue.metricApproximateAgeOfOldestMessage({ period: ONE_MINUTE, statistic: 'Maximum' }),
      threshold: 300,
      evaluationPeriods: 5,
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

    /** One of the service's own metrics, with the exact dimensions the functions count it with. */
    const serviceMetric = (metricName: string, dimensionsMap: Readonly<Record<string, string>>) =>
      new Metric({
        namespace: SERVICE_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: serviceNameOf(props.stage), ...dimensionsMap },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });
    // These answers are redirects to Notion (server_error, temporarily_unavailable), not 5xx: the service's own
    // metric counts them, with the threshold of the 5xx alarm they used to reach.
    const authorizationFailed = (reason: string) => serviceMetric('AuthorizationFailed', { reason });
    this.authorizationFailures = new Alarm(this, 'AuthorizationFailures', {
      alarmName: `${prefix}-authorization-failures`,
      alarmDescription:
        'The OAuth authorize routes told Notion of a failure of ours (server_error or temporarily_unavailable) instead of connecting: storage, keys or a throttled dependency (see the oauth-authorize log group).',
      metric: new MathExpression({
        expression: 'FILL(f, 0) + FILL(t, 0)',
        usingMetrics: { f: authorizationFailed('failed'), t: authorizationFailed('throttled') },
        period: FIVE_MINUTES,
        label: 'authorization failures',
      }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // The callback is answered 503, not thrown: the function's Errors alarm never sees it, and the API's 5xx alarm
    // only at 5 in 5 minutes, which the few disconnects a day never reach. One is a user's disconnect not carried
    // out (the connection and its tokens live on until a retry of Notion's succeeds).
    const notProcessed = (reason: string) =>
      serviceMetric('CallbackNotProcessed', { callback: 'deleted-token', reason });
    this.deletedTokenNotProcessed = new Alarm(this, 'DeletedTokenNotProcessed', {
      alarmName: `${prefix}-deleted-token-not-processed`,
      alarmDescription:
        "Notion's deleted-token callback was answered 503 (storage, keys or a throttled dependency): a user's disconnect is not carried out until Notion's retry succeeds (see the unfurl-delete log group).",
      metric: new MathExpression({
        expression: 'FILL(f, 0) + FILL(t, 0)',
        usingMetrics: { f: notProcessed('failed'), t: notProcessed('throttled') },
        period: FIVE_MINUTES,
        label: 'deleted-token callbacks not processed',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // Counted only when someone starts to connect: a stack nobody uses yet stays quiet.
    this.setupIncomplete = new Alarm(this, 'SetupIncomplete', {
      alarmName: `${prefix}-setup-incomplete`,
      alarmDescription:
        'A user tried to connect and was refused: the Notion credentials secret still holds the placeholder the stack created. Store the integration credentials (runbook).',
      metric: serviceMetric('SetupIncomplete', { setting: ENV.NOTION_CREDENTIALS_SECRET_ARN }),
      threshold: 1,
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

    for (const [name, fn] of Object.entries(props.functions)) {
      if (fn !== props.worker) {
        this.functionErrors.push(
          new Alarm(this, `Errors-${name}`, {
            alarmName: `${prefix}-${name}-errors`,
            alarmDescription: `The ${name} function failed (an error outside the answers it maps, a timeout or a crash): see its log group.`,
            metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
            threshold: 1,
            evaluationPeriods: 1,
            comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
        );
      }
      this.functionThrottles.push(
        new Alarm(this, `Throttles-${name}`, {
          alarmName: `${prefix}-${name}-throttles`,
          alarmDescription: `Lambda throttled the ${name} function: its reserved concurrency or the account's limit is reached.`,
          metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    this.unfurlDurationP99 = new Alarm(this, 'UnfurlDurationP99', {
      alarmName: `${prefix}-unfurl-duration-p99`,
      alarmDescription: `The unfurl function's p99 duration exceeded ${UNFURL_P99_THRESHOLD_MS} ms for 10 minutes: Notion waits on it (source adapter or DynamoDB slow).`,
      metric: props.unfurl.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' }),
      threshold: UNFURL_P99_THRESHOLD_MS,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const [id, table] of Object.entries(props.tables)) {
      const events = (metricName: string) => table.metric(metricName, { period: FIVE_MINUTES, statistic: 'Sum' });
      this.tableThrottles.push(
        new Alarm(this, `TableThrottles-${id}`, {
          alarmName: `${prefix}-${id.toLowerCase()}-table-throttles`,
          alarmDescription: `DynamoDB throttled requests to the ${id} table (on-demand limits or a hot key).`,
          metric: new MathExpression({
            expression: 'FILL(r, 0) + FILL(w, 0)',
            usingMetrics: { r: events('ReadThrottleEvents'), w: events('WriteThrottleEvents') },
            period: FIVE_MINUTES,
            label: `${id} throttle events`,
          }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    if (props.alarmEmail) {
      // CloudWatch can publish to an encrypted topic only with a customer-managed key it may use.
      const key = new Key(this, 'TopicKey', {
        description: 'Encrypts the alarm notification topic',
        enableKeyRotation: true,
        removalPolicy: props.removalPolicy,
      });
      // Only this stage's alarms in this account (no confused deputy): the conditions of the topic policy below.
      const onlyOurAlarms = {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: {
          'aws:SourceArn': Stack.of(this).formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: `${prefix}-*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      };
      key.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowCloudWatchAlarmsToUseTheKey',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
          conditions: onlyOurAlarms,
        }),
      );
      const topic = new Topic(this, 'Topic', {
        displayName: `Notion Link Preview alarms (${props.stage})`,
        masterKey: key,
        enforceSSL: true,
      });
      // The SSL-only topic policy replaces SNS's default policy (which let the account's own services publish):
      // without this statement every alarm action fails with "not authorized to perform: SNS:Publish" and no
      // notification is ever sent. Limited to this stage's alarms in this account.
      topic.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowCloudWatchAlarmsToPublish',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: onlyOurAlarms,
        }),
      );
      topic.addSubscription(new EmailSubscription(props.alarmEmail));
      this.topic = topic;
      this.targets.push(topic);
    }
    if (props.alarmTopicArn) this.targets.push(Topic.fromTopicArn(this, 'ExistingTopic', props.alarmTopicArn));
    for (const target of this.targets) {
      const action = new SnsAction(target);
      // The same topic hears when an alarm clears, so a page is never left without its all-clear.
      for (const alarm of this.all()) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  all(): Alarm[] {
    return [
      this.deadLetterDepth,
      this.authorizationFailures,
      this.deletedTokenNotProcessed,
      this.setupIncomplete,
      this.updateBacklogAge,
      this.api5xx,
      this.workerErrors,
      this.unfurlDurationP99,
      ...this.functionErrors,
      ...this.functionThrottles,
      ...this.tableThrottles,
    ];
  }
}

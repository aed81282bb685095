/**
 * The operations dashboard (CloudWatch): the HTTP API per route (requests,
 * 4xx, 5xx, latency), each function (errors, throttles, duration), the update
 * queue (depth, age of the oldest event) and its dead-letter queue, and the
 * service's own metrics (namespace NotionLinkPreview, docs/observability.md).
 * The alarms are shown at the top.
 */
import { Aws, Duration, Fn, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SearchExpression,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../routes.js';

/** Namespace of the service's own metrics (Powertools EMF, functions/shared/observability.ts). */
export const SERVICE_METRICS_NAMESPACE = 'NotionLinkPreview';

/**
 * The `service` of a stage's logs and metrics (POWERTOOLS_SERVICE_NAME): it names the stage, so that two
 * stages in one account and region keep their metrics apart (the dashboard reads its own stage's).
 */
export const serviceNameOf = (stage: string): string => `notion-link-preview-${stage}`;

export interface ServiceDashboardProps {
  readonly stage: string;
  readonly api: HttpApi;
  readonly routes: readonly RouteDefinition[];
  /** Each function by its handler name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly alarms: readonly Alarm[];
}

const PERIOD = Duration.minutes(5);

/** Each `operation` of NotionResponse (functions/adapters/notion/notion-api.ts, the worker) with its widget's title. */
export const NOTION_OPERATIONS = [
  { operation: 'patch_external_object', title: 'Notion answers to PATCH /v1/external/object' },
  { operation: 'oauth_token', title: 'Notion answers to the code exchange' },
  { operation: 'oauth_refresh', title: 'Notion answers to the token refresh' },
] as const;

/** The dashboard's name: unique per account (dashboards are global), region and stage. */
export const dashboardNameOf = (stage: string): string => Fn.join('-', ['notion-link-preview', stage, Aws.REGION]);

export class ServiceDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ServiceDashboardProps) {
    super(scope, id);
    const apiId = props.api.apiId;
    const routeMetric = (route: RouteDefinition, metricName: string, statistic: string): Metric =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: apiId, Stage: '$default', Method: route.method, Resource: route.path },
        statistic,
        period: PERIOD,
        label: `${route.method} ${route.path}`,
      });
    const service = (metricName: string, dimensionsMap: Record<string, string> = {}, label?: string): Metric =>
      new Metric({
        namespace: SERVICE_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: serviceNameOf(props.stage), ...dimensionsMap },
        statistic: 'Sum',
        period: PERIOD,
        ...(label ? { label } : {}),
      });
    // Every time series of a metric counted with the given dimensions, one line per value: for dimensions whose
    // values are open-ended (a dead letter's reason, an HTTP status), where a fixed list of lines would miss new
    // ones. `only` narrows the search to exact values of some of the dimensions (operation="oauth_refresh"); the
    // label names each line by the values of the others (CloudWatch dynamic labels).
    const byDimension = (
      metricName: string,
      dimensions: string | readonly string[],
      label: string,
      only: Readonly<Record<string, string>> = {},
    ): SearchExpression => {
      const names = typeof dimensions === 'string' ? [dimensions] : dimensions;
      const schema = [SERVICE_METRICS_NAMESPACE, ...names, 'service'].join(',');
      const terms = [
        `MetricName="${metricName}"`,
        `service="${serviceNameOf(props.stage)}"`,
        ...Object.entries(only).map(([name, value]) => `${name}="${value}"`),
      ].join(' ');
      const shown = names.filter((name) => !(name in only)).map((name) => `\${PROP('Dim.${name}')}`);
      return new SearchExpression({
        expression: `SEARCH('{${schema}} ${terms}', 'Sum', ${PERIOD.toSeconds()})`,
        label: `${label}${shown.join(' ')}`,
        period: PERIOD,
      });
    };
    const graph = (title: string, left: IMetric[], width = 8): GraphWidget =>
      new GraphWidget({ title, left, width, height: 6 });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Dashboards are global to an account: the region keeps two regions' stacks of one stage apart.
      dashboardName: dashboardNameOf(props.stage),
      defaultInterval: Duration.hours(6),
    });
    const fns = Object.entries(props.functions);

    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Notion Link Preview (${props.stage})\nRunbook: docs/runbook.md · metrics: docs/observability.md · region ${Stack.of(this).region}`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }),
    );

    // --- HTTP API, per route ---
    this.dashboard.addWidgets(
      graph(
        'Requests per route',
        props.routes.map((r) => routeMetric(r, 'Count', 'Sum')),
      ),
      graph(
        '4xx per route',
        props.routes.map((r) => routeMetric(r, '4xx', 'Sum')),
      ),
      graph(
        '5xx per route',
        props.routes.map((r) => routeMetric(r, '5xx', 'Sum')),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Latency p99 per route (ms)',
        props.routes.map((r) => routeMetric(r, 'Latency', 'p99')),
        12,
      ),
      graph(
        'Latency p50 per route (ms)',
        props.routes.map((r) => routeMetric(r, 'Latency', 'p50')),
        12,
      ),
    );

    // --- Functions ---
    this.dashboard.addWidgets(
      graph(
        'Lambda errors per function',
        fns.map(([name, f]) => f.metricErrors({ period: PERIOD, label: name })),
      ),
      graph(
        'Lambda throttles per function',
        fns.map(([name, f]) => f.metricThrottles({ period: PERIOD, label: name })),
      ),
      graph(
        'Lambda duration p99 per function (ms)',
        fns.map(([name, f]) => f.metricDuration({ period: PERIOD, statistic: 'p99', label: name })),
      ),
    );

    // --- Update queue ---
    this.dashboard.addWidgets(
      graph('Update queue depth', [
        props.queue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          statistic: 'Maximum',
          label: 'visible',
        }),
        props.queue.metricApproximateNumberOfMessagesNotVisible({
          period: PERIOD,
          statistic: 'Maximum',
          label: 'in flight',
        }),
        props.queue.metricApproximateNumberOfMessagesDelayed({
          period: PERIOD,
          statistic: 'Maximum',
          label: 'delayed',
        }),
      ]),
      graph('Age of the oldest update event (s)', [
        props.queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum', label: 'oldest' }),
      ]),
      graph('Dead-letter queue depth', [
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          statistic: 'Maximum',
          label: 'dead letters',
        }),
        // DeadLettered is always counted with its reason (functions/handlers/update-worker.ts): there is no series
        // without it, so one line per reason.
        byDimension('DeadLettered', 'reason', 'sent by the worker: '),
      ]),
    );

    // --- The service's own metrics (docs/observability.md says which widget shows each) ---
    const coalesced = service('ChangeCoalesced');
    const opened = service('WindowOpened');
    this.dashboard.addWidgets(
      // By search: an unfurl refused by the error mapper counts its error code, and a wait its scope, both open-ended.
      graph('Unfurl outcomes', [byDimension('UnfurlOutcome', 'outcome', '')]),
      graph('Rate-limit waits', [byDimension('RateLimitWait', 'scope', '')]),
      graph('Coalescing', [
        new MathExpression({
          expression: '100 * coalesced / (coalesced + opened)',
          usingMetrics: { coalesced, opened },
          label: 'coalesced events (%)',
          period: PERIOD,
        }),
      ]),
    );
    // Notion's answers by status, one widget per operation the functions call it for (any status shows).
    this.dashboard.addWidgets(
      ...NOTION_OPERATIONS.map(({ operation, title }) =>
        graph(title, [byDimension('NotionResponse', ['operation', 'status'], '', { operation })]),
      ),
    );
    this.dashboard.addWidgets(
      graph('Pushes', [
        service('Pushed', {}, 'pushed'),
        service('PushUnchanged', {}, 'unchanged (skipped)'),
        service('PushRejected', {}, 'rejected'),
        service('PushBlocked', {}, 'blocked'),
        service('PushRetryScheduled', {}, 'retry scheduled'),
        service('PushSkippedUpstreamLogin', {}, 'skipped: upstream login needed'),
        service('SubscriptionDropped', {}, 'subscriptions dropped'),
        service('ConnectionDisconnected', {}, 'connections disconnected'),
      ]),
      graph('Connections ended', [byDimension('ConnectionEnded', 'reason', '')]),
      graph('Token refreshes', [
        // A push answered 401 for a connection holding a Notion refresh token (ADR 0151).
        byDimension('NotionTokenRefresh', 'outcome', 'Notion token: '),
        // A user's upstream token, refreshed by the unfurl function or the worker (ADR 0127).
        byDimension('UpstreamTokenRefresh', 'outcome', 'upstream token: '),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Token grants and errors', [
        service('TokenGranted', { grant_type: 'authorization_code' }, 'granted: authorization_code'),
        service('TokenGranted', { grant_type: 'refresh_token' }, 'granted: refresh_token'),
        byDimension('TokenError', 'error', 'error: '),
      ]),
      graph('Token revocations', [byDimension('TokenRevocation', 'outcome', '')]),
      graph('Failures of ours and unfinished setup', [
        // Failures of ours in the browser round trip, told to Notion by redirect (ADR 0170).
        ...['failed', 'throttled'].map((r) =>
          service('AuthorizationFailed', { reason: r }, `authorize redirected an error: ${r}`),
        ),
        // A deleted-token callback answered 503 so that Notion retries it.
        byDimension('CallbackNotProcessed', ['callback', 'reason'], 'not processed: '),
        // A user met an unfinished setup (the Notion credentials placeholder).
        byDimension('SetupIncomplete', 'setting', 'setup incomplete: '),
      ]),
    );
  }
}

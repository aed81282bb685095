/**
 * Observability in the stack: the CloudWatch dashboard (API per route,
 * functions, queues, the service's own metrics), route-level API metrics, the
 * delivery-log table, and a development stack that tears down completely.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DELIVERY_LOG_TABLE } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { ROUTES } from '#lib/routes.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { emittedMetrics } from '#test/helpers/emitted-metrics.js';
import { type Synthesized, synthService } from './synth.js';

let s: Synthesized;
let body: string;
let widgets: Array<{ type: string; properties: Record<string, unknown> }>;

/** The dashboard body with CloudFormation tokens flattened to their logical ids. */
const renderBody = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(renderBody).join(sep);
  }
  if ('Ref' in v) return `{Ref:${String(v.Ref)}}`;
  if ('Fn::GetAtt' in v) return `{GetAtt:${(v['Fn::GetAtt'] as string[]).join('.')}}`;
  return JSON.stringify(value);
};

beforeAll(() => {
  s = synthService();
  const dashboards = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  body = renderBody(dashboards[0]?.Properties.DashboardBody);
  widgets = (JSON.parse(body) as { widgets: typeof widgets }).widgets;
}, 120_000);

afterAll(() => s?.cleanup());

const metricsOf = (title: string): unknown[][] => {
  const w = widgets.find((x) => x.properties.title === title);
  if (!w) throw new Error(`no widget "${title}"`);
  return w.properties.metrics as unknown[][];
};

/** `Name{dimension,…}` of each of the service's metrics a widget reads: a metric line, or a SEARCH's schema. */
const askedByWidgets = (): string[] => {
  const asked: string[] = [];
  for (const w of widgets) {
    for (const entry of (w.properties.metrics as unknown[][] | undefined) ?? []) {
      if (entry[0] === 'NotionLinkPreview') {
        const names = entry.slice(2).filter((_, i, rest) => i % 2 === 0 && typeof rest[i + 1] === 'string');
        asked.push(`${String(entry[1])}{${(names as string[]).sort().join(',')}}`);
      }
      const expression = (entry[0] as { expression?: string } | undefined)?.expression ?? '';
      for (const m of expression.matchAll(/SEARCH\('\{NotionLinkPreview,([^}]*)\} MetricName="(\w+)"/g))
        asked.push(`${m[2]}{${(m[1] as string).split(',').sort().join(',')}}`);
    }
  }
  return asked;
};

/** `Name{dimension,…}` of each of the service's metrics an alarm reads. */
const askedByAlarms = (): string[] => {
  const asked: string[] = [];
  for (const alarm of Object.values(s.template.findResources('AWS::CloudWatch::Alarm'))) {
    const p = alarm.Properties as {
      Namespace?: string;
      MetricName?: string;
      Dimensions?: Array<{ Name: string }>;
      Metrics?: Array<{
        MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string }> } };
      }>;
    };
    const stats = [
      ...(p.Namespace ? [{ Namespace: p.Namespace, MetricName: p.MetricName, Dimensions: p.Dimensions }] : []),
      ...(p.Metrics ?? []).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : [])),
    ];
    for (const m of stats.filter((x) => x.Namespace === 'NotionLinkPreview'))
      asked.push(
        `${m.MetricName}{${(m.Dimensions ?? [])
          .map((d) => d.Name)
          .sort()
          .join(',')}}`,
      );
  }
  return asked;
};

/** `Name{dimension,…,service}` of every metric the functions count, with each set of dimensions it is counted with. */
const counted = (): Set<string> =>
  new Set(
    [...emittedMetrics()].flatMap(([name, sets]) =>
      [...sets].map((keys) => `${name}{${[...(keys ? keys.split(',') : []), 'service'].sort().join(',')}}`),
    ),
  );

describe('CloudWatch dashboard', () => {
  it('is named after the stage and the region (dashboards are global to an account) and shown in the outputs', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: { 'Fn::Join': ['-', ['notion-link-preview-dev', { Ref: 'AWS::Region' }]] },
    });
    const out = s.template.toJSON().Outputs[OUTPUTS.dashboardUrl];
    const id = Object.keys(s.template.findResources('AWS::CloudWatch::Dashboard'))[0];
    expect(JSON.stringify(out.Value)).toContain(`"#dashboards:name=",{"Ref":"${id}"}`);
  });

  it('graphs 4xx, 5xx and latency for every route, by method and path', () => {
    for (const title of ['4xx per route', '5xx per route', 'Latency p99 per route (ms)', 'Requests per route']) {
      const metrics = metricsOf(title);
      expect(metrics).toHaveLength(ROUTES.length);
      for (const route of ROUTES) {
        expect(
          metrics.some(
            (m) =>
              m[0] === 'AWS/ApiGateway' &&
              m.includes('Method') &&
              m.includes(route.method) &&
              m.includes('Resource') &&
              m.includes(route.path),
          ),
        ).toBe(true);
      }
    }
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { DetailedMetricsEnabled: true },
    });
    // A route's own settings replace the stage's default ones for that route (a field left out takes API
    // Gateway's default, false): each route turns its detailed metrics on itself, or the widgets stay empty.
    const stage = Object.values(s.template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    const routeSettings = stage.Properties.RouteSettings as Record<string, { DetailedMetricsEnabled?: boolean }>;
    for (const route of ROUTES) {
      expect({ route: `${route.method} ${route.path}`, ...routeSettings[`${route.method} ${route.path}`] }).toEqual(
        expect.objectContaining({ route: `${route.method} ${route.path}`, DetailedMetricsEnabled: true }),
      );
    }
  });

  it('graphs errors and duration of every function, queue depth and age, and the DLQ', () => {
    const functions = Object.keys(s.template.findResources('AWS::Lambda::Function'));
    for (const title of ['Lambda errors per function', 'Lambda duration p99 per function (ms)']) {
      const text = JSON.stringify(metricsOf(title));
      for (const id of functions) expect(text).toContain(`{Ref:${id}}`);
    }
    const queue = s.logicalId(s.stack.queues.queue);
    const dlq = s.logicalId(s.stack.queues.deadLetterQueue);
    expect(JSON.stringify(metricsOf('Update queue depth'))).toContain(queue);
    expect(JSON.stringify(metricsOf('Age of the oldest update event (s)'))).toContain('ApproximateAgeOfOldestMessage');
    expect(JSON.stringify(metricsOf('Dead-letter queue depth'))).toContain(dlq);
  });

  it("graphs the service's own metrics with their dimensions", () => {
    const text = (title: string) => JSON.stringify(metricsOf(title));
    expect(text('Unfurl outcomes')).toContain('{NotionLinkPreview,outcome,service} MetricName=\\"UnfurlOutcome\\"');
    expect(text('Notion answers to PATCH /v1/external/object')).toContain(
      '{NotionLinkPreview,operation,status,service}',
    );
    expect(text('Notion answers to the code exchange')).toContain('operation=\\"oauth_token\\"');
    expect(text('Rate-limit waits')).toContain('{NotionLinkPreview,scope,service} MetricName=\\"RateLimitWait\\"');
    expect(text('Token grants and errors')).toContain('"grant_type","refresh_token"');
    expect(text('Coalescing')).toContain('coalesced / (coalesced + opened)');
  });

  it("reads its own stage's metrics: the functions write them as service notion-link-preview-<stage>", () => {
    const service = `notion-link-preview-${s.stack.config.stage}`;
    expect(JSON.stringify(metricsOf('Unfurl outcomes'))).toContain(`service=\\"${service}\\"`);
    const fns = Object.values(s.template.findResources('AWS::Lambda::Function')) as Array<{
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }>;
    const named = fns.map((f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME).filter(Boolean);
    expect(named.length).toBeGreaterThanOrEqual(9);
    expect(new Set(named)).toEqual(new Set([service]));
  });

  it("graphs and alarms on the service's metrics only as the functions count them: each name with its dimension names", () => {
    // A CloudWatch metric is one name with one exact set of dimensions: a graph or alarm that asks for another
    // set (a dimension left out, or one added) reads a series that never receives a value and stays empty.
    const asked = [...askedByWidgets(), ...askedByAlarms()];
    expect(asked).toEqual(
      expect.arrayContaining(['UnfurlOutcome{outcome,service}', 'AuthorizationFailed{reason,service}']),
    );
    const countedNow = counted();
    expect([...new Set(asked)].filter((a) => !countedNow.has(a)).sort()).toEqual([]);
  });

  it('graphs every metric the functions count, with each set of dimensions it is counted with', () => {
    // A metric counted but on no widget is one the on-call engineer never sees (docs/observability.md, Dashboard).
    const shown = new Set(askedByWidgets());
    expect([...counted()].filter((c) => !shown.has(c)).sort()).toEqual([]);
  });

  it("graphs Notion's answers, by any status, for every operation the functions call Notion for", () => {
    const read = (file: string) => readFileSync(new URL(`../../functions/${file}`, import.meta.url), 'utf8');
    const union = /operation:\s*((?:'\w+'\s*\|?\s*)+),/.exec(read('adapters/notion/notion-api.ts'))?.[1] ?? '';
    const operations = [
      ...[...union.matchAll(/'(\w+)'/g)].map((m) => m[1]),
      ...[...read('handlers/update-worker.ts').matchAll(/operation: '(\w+)'/g)].map((m) => m[1]),
    ];
    expect(operations).toEqual(expect.arrayContaining(['oauth_token', 'oauth_refresh', 'patch_external_object']));
    const searches = widgets.flatMap((w) =>
      ((w.properties.metrics as unknown[][] | undefined) ?? []).map(
        (e) => (e[0] as { expression?: string } | undefined)?.expression ?? '',
      ),
    );
    for (const operation of operations) {
      // Every status, not a fixed list (a 403 or a 502 shows too), one line each named by its status.
      const search = searches.find(
        (e) => e.includes(`MetricName="NotionResponse"`) && e.includes(`operation="${operation}"`),
      );
      expect({ operation, search }).toEqual({
        operation,
        search: `SEARCH('{NotionLinkPreview,operation,status,service} MetricName="NotionResponse" service="notion-link-preview-${s.stack.config.stage}" operation="${operation}"', 'Sum', 300)`,
      });
    }
    expect(JSON.stringify(metricsOf('Notion answers to the token refresh'))).toContain(`\${PROP('Dim.status')}`);
  });

  it('shows every TokenError value the token endpoint counts (invalid_scope included), not a fixed list', () => {
    const text = JSON.stringify(metricsOf('Token grants and errors'));
    expect(text).toContain(
      `SEARCH('{NotionLinkPreview,error,service} MetricName=\\"TokenError\\" service=\\"notion-link-preview-${s.stack.config.stage}\\"', 'Sum', 300)`,
    );
  });

  it('shows every dead-letter reason the worker counts, one line each (DeadLettered always has a reason)', () => {
    const text = JSON.stringify(metricsOf('Dead-letter queue depth'));
    expect(text).toContain(
      `SEARCH('{NotionLinkPreview,reason,service} MetricName=\\"DeadLettered\\" service=\\"notion-link-preview-${s.stack.config.stage}\\"', 'Sum', 300)`,
    );
    expect(text).toContain(`\${PROP('Dim.reason')}`);
  });

  it('shows the alarms', () => {
    const w = widgets.find((x) => x.type === 'alarm');
    expect((w?.properties.alarms as unknown[] | undefined)?.length).toBe(s.stack.alarms.all().length);
  });
});

describe('delivery log', () => {
  it('is a TTL table keyed by connection and time that only the worker and the functions that end connections write', () => {
    const id = s.logicalId(s.stack.tables.table(DELIVERY_LOG_TABLE));
    const table = s.template.toJSON().Resources[id];
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'connectionId', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    const withTable = Object.entries(s.template.findResources('AWS::Lambda::Function'))
      .filter(([, f]) => f.Properties.Environment.Variables[ENV.DELIVERY_LOG_TABLE] !== undefined)
      .map(([fid]) => fid)
      .sort();
    // The worker logs each push; every function that ends a connection logs why (ADR 0114).
    const ending = (['oauth-authorize', 'oauth-token', 'oauth-revoke', 'unfurl-delete'] as const).map((h) =>
      s.logicalId(s.stack.functions[h]),
    );
    expect(withTable).toEqual([s.logicalId(s.stack.worker), ...ending].sort());
    expect(s.template.toJSON().Outputs[OUTPUTS.deliveryLogTable].Value).toEqual({ Ref: id });
  });
});

describe('service-assertion keys', () => {
  it('GET /.well-known/jwks.json has a function of its own that reads only the signing-key secret', () => {
    const [id, fn] = Object.entries(s.template.findResources('AWS::Lambda::Function')).find(
      ([fid]) => fid === s.logicalId(s.stack.functions.jwks),
    ) ?? ['', undefined];
    expect(id).not.toBe('');
    expect(fn?.Properties.Environment.Variables[ENV.TOKEN_SIGNING_KEY_SECRET_ARN]).toEqual({
      Ref: s.logicalId(s.stack.secrets.tokenSigningKey),
    });
  });
});

describe('development stage tears down completely', () => {
  it('deletes tables, queues, secrets, keys and log groups with the stack', () => {
    const kinds = [
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::SecretsManager::Secret',
      'AWS::KMS::Key',
      'AWS::Logs::LogGroup',
      'AWS::Cognito::UserPool',
    ];
    for (const kind of kinds) {
      for (const [id, r] of Object.entries(s.template.findResources(kind))) {
        expect([id, r.DeletionPolicy]).toEqual([id, 'Delete']);
      }
    }
    for (const t of Object.values(s.template.findResources('AWS::DynamoDB::Table'))) {
      expect(t.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });
});

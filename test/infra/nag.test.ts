/**
 * cdk-nag (AwsSolutions pack, v3 validation plugin) runs on every synthesis of
 * the app. These tests prove that it runs, that the stack has no unacknowledged
 * finding in its main configurations, and that every acknowledgement is both
 * explained and actually needed.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { createServiceApp } from '#lib/app.js';
import { ROUTE_AUTHENTICATION } from '#lib/constructs/http-api.js';
import { ROUTES, routeKey } from '#lib/routes.js';
import { cdkJsonContext, exampleContexts, newOutdir, PRODUCT_SOURCE } from './synth.js';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

const VARIANTS: Record<string, Record<string, unknown>> = {
  'development stage with the default Cognito login': {},
  'production stage with an external issuer, a custom domain and alarm e-mail': {
    stage: 'prod',
    production: true,
    ...PRODUCT_SOURCE,
    oidcIssuer: 'https://login.example.com',
    oidcClientId: 'notion-link-preview',
    oidcClientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/oidc-client',
    domainName: 'links.example.com',
    certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f6a2b1c-1111-2222-3333-444455556666',
    alarmEmail: 'ops@example.com',
  },
  'production stage with an existing alarm topic and Cognito': {
    stage: 'live',
    production: true,
    ...PRODUCT_SOURCE,
    alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops-pager',
    domainName: 'previews.example.com',
    certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f6a2b1c-1111-2222-3333-444455556666',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.com',
    unfurlReservedConcurrency: 20,
    workerReservedConcurrency: 10,
  },
  ...Object.fromEntries(exampleContexts().map((c) => [`docs/deployment.md example of stage ${String(c.stage)}`, c])),
};

interface Violation {
  readonly ruleName: string;
  readonly severity: string;
  readonly violatingConstructs: ReadonlyArray<{ readonly constructPath: string }>;
}
interface Report {
  readonly pluginReports: ReadonlyArray<{ readonly pluginName: string; readonly violations: readonly Violation[] }>;
}

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

interface Outcome {
  readonly threw: Error | undefined;
  readonly report: Report | undefined;
  readonly acknowledgements: readonly Acknowledgement[];
}

const readReport = (outdir: string): Report | undefined => {
  try {
    return JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as Report;
  } catch {
    return undefined;
  }
};

const acknowledgementsIn = (root: IConstruct): Acknowledgement[] =>
  root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason })),
        ),
    );

const synth = (context: Record<string, unknown>, extend?: (stack: IConstruct) => void): Outcome => {
  const outdir = newOutdir();
  try {
    const { app, stack } = createServiceApp(
      { outdir, context: { ...cdkJsonContext(), ...NO_BUNDLING, ...context } },
      {},
    );
    extend?.(stack);
    let threw: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      threw = e as Error;
    }
    return { threw, report: readReport(outdir), acknowledgements: acknowledgementsIn(app) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};

/** Synthesizes with every acknowledgement ignored, to list what each one hides. */
const synthWithoutAcknowledgements = (context: Record<string, unknown>): Outcome => {
  const original = Object.getOwnPropertyDescriptor(Validations.prototype, 'acknowledge')!;
  Object.defineProperty(Validations.prototype, 'acknowledge', { ...original, value: () => undefined });
  try {
    return synth(context);
  } finally {
    Object.defineProperty(Validations.prototype, 'acknowledge', original);
  }
};

const violationsOf = (report: Report | undefined): Violation[] =>
  (report?.pluginReports ?? []).filter((p) => p.pluginName === 'AwsSolutions').flatMap((p) => p.violations);

const outcomes = new Map<string, { clean: Outcome; bare: Outcome }>();

beforeAll(() => {
  for (const [name, context] of Object.entries(VARIANTS)) {
    outcomes.set(name, { clean: synth(context), bare: synthWithoutAcknowledgements(context) });
  }
}, 120_000);

afterAll(() => outcomes.clear());

describe.each(Object.keys(VARIANTS))('%s', (variant) => {
  it('synthesizes with zero unacknowledged AwsSolutions findings (errors or warnings)', () => {
    const { clean } = outcomes.get(variant)!;
    expect(clean.threw).toBeUndefined();
    expect(violationsOf(clean.report)).toEqual([]);
  });

  it('every acknowledgement hides a finding that really occurs there (none is stale)', () => {
    const { clean, bare } = outcomes.get(variant)!;
    // Without acknowledgements the pack must fail, so it is really running on this app.
    expect(bare.threw?.message).toMatch(/\(AwsSolutions\)[\s\S]*validation-report\.json/);
    const findings = violationsOf(bare.report).flatMap((v) =>
      v.violatingConstructs.map((c) => ({ rule: `AwsSolutions::${v.ruleName}`, path: c.constructPath })),
    );
    expect(clean.acknowledgements.length).toBeGreaterThan(0);
    for (const ack of clean.acknowledgements) {
      const hidden = findings.filter(
        (f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)),
      );
      expect({ ack: `${ack.id} at ${ack.path}`, hides: hidden.length > 0 }).toEqual({
        ack: `${ack.id} at ${ack.path}`,
        hides: true,
      });
    }
    // And every finding is covered by an acknowledgement (the clean synth proves it; this names them).
    for (const f of findings) {
      expect(
        clean.acknowledgements.some((a) => a.id === f.rule && (f.path === a.path || f.path.startsWith(`${a.path}/`))),
      ).toBe(true);
    }
  });
});

describe('acknowledgements', () => {
  it('each names one AwsSolutions rule on one construct and carries its own specific reason', () => {
    const all = [...outcomes.values()].flatMap((o) => o.clean.acknowledgements);
    const stackRoot = /^NotionLinkPreview-[a-z0-9-]+\/.+/;
    const reasonsByRule = new Map<string, Set<string>>();
    for (const ack of all) {
      expect(ack.id).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+[0-9]+$/);
      // On a construct inside the stack, never on the app or the whole stack.
      expect(ack.path).toMatch(stackRoot);
      expect(ack.reason.length).toBeGreaterThanOrEqual(80);
      expect(ack.reason).not.toMatch(/^(n\/a|none|todo|tbd|ok|fine|suppress(ed)?)\b/i);
      const rule = ack.id;
      reasonsByRule.set(rule, (reasonsByRule.get(rule) ?? new Set()).add(ack.reason));
    }
    // Different rules are never acknowledged with the same copy-pasted text.
    const reasons = [...reasonsByRule.entries()].flatMap(([rule, rs]) => [...rs].map((r) => ({ rule, r })));
    for (const a of reasons) {
      for (const b of reasons) if (a.rule !== b.rule) expect(a.r).not.toBe(b.r);
    }
    // Each secret explains its own rotation story.
    for (const { clean } of outcomes.values()) {
      const rotation = clean.acknowledgements.filter((a) => a.id.endsWith('SMG4'));
      expect(rotation.length).toBeGreaterThan(0);
      expect(new Set(rotation.map((a) => a.reason)).size).toBe(rotation.length);
    }
  });
  it('the API authorization acknowledgement says, for every route it covers, how that route authenticates its caller', () => {
    for (const { clean } of outcomes.values()) {
      const apig4 = clean.acknowledgements.filter((a) => a.id === 'AwsSolutions::AwsSolutions-APIG4');
      expect(apig4).toHaveLength(1);
      const reason = apig4[0]?.reason ?? '';
      for (const route of ROUTES) expect(reason).toContain(routeKey(route));
      for (const story of Object.values(ROUTE_AUTHENTICATION)) expect(reason).toContain(story);
    }
  });
});

describe('a new unacknowledged finding', () => {
  it('fails synthesis and is reported with its rule and construct', () => {
    const outcome = synth({}, (stack) => {
      new Queue(stack, 'UnsafeQueue', { enforceSSL: false });
    });
    expect(outcome.threw?.message).toMatch(/UnsafeQueue[\s\S]*AwsSolutions-SQS4/);
    const rules = violationsOf(outcome.report)
      .filter((v) => v.violatingConstructs.some((c) => c.constructPath.includes('/UnsafeQueue/')))
      .map((v) => v.ruleName)
      .sort();
    expect(rules).toEqual(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']);
  });
});

/**
 * Synthesizes the service app exactly as `bin/app.ts` does (cdk-nag included)
 * into a temporary directory, and offers readers for the resulting template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { createServiceApp } from '#lib/app.js';
import { PROJECT_ROOT } from '#lib/constructs/node-function.js';
import type { NotionLinkPreviewStack } from '#lib/notion-link-preview-stack.js';

export interface Synthesized {
  readonly stack: NotionLinkPreviewStack;
  readonly template: Template;
  readonly assembly: CloudAssembly;
  readonly outdir: string;
  /** Logical id of a construct's CloudFormation resource. */
  logicalId(construct: IConstruct): string;
  cleanup(): void;
}

export interface SynthOptions {
  readonly context?: Record<string, unknown>;
  /** Bundle the functions with esbuild (slower); otherwise CDK skips bundling. */
  readonly bundle?: boolean;
  /** Pinned account and region (default: environment-agnostic, or what context `account` / `region` pin). */
  readonly target?: { readonly account?: string; readonly region?: string };
}

/** A product's source settings that the functions accept: the http adapter, its mapping and one rule. */
export const PRODUCT_SOURCE = {
  sourceAdapter: 'http',
  sourceBaseUrl: 'https://api.example.com',
  sourceHttpMapping: { request: { path: '/tasks/$<taskId>' }, title: 'name' },
  unfurlRules: {
    domain: 'app.example.com',
    rules: [
      {
        name: 'task',
        pattern: '^https://app\\.example\\.com/tasks/(?<taskId>\\d+)$',
        sampleUrls: ['https://app.example.com/tasks/1'],
        resource: 'task:$<taskId>',
      },
    ],
  },
} as const;

/** The JSON blocks docs/deployment.md introduces as an example `cdk.context.json`. */
export const exampleContexts = (): Record<string, unknown>[] => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'deployment.md'), 'utf8');
  return [...doc.matchAll(/Example `cdk\.context\.json`[^\n]*(?:\n[^\n`]+)*\n\n```json\n([\s\S]*?)\n```/g)].map(
    (m) => JSON.parse(m[1] as string) as Record<string, unknown>,
  );
};

/**
 * The context of cdk.json (the feature flags and defaults the CDK CLI gives the app), so that the tests
 * synthesize what `cdk synth` does.
 */
export const cdkJsonContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
    .context;

export const newOutdir = (): string => mkdtempSync(path.join(tmpdir(), 'nlp-cdk-'));

export const synthService = ({ context = {}, bundle = false, target }: SynthOptions = {}): Synthesized => {
  const outdir = newOutdir();
  const { app, stack } = createServiceApp(
    {
      outdir,
      // Asset metadata as the CDK CLI writes it (sam local relies on it too).
      context: {
        ...cdkJsonContext(),
        'aws:cdk:enable-asset-metadata': true,
        ...context,
        ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      },
    },
    target,
  ); // environment-agnostic unless pinned, whatever CDK_DEFAULT_* the shell has
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template as Record<string, unknown>);
  return {
    stack,
    template,
    assembly,
    outdir,
    logicalId: (construct) => logicalIdOf(stack, construct),
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
};

export const logicalIdOf = (stack: Stack, construct: IConstruct): string => {
  const child = construct.node.defaultChild ?? construct;
  return stack.getLogicalId(child as CfnElement);
};

type Json = unknown;

/** A readable label for a policy resource: a name from `names`, plus any literal suffix. */
export const resourceLabel = (resource: Json, names: ReadonlyMap<string, string>): string => {
  if (typeof resource === 'string') return resource;
  const r = resource as Record<string, Json>;
  if ('Ref' in r) return names.get(r.Ref as string) ?? `Ref(${String(r.Ref)})`;
  if ('Fn::GetAtt' in r) {
    const [id] = r['Fn::GetAtt'] as [string, string];
    return names.get(id) ?? `GetAtt(${id})`;
  }
  if ('Fn::Join' in r) {
    const [sep, parts] = r['Fn::Join'] as [string, Json[]];
    return parts.map((p) => resourceLabel(p, names)).join(sep);
  }
  return JSON.stringify(resource);
};

interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json | Json[];
}

/** Every `action resource` pair the role may do, from all IAM policies attached to it, sorted. */
export const permissionsOfRole = (
  template: Template,
  roleLogicalId: string,
  names: ReadonlyMap<string, string>,
): string[] => {
  const lines = new Set<string>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const props = policy.Properties as {
      Roles: Array<{ Ref: string }>;
      PolicyDocument: { Statement: PolicyStatementJson[] };
    };
    if (!props.Roles.some((r) => r.Ref === roleLogicalId)) continue;
    for (const st of props.PolicyDocument.Statement) {
      if (st.Effect !== 'Allow') throw new Error(`unexpected ${st.Effect} statement`);
      for (const action of [st.Action].flat()) {
        for (const resource of [st.Resource].flat()) lines.add(`${action} ${resourceLabel(resource, names)}`);
      }
    }
  }
  return [...lines].sort();
};

/** Expands `{ resource: [actions] }` into sorted `action resource` lines. */
export const grants = (spec: Record<string, readonly string[]>): string[] =>
  Object.entries(spec)
    .flatMap(([resource, actions]) => actions.map((a) => `${a} ${resource}`))
    .sort();

/** Logical ids referenced (Ref, GetAtt, DependsOn) by each resource of a template. */
export const dependencyGraph = (templateJson: Record<string, Json>): Map<string, Set<string>> => {
  const resources = templateJson.Resources as Record<string, Record<string, Json>>;
  const graph = new Map<string, Set<string>>();
  const visit = (node: Json, out: Set<string>): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n, out);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Record<string, Json>)) {
        if (k === 'Ref' && typeof v === 'string' && v in resources) out.add(v);
        else if (k === 'Fn::GetAtt' && Array.isArray(v) && typeof v[0] === 'string' && v[0] in resources) out.add(v[0]);
        else if (k === 'Fn::Sub' && typeof v === 'string') {
          for (const m of v.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g))
            if (m[1] && m[1] in resources) out.add(m[1]);
        } else visit(v, out);
      }
    }
  };
  for (const [id, resource] of Object.entries(resources)) {
    const out = new Set<string>();
    visit(resource.Properties, out);
    for (const d of [resource.DependsOn ?? []].flat()) out.add(d as string);
    graph.set(id, out);
  }
  return graph;
};

/** A cycle in the graph as a list of ids, or undefined. */
export const findCycle = (graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined => {
  const state = new Map<string, 'open' | 'done'>();
  const stackPath: string[] = [];
  const dfs = (id: string): string[] | undefined => {
    state.set(id, 'open');
    stackPath.push(id);
    for (const next of graph.get(id) ?? []) {
      if (state.get(next) === 'open') return [...stackPath.slice(stackPath.indexOf(next)), next];
      if (!state.has(next)) {
        const found = dfs(next);
        if (found) return found;
      }
    }
    stackPath.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of graph.keys()) {
    if (!state.has(id)) {
      const found = dfs(id);
      if (found) return found;
    }
  }
  return undefined;
};

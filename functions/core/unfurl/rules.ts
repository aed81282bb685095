/**
 * Unfurl rules: the URL patterns of Notion's "Unfurling Domain & Patterns"
 * form, each with its placeholder attributes and the template of the source
 * adapter's resource key.
 *
 * A rule is the one and only gate between a uri Notion sends and a fetch: a
 * uri that matches no rule is answered with a 404 error operation and never
 * fetched (no server-side request forgery through the unfurl callback).
 */

import { MAX_RESOURCE_LENGTH } from '#core/changes/event.js';
import { ConfigError } from '#shared/errors.js';
import * as z from '#shared/zod.js';

export interface UnfurlRule {
  /** Notion's "Rule name". */
  readonly name: string;
  /** JS regex source with named groups, e.g. ^https?://127\.0\.0\.1:3000/demo/tasks/(?<taskId>\d+)$ */
  readonly pattern: string;
  readonly sampleUrls: readonly string[];
  /** Notion unfurl attribute objects shown while the callback is pending; may contain $<group> references. */
  readonly placeholder: readonly unknown[];
  /** Template of the source adapter's resource key, e.g. "task:$<taskId>". */
  readonly resource: string;
}

export interface UnfurlIntegration {
  /** Notion's "Unfurl URL Domain" (a host name). */
  readonly domain: string;
  readonly rules: readonly UnfurlRule[];
}

/** A uri that matched a rule: the rule, its named groups and the resolved resource key. */
export interface RuleMatch {
  readonly rule: UnfurlRule;
  readonly uri: string;
  readonly groups: Readonly<Record<string, string>>;
  readonly resourceKey: string;
}

/** Longest uri we try to match; Notion's own URL limit is 2,000 characters. */
export const MAX_URI_LENGTH = 2000;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The rules for the demo task tracker served at `${baseUrl}/demo`; the placeholder's `dev` names
 * `devName`, as the card that replaces it does (DEV_NAME).
 */
export function demoRules(baseUrl: string, devName = 'notion-link-preview'): UnfurlIntegration {
  const base = baseUrl.replace(/\/+$/, '');
  const url = new URL(base);
  const tasksPrefix = `${base}/demo/tasks/`;
  const hostAndPath = `${url.host}${url.pathname.replace(/\/+$/, '')}/demo/tasks/`;
  return {
    domain: url.hostname,
    rules: [
      {
        name: 'task',
        pattern: `^https?://${escapeRegExp(hostAndPath)}(?<taskId>\\d+)(?:[?#].*)?$`,
        sampleUrls: [`${tasksPrefix}1`, `${tasksPrefix}2?view=full`],
        placeholder: [
          {
            id: 'title',
            name: 'Title',
            type: 'inline',
            inline: { title: { value: 'Task #$<taskId>', section: 'title' } },
          },
          {
            id: 'dev',
            name: 'Developer Name',
            type: 'inline',
            inline: { plain_text: { value: devName, section: 'secondary' } },
          },
          {
            id: 'identifier',
            name: 'Task',
            type: 'inline',
            inline: { plain_text: { value: '#$<taskId>', section: 'identifier' } },
          },
        ],
        resource: 'task:$<taskId>',
      },
    ],
  };
}

/** Readable problems of a failed parse (zod/mini ships no locale). */
export const describeIssues = (issues: readonly z.core.$ZodIssue[]): string =>
  issues
    .map((i) => {
      const at = i.path.join('.') || '(root)';
      if (i.code === 'invalid_type') return `${at}: expected ${i.expected}`;
      if (i.code === 'too_small')
        return `${at}: must have at least ${String(i.minimum)} ${i.origin === 'string' ? 'characters' : 'items'}`;
      if (i.code === 'too_big')
        return `${at}: must have at most ${String(i.maximum)} ${i.origin === 'string' ? 'characters' : 'items'}`;
      if (i.code === 'invalid_format' && i.format === 'starts_with')
        return `${at}: must start with "${String((i as { prefix?: unknown }).prefix)}"`;
      if (i.code === 'invalid_value') return `${at}: must be one of ${i.values.map(String).join(', ')}`;
      return `${at}: ${i.message}`;
    })
    .join('; ');

const ruleSchema = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  pattern: z.string().check(z.minLength(1), z.maxLength(1000)),
  sampleUrls: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  placeholder: z._default(z.array(z.unknown()), []),
  resource: z.string().check(z.minLength(1), z.maxLength(500)),
});

const integrationSchema = z.object({
  domain: z.string().check(z.minLength(1), z.maxLength(253)),
  rules: z.array(ruleSchema).check(z.minLength(1)),
});

/**
 * Parses and checks an integration (JSON text or value): every pattern
 * compiles. `setting` names where it came from in the error messages.
 */
export function parseIntegration(input: unknown, setting = 'unfurl rules'): UnfurlIntegration {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new ConfigError(`${setting}: not valid JSON`);
    }
  }
  const parsed = integrationSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`${setting}: ${describeIssues(parsed.error.issues)}`);
  }
  for (const rule of parsed.data.rules) {
    try {
      compilePattern(rule);
    } catch (error) {
      throw error instanceof ConfigError ? new ConfigError(`${setting}: ${error.message}`) : error;
    }
  }
  return parsed.data;
}

const compiled = new WeakMap<UnfurlRule, RegExp>();

/** The rule's pattern as a RegExp (no `u` flag: Notion's own examples escape `:` and `/`). */
export function compilePattern(rule: UnfurlRule): RegExp {
  let re = compiled.get(rule);
  if (!re) {
    try {
      re = new RegExp(rule.pattern);
    } catch (error) {
      throw new ConfigError(`Rule "${rule.name}": pattern does not compile (${(error as Error).message})`);
    }
    compiled.set(rule, re);
  }
  return re;
}

/** Replaces every `$<group>` in `template` with the group's value ('' when the group did not take part). */
export function substitute(template: string, groups: Readonly<Record<string, string>>): string {
  return template.replace(/\$<([A-Za-z_$][\w$]*)>/g, (_, name: string) =>
    Object.hasOwn(groups, name) ? (groups[name] as string) : '',
  );
}

/** Deep copy of a placeholder (any JSON) with `$<group>` references substituted in every string. */
export function substituteDeep(value: unknown, groups: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return substitute(value, groups);
  if (Array.isArray(value)) return value.map((v) => substituteDeep(v, groups));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteDeep(v, groups)]));
  }
  return value;
}

/** True when `host` is the integration's domain or one of its sub-domains. */
const hostInDomain = (host: string, domain: string): boolean => {
  const h = host.toLowerCase();
  const d = domain.toLowerCase().replace(/^\.+|\.+$/g, '');
  return h === d || h.endsWith(`.${d}`);
};

/**
 * The first rule whose pattern matches `uri`, or undefined. Only http(s) URIs
 * under the integration's domain are considered, and only while the resource
 * key they give is one a change event can name (MAX_RESOURCE_LENGTH).
 */
export function matchUri(integration: UnfurlIntegration, uri: string): RuleMatch | undefined {
  if (uri.length === 0 || uri.length > MAX_URI_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (!hostInDomain(url.hostname, integration.domain)) return undefined;
  for (const rule of integration.rules) {
    const m = compilePattern(rule).exec(uri);
    if (!m) continue;
    // Prototype-less, like RegExp's own groups object: a group named `__proto__` or `constructor` is just a group.
    const groups: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) groups[k] = v;
    const resourceKey = substitute(rule.resource, groups);
    // A change event names at most MAX_RESOURCE_LENGTH characters: a longer key could never be updated.
    if (resourceKey.length > MAX_RESOURCE_LENGTH) return undefined;
    return { rule, uri, groups, resourceKey };
  }
  return undefined;
}

/** Problems with an integration's rules: each sample URL must match its own rule. */
export function checkSamples(integration: UnfurlIntegration): string[] {
  const problems: string[] = [];
  for (const rule of integration.rules) {
    let re: RegExp;
    try {
      re = compilePattern(rule);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    if (rule.sampleUrls.length === 0) problems.push(`Rule "${rule.name}": no sample URL`);
    for (const sample of rule.sampleUrls) {
      if (!re.test(sample))
        problems.push(`Rule "${rule.name}": pattern ${rule.pattern} does not match sample URL ${sample}`);
      else {
        let host = '';
        try {
          host = new URL(sample).hostname;
        } catch {
          /* reported below */
        }
        if (!hostInDomain(host, integration.domain)) {
          problems.push(`Rule "${rule.name}": sample URL ${sample} is not under the domain ${integration.domain}`);
        }
      }
    }
  }
  return problems;
}

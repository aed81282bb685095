/**
 * The generic HTTP JSON source adapter (SOURCE_ADAPTER=http): calls the
 * team's own API as the user, with the user's upstream (OIDC) access token,
 * and maps fields of the JSON answer to attributes declaratively.
 *
 * The mapping (SOURCE_HTTP_MAPPING, JSON) looks like this:
 *
 *   {
 *     "request": { "path": "/items/$<itemNo>", "headers": { "accept": "application/json" } },
 *     "title": "name",
 *     "dev": "Acme Inc",
 *     "attributes": [
 *       { "id": "state", "name": "State", "kind": "enum", "value": "state.label", "color": "state.colour" },
 *       { "id": "due", "name": "Due", "kind": "date", "value": "due_on" },
 *       { "id": "owner", "name": "Owner", "kind": "plain_text", "section": "avatar", "value": "owner.name" },
 *       { "id": "summary", "name": "Summary", "kind": "plain_text", "section": "body", "template": "{count} items by {owner.name}" },
 *       { "id": "cover", "name": "Cover", "kind": "image", "value": "cover.url" }
 *     ]
 *   }
 *
 * `request.path` is appended to SOURCE_BASE_URL; `$<group>` references take
 * the rule's named groups, percent-encoded, and the resulting URL must stay
 * under SOURCE_BASE_URL and on the mapping's path (a group that makes a path
 * segment `.`, `..` or empty is not fetched: not_found). Field paths are dotted
 * (`a.b.0.c`). Answers: 200 → found; 401 → needs_auth; 403 → forbidden;
 * 404 → not_found; 410 → gone; anything else → source unavailable.
 */

import {
  type FetchFunction,
  outcomeForStatus,
  type ResolveOutcome,
  type SourceAdapter,
  SourceUnavailableError,
} from '#core/sources/source-adapter.js';
import {
  type AttributeKind,
  attr,
  hexColor,
  type Rgb,
  SECTION_KINDS,
  type Section,
  type UnfurlAttribute,
} from '#core/unfurl/attributes.js';
import { describeIssues, type RuleMatch, type UnfurlIntegration } from '#core/unfurl/rules.js';
import { ENV } from '#lib/env-names.js';
import { ConfigError } from '#shared/errors.js';
import * as z from '#shared/zod.js';
import { rulesFromConfig } from '../config/unfurl-rules.js';
import { defineSourceAdapter } from './define.js';
import { sourceGet } from './http-get.js';

const KINDS = ['plain_text', 'enum', 'date', 'datetime', 'color', 'image', 'video', 'audio', 'html', 'pdf'] as const;
type MappedKind = (typeof KINDS)[number];

/** The mapping's schema, built on first use: only a deployment whose source is `http` reads a mapping. */
const buildMappingSchema = () => {
  const attributeMapping = z
    .object({
      id: z.string().check(
        z.minLength(1),
        z.maxLength(100),
        z.refine((v) => v !== 'title' && v !== 'dev', 'ids "title" and "dev" are reserved'),
      ),
      name: z.string().check(z.maxLength(200)),
      kind: z.enum(KINDS),
      section: z.optional(z.enum(Object.keys(SECTION_KINDS) as [Section, ...Section[]])),
      value: z.optional(z.string().check(z.minLength(1))),
      template: z.optional(z.string().check(z.minLength(1))),
      color: z.optional(z.string().check(z.minLength(1))),
    })
    .check(
      z.refine(
        (a) => (a.value === undefined) !== (a.template === undefined),
        'give exactly one of "value" and "template"',
      ),
      z.refine((a) => a.section === undefined || SECTION_KINDS[a.section].includes(a.kind as AttributeKind), {
        message: 'this kind may not render in that section',
      }),
    );

  return z.object({
    request: z.object({
      path: z.string().check(z.startsWith('/')),
      headers: z._default(z.record(z.string(), z.string()), {}),
    }),
    title: z.string().check(z.minLength(1)),
    dev: z.optional(z.string()),
    attributes: z._default(z.array(attributeMapping).check(z.maxLength(50)), []),
  });
};
let mappingSchema: ReturnType<typeof buildMappingSchema> | undefined;

export type HttpJsonMapping = z.infer<ReturnType<typeof buildMappingSchema>>;

const DEFAULT_SECTION: Record<MappedKind, Section> = {
  plain_text: 'secondary',
  enum: 'primary',
  date: 'secondary',
  datetime: 'secondary',
  color: 'entity',
  image: 'embed',
  video: 'embed',
  audio: 'embed',
  html: 'embed',
  pdf: 'embed',
};

/** Parses and checks a mapping (JSON text or value); throws a ConfigError naming the problem. */
export const parseHttpJsonMapping = (input: unknown): HttpJsonMapping => {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new ConfigError('SOURCE_HTTP_MAPPING: not valid JSON');
    }
  }
  mappingSchema ??= buildMappingSchema();
  const parsed = mappingSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`SOURCE_HTTP_MAPPING: ${describeIssues(parsed.error.issues)}`);
  }
  return parsed.data;
};

/** The value at a dotted path (`a.b.0.c`), or undefined. */
export const pick = (data: unknown, path: string): unknown => {
  let cur: unknown = data;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
};

const asText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** Fills `{path}` placeholders with text values of `data` (missing → empty). */
export const fillTemplate = (template: string, data: unknown): string =>
  template.replace(/\{([\w.-]+)\}/g, (_, p: string) => asText(pick(data, p)) ?? '');

const asColor = (v: unknown): Rgb | undefined => {
  if (typeof v === 'string') return hexColor(v);
  if (v !== null && typeof v === 'object') {
    const { r, g, b } = v as Record<string, unknown>;
    if (typeof r === 'number' && typeof g === 'number' && typeof b === 'number') return { r, g, b };
  }
  return undefined;
};

/** Builds one attribute from the answer; undefined when the field is absent or unusable. */
const mapAttribute = (m: HttpJsonMapping['attributes'][number], data: unknown): UnfurlAttribute | undefined => {
  const raw = m.template !== undefined ? fillTemplate(m.template, data) : pick(data, m.value ?? '');
  const section = (m.section ?? DEFAULT_SECTION[m.kind]) as never;
  if (m.kind === 'color') {
    const c = asColor(raw);
    return c ? attr.color(m.id, m.name, c, section) : undefined;
  }
  const text = asText(raw);
  if (text === undefined || text === '') return undefined;
  switch (m.kind) {
    case 'plain_text':
      return attr.plainText(m.id, m.name, text, section);
    case 'enum':
      return attr.enum(m.id, m.name, text, m.color ? asColor(pick(data, m.color)) : undefined, section);
    case 'date':
      return attr.date(m.id, m.name, text, section);
    case 'datetime':
      return attr.datetime(m.id, m.name, text, section);
    case 'image':
      return attr.image(m.id, m.name, text, section);
    default:
      return attr[m.kind](m.id, m.name, text);
  }
};

export interface HttpJsonAdapterOptions {
  /** The team's API base URL (SOURCE_BASE_URL). */
  readonly baseUrl: string;
  readonly mapping: HttpJsonMapping;
  /** Replaces the default HTTP client (http-get.ts) with a fetch function: tests, custom transports. */
  readonly fetch?: FetchFunction;
}

/** `.` and `..` path segments, as the URL parser reads them (`%2e` is a dot too). */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * The URL to fetch for a match, or undefined when it would leave the base URL or take another path
 * than the mapping's: a group filling a path segment with `.` or `..` (the URL parser would remove
 * it, with the segment before), or leaving one empty (`/items/` is not an item).
 */
export const requestUrl = (baseUrl: string, path: string, match: RuleMatch): string | undefined => {
  const base = new URL(baseUrl.replace(/\/+$/, ''));
  const fill = (template: string) =>
    template.replace(/\$<([A-Za-z_$][\w$]*)>/g, (_, name: string) =>
      encodeURIComponent(Object.hasOwn(match.groups, name) ? (match.groups[name] as string) : ''),
    );
  const split = path.search(/[?#]/);
  const [pathPart, rest] = split === -1 ? [path, ''] : [path.slice(0, split), path.slice(split)];
  const templateSegments = pathPart.split('/');
  const filledPath = fill(pathPart);
  const filledSegments = filledPath.split('/');
  // encodeURIComponent keeps a group inside its segments; compare them one by one with the template's.
  if (filledSegments.length !== templateSegments.length) return undefined;
  for (const [i, segment] of filledSegments.entries()) {
    const template = templateSegments[i] as string;
    if (segment === template) continue;
    if (segment === '' || DOT_SEGMENT.test(segment)) return undefined;
  }
  const filled = `${filledPath}${fill(rest)}`;
  let url: URL;
  try {
    url = new URL(`${base.href.replace(/\/+$/, '')}${filled}`);
  } catch {
    return undefined;
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  if (url.origin !== base.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`)))
    return undefined;
  return url.href;
};

const GROUP_REFERENCE = /\$<([A-Za-z_$][\w$]*)>/g;
/** `(?<name>` in a pattern: a named group (lookbehinds `(?<=` and `(?<!` do not match). */
const NAMED_GROUP = /\(\?<([A-Za-z_$][\w$]*)>/g;

/**
 * What the mapping's `request.path` names that a rule does not capture: such a reference is filled with
 * nothing, so every link of that rule would be answered "not found" without a request. One line per rule.
 */
export const mappingGroupProblems = (mapping: HttpJsonMapping, integration: UnfurlIntegration): string[] => {
  const referenced = [...new Set([...mapping.request.path.matchAll(GROUP_REFERENCE)].map((m) => m[1] as string))];
  return integration.rules.flatMap((rule) => {
    const groups = new Set([...rule.pattern.matchAll(NAMED_GROUP)].map((m) => m[1] as string));
    const missing = referenced.filter((name) => !groups.has(name));
    if (missing.length === 0) return [];
    const captured = groups.size > 0 ? [...groups].map((g) => `$<${g}>`).join(', ') : 'no named group';
    return [
      `request.path uses ${missing.map((g) => `$<${g}>`).join(', ')}, which rule "${rule.name}" of ${ENV.UNFURL_RULES} does not capture (it captures ${captured})`,
    ];
  });
};

export const httpJsonAdapter = (options: HttpJsonAdapterOptions): SourceAdapter => {
  const { mapping } = options;
  const get = sourceGet(options.fetch);
  return {
    name: 'http',
    async resolve(match, _identity, credentials, context): Promise<ResolveOutcome> {
      const url = requestUrl(options.baseUrl, mapping.request.path, match);
      if (url === undefined) return { outcome: 'not_found' };
      const token = await credentials.accessToken();
      if (token === undefined) return { outcome: 'needs_auth' };
      const answer = await get(url, {
        headers: { accept: 'application/json', ...mapping.request.headers, authorization: `Bearer ${token}` },
        signal: context.signal,
      });
      if (answer.status !== 200) {
        answer.discard();
        const outcome = outcomeForStatus(answer.status);
        if (outcome === undefined) throw new SourceUnavailableError(`source answered HTTP ${answer.status}`);
        return { outcome };
      }
      const data = await answer.json();
      const title = asText(pick(data, mapping.title));
      if (title === undefined)
        throw new SourceUnavailableError(`source answer lacks the title field "${mapping.title}"`);
      return {
        outcome: 'found',
        model: {
          title,
          ...(mapping.dev !== undefined ? { dev: mapping.dev } : {}),
          attributes: mapping.attributes.map((m) => mapAttribute(m, data)),
        },
      };
    },
  };
};

/** SOURCE_ADAPTER=http: the generic HTTP JSON adapter (SOURCE_BASE_URL and SOURCE_HTTP_MAPPING). */
export const httpSource = defineSourceAdapter({
  name: 'http',
  description: 'Any JSON API, through a declarative field mapping',
  create: ({ config, fetch }) => {
    const baseUrl = config.unfurl.sourceBaseUrl;
    if (!baseUrl) throw new ConfigError(`Missing required setting ${ENV.SOURCE_BASE_URL}`);
    if (!config.unfurl.httpMapping) throw new ConfigError(`Missing required setting ${ENV.SOURCE_HTTP_MAPPING}`);
    const mapping = parseHttpJsonMapping(config.unfurl.httpMapping);
    // The rules the functions use (UNFURL_RULES, else the demo rules); without either the rules' own check names it.
    if (config.unfurl.rules !== undefined || config.publicBaseUrl !== undefined) {
      const problems = mappingGroupProblems(mapping, rulesFromConfig(config));
      if (problems.length > 0) throw new ConfigError(`${ENV.SOURCE_HTTP_MAPPING}: ${problems.join('; ')}`);
    }
    return httpJsonAdapter({
      baseUrl,
      mapping,
      ...(fetch ? { fetch } : {}),
    });
  },
});

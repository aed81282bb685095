/**
 * Source adapter for the demo task tracker (local/demo-product): calls the
 * product's JSON API over HTTP, as a team's adapter would call its product.
 *
 * The adapter proves who is asking with a short-lived service assertion: a
 * JWT the service signs with its asymmetric assertion key (ES256 or EdDSA)
 * whose `sub` is the user's upstream subject and whose audience is the
 * product's API (docs/adr/0128). The product verifies it with the public keys
 * at GET /.well-known/jwks.json, applies that user's access rules and answers
 * 200, 403, 404 or 410.
 */
import type { ServiceAssertions } from '#core/sources/assertions.js';
import {
  type FetchFunction,
  outcomeForStatus,
  type PreviewModel,
  type ResolveContext,
  type ResolveOutcome,
  type SourceAdapter,
  SourceUnavailableError,
  type UserIdentity,
} from '#core/sources/source-adapter.js';
import { attr, hexColor, type UnfurlAttribute } from '#core/unfurl/attributes.js';
import type { RuleMatch } from '#core/unfurl/rules.js';
import { ENV } from '#lib/env-names.js';
import { ConfigError } from '#shared/errors.js';
import { defineSourceAdapter, type SourceAdapterEnvironment } from './define.js';
import { sourceGet } from './http-get.js';

export { SERVICE_ASSERTION_TTL_SECONDS } from '#core/sources/assertions.js';

/** Audience of the assertions: the product's API base URL. */
export const demoApiAudience = (apiBaseUrl: string): string => `${apiBaseUrl.replace(/\/+$/, '')}/api`;

/** The JSON the demo product's API serves for one task (GET /demo/api/tasks/<id>). */
export interface DemoTaskJson {
  readonly id: string;
  readonly title: string;
  readonly url: string;
  readonly status: { readonly name: string; readonly color: string };
  readonly assignee: { readonly subject: string; readonly name: string } | null;
  readonly due: string | null;
  readonly updatedAt: string;
  readonly priority: 'low' | 'medium' | 'high';
  readonly description: string;
  readonly embed: { readonly kind: 'image' | 'video' | 'audio' | 'html' | 'pdf'; readonly url: string } | null;
}

const PRIORITY_COLOURS = { low: '#9aa0a6', medium: '#f2a900', high: '#d93025' } as const;

const isTask = (v: unknown): v is DemoTaskJson => {
  if (v === null || typeof v !== 'object') return false;
  const t = v as Record<string, unknown>;
  const status = t.status as Record<string, unknown> | null | undefined;
  return (
    typeof t.id === 'string' &&
    typeof t.title === 'string' &&
    typeof t.updatedAt === 'string' &&
    typeof t.description === 'string' &&
    typeof status?.name === 'string' &&
    typeof status.color === 'string'
  );
};

/** The preview of one task: every attribute kind the tracker has data for. */
export const taskPreview = (task: DemoTaskJson): PreviewModel => {
  const attributes: (UnfurlAttribute | undefined)[] = [
    attr.plainText('identifier', 'Task', `#${task.id}`, 'identifier'),
    attr.enum('status', 'Status', task.status.name, hexColor(task.status.color)),
    task.due ? attr.date('due', 'Due', task.due, 'secondary') : undefined,
    attr.datetime('updated', 'Updated', task.updatedAt, 'secondary'),
    attr.plainText('assignee', 'Assignee', task.assignee?.name ?? 'Unassigned', 'avatar'),
    attr.color(
      'priority',
      `Priority: ${task.priority}`,
      hexColor(Object.hasOwn(PRIORITY_COLOURS, task.priority) ? PRIORITY_COLOURS[task.priority] : '#9aa0a6') ?? {
        r: 0,
        g: 0,
        b: 0,
      },
    ),
    task.description ? attr.plainText('description', 'Description', task.description, 'body') : undefined,
  ];
  if (task.embed) {
    const { kind, url } = task.embed;
    const builders = { image: attr.image, video: attr.video, audio: attr.audio, html: attr.html, pdf: attr.pdf };
    if (Object.hasOwn(builders, kind)) attributes.push(builders[kind]('embed', 'Attachment', url));
  }
  return { title: task.title, attributes };
};

export interface DemoAdapterOptions {
  /** The product's base URL, e.g. http://127.0.0.1:3000/demo (SOURCE_BASE_URL). */
  readonly baseUrl: string;
  /** Signs the per-user service assertions (TOKEN_SIGNING_KEY's assertion key; docs/adr/0128). */
  readonly assertions: ServiceAssertions;
  /** Replaces the default HTTP client (http-get.ts) with a fetch function: tests, custom transports. */
  readonly fetch?: FetchFunction;
  /** Epoch ms; injected for tests. */
  readonly now?: () => number;
}

/** Resource keys this adapter understands: `task:<digits>`. */
export const taskIdOf = (match: RuleMatch): string | undefined => /^task:(\d{1,12})$/.exec(match.resourceKey)?.[1];

/** A task as `identity` may see it, or the outcome that stands for it. */
export type TaskLookup =
  | { readonly outcome: 'found'; readonly task: DemoTaskJson }
  | { readonly outcome: 'not_found' | 'forbidden' | 'needs_auth' | 'gone' };

export interface DemoTaskClient {
  /** Fetches task `id` as `identity` from the product's JSON API. */
  getTask(id: string, identity: UserIdentity, signal: AbortSignal): Promise<TaskLookup>;
}

/** The demo product's API client: service assertion per user, HTTP status → outcome. */
export const demoTaskClient = (options: DemoAdapterOptions): DemoTaskClient => {
  const base = options.baseUrl.replace(/\/+$/, '');
  const audience = demoApiAudience(base);
  const get = sourceGet(options.fetch);

  return {
    async getTask(id, identity, signal) {
      const assertion = await options.assertions.sign(identity.subject, audience);
      const answer = await get(`${base}/api/tasks/${encodeURIComponent(id)}`, {
        headers: { accept: 'application/json', authorization: `Bearer ${assertion}` },
        signal,
      });
      if (answer.status === 200) {
        const body = await answer.json();
        if (!isTask(body)) throw new SourceUnavailableError('demo product answered with an unexpected task shape');
        return { outcome: 'found', task: body };
      }
      answer.discard();
      // 401 means the product refused our service assertion: a configuration fault, not the user's.
      if (answer.status === 401) throw new SourceUnavailableError('demo product rejected the service assertion');
      const outcome = outcomeForStatus(answer.status);
      if (outcome === undefined) throw new SourceUnavailableError(`demo product answered HTTP ${answer.status}`);
      return { outcome };
    },
  };
};

/** The source adapter for the demo product (SOURCE_ADAPTER=demo, the default). */
export const demoProductAdapter = (options: DemoAdapterOptions): SourceAdapter => {
  const client = demoTaskClient(options);
  return {
    name: 'demo',
    async resolve(
      match: RuleMatch,
      identity: UserIdentity,
      _credentials,
      context: ResolveContext,
    ): Promise<ResolveOutcome> {
      const id = taskIdOf(match);
      if (id === undefined) return { outcome: 'not_found' };
      const lookup = await client.getTask(id, identity, context.signal);
      return lookup.outcome === 'found' ? { outcome: 'found', model: taskPreview(lookup.task) } : lookup;
    },
  };
};

/** The demo product's options from the configuration (the example adapter uses the same product). */
export const demoOptions = ({
  config,
  fetch,
  now,
  serviceAssertions,
}: SourceAdapterEnvironment): DemoAdapterOptions => {
  const baseUrl = config.unfurl.sourceBaseUrl ?? (config.publicBaseUrl ? `${config.publicBaseUrl}/demo` : undefined);
  if (!baseUrl) throw new ConfigError(`Missing required setting ${ENV.SOURCE_BASE_URL} (or ${ENV.PUBLIC_BASE_URL})`);
  if (!serviceAssertions) throw new ConfigError('The demo source adapter needs service assertions (TOKEN_SIGNING_KEY)');
  return { baseUrl, assertions: serviceAssertions, ...(fetch ? { fetch } : {}), ...(now ? { now } : {}) };
};

/** SOURCE_ADAPTER=demo: the local demo task tracker (SOURCE_BASE_URL defaults to PUBLIC_BASE_URL/demo). */
export const demoSource = defineSourceAdapter({
  name: 'demo',
  description: 'The demo task tracker, with per-user service assertions',
  create: (env) => demoProductAdapter(demoOptions(env)),
});

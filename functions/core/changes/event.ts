/**
 * Change events: what a team's product tells us when one of its resources
 * changed. Two shapes, one meaning (see docs/change-events.md):
 *
 * - the body of the signed webhook `POST /changes`:
 *     {"uri": "<a previewed URL>", "changed_at": "<ISO-8601>", "fields": ["status"]}
 *     {"resource": "<the adapter's resource key>", "changed_at": "<ISO-8601>"}
 * - the message a product (or the webhook) puts on the update queue: the same
 *   fields plus `"type": "change"` and an idempotency `"id"`.
 *
 * Exactly one of `uri` and `resource`; `fields` is optional and advisory. No
 * other key is accepted, so a typo is a clear error rather than a silent no-op.
 */
import * as z from '#shared/zod.js';

export const MAX_URI_LENGTH = 2000;
export const MAX_RESOURCE_LENGTH = 500;
export const MAX_ID_LENGTH = 200;
export const MAX_FIELDS = 100;
export const MAX_FIELD_LENGTH = 100;

/** The change event as it travels on the update queue (contract, version 1). */
export interface ChangeMessage {
  readonly type: 'change';
  /** Idempotency id: the webhook-id for webhooks, a UUID from the publisher otherwise. */
  readonly id: string;
  readonly resource?: string;
  readonly uri?: string;
  readonly changed_at: string;
  readonly fields?: readonly string[];
}

/** The body of `POST /changes` (contract). */
export interface ChangeBody {
  readonly resource?: string;
  readonly uri?: string;
  readonly changed_at: string;
  readonly fields?: readonly string[];
}

/** Not empty, and neither starts nor ends with white space (what `s.trim() === s` checks). */
export const NON_BLANK = /^\S(?:[\s\S]*\S)?$/;

/** ISO-8601 date-time with a time zone; the value must also be a date `Date.parse` accepts. */
export const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

const nonBlank = (max: number) =>
  z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') }).check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(max, `must be at most ${max} characters`),
    z.refine((s) => NON_BLANK.test(s), 'must not be blank or padded with spaces'),
  );

const isoDateTime = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be an ISO-8601 date-time string') })
  .check(
    z.refine(
      (s) => ISO_DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)),
      'must be an ISO-8601 date-time with a time zone, e.g. 2026-01-15T12:00:00Z',
    ),
  );

const httpUri = nonBlank(MAX_URI_LENGTH).check(
  z.refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL'),
);

const fields = z
  .array(nonBlank(MAX_FIELD_LENGTH), { error: 'must be an array of field names' })
  .check(z.maxLength(MAX_FIELDS, `must list at most ${MAX_FIELDS} names`));

const bodyShape = {
  resource: z.optional(nonBlank(MAX_RESOURCE_LENGTH)),
  uri: z.optional(httpUri),
  changed_at: isoDateTime,
  fields: z.optional(fields),
};

const exactlyOneTarget = (
  v: { resource?: string | undefined; uri?: string | undefined },
  ctx: z.core.$RefinementCtx,
) => {
  if (v.resource === undefined && v.uri === undefined) {
    ctx.addIssue({ code: 'custom', message: 'one of "uri" or "resource" is required', path: [] });
  } else if (v.resource !== undefined && v.uri !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'give either "uri" or "resource", not both', path: [] });
  }
};

/** The body of `POST /changes` (docs/change-event.schema.json is generated from it). */
export const changeBodySchema = z.strictObject(bodyShape).check(z.superRefine(exactlyOneTarget));

/** A change message on the update queue (the schema file's `$defs.queueMessage`). */
export const changeMessageSchema = z
  .strictObject({
    type: z.literal('change'),
    id: nonBlank(MAX_ID_LENGTH),
    ...bodyShape,
  })
  .check(z.superRefine(exactlyOneTarget));

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/** One sentence naming what is wrong, e.g. `"changed_at": is required`. */
const describe = (error: z.core.$ZodError): string =>
  error.issues
    .slice(0, 3)
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      const path = issue.path.map(String);
      return path.length > 0 ? `"${path.join('.')}" ${issue.message}` : issue.message;
    })
    .join('; ');

const strip = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** Validates the JSON body of `POST /changes`. */
export const parseChangeBody = (body: unknown): Parsed<ChangeBody> => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, problem: 'the body must be a JSON object' };
  }
  const r = changeBodySchema.safeParse(body);
  return r.success ? { ok: true, value: strip(r.data) as ChangeBody } : { ok: false, problem: describe(r.error) };
};

/** Validates a change message taken from the queue (or about to be put there). */
export const parseChangeMessage = (value: unknown): Parsed<ChangeMessage> => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: 'a change message must be a JSON object' };
  }
  const r = changeMessageSchema.safeParse(value);
  return r.success ? { ok: true, value: strip(r.data) as ChangeMessage } : { ok: false, problem: describe(r.error) };
};

/** The queue message for a validated body. */
export const toChangeMessage = (id: string, body: ChangeBody): ChangeMessage => ({
  type: 'change',
  id,
  ...(body.resource !== undefined ? { resource: body.resource } : {}),
  ...(body.uri !== undefined ? { uri: body.uri } : {}),
  changed_at: body.changed_at,
  ...(body.fields !== undefined ? { fields: body.fields } : {}),
});

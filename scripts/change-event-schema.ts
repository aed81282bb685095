/**
 * Generates docs/change-event.schema.json, the JSON Schema of change events,
 * from the zod schemas the service validates them with
 * (functions/core/changes/event.ts):
 *
 *   npm run schema:change-event              # prints the schema
 *   npm run schema:change-event -- --write   # rewrites docs/change-event.schema.json
 *   npm run schema:change-event -- --check   # exits 1 when the committed file is stale
 *
 * The root schema is the body of `POST /changes`; `$defs.queueMessage` is the
 * message a product puts on the update queue. zod's own checks (types,
 * lengths, required and unknown keys) come out of `z.toJSONSchema`; its
 * refinements are functions, so their JSON Schema equivalents are added here:
 * the no-padding and date-time patterns (the same regular expressions the
 * refinements test), the http(s) prefix of `uri`, and "exactly one of
 * `resource` and `uri`". Dates are also checked with `Date.parse` by the
 * service (a 13th month passes the pattern, not the service).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { toJSONSchema } from 'zod';
import { changeBodySchema, changeMessageSchema, ISO_DATE_TIME, NON_BLANK } from '#core/changes/event.js';
import { type CliArgs, type CliSpec, GENERATOR_OPTIONS, isEntryPoint, runCli, runGenerator } from './cli.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../docs/change-event.schema.json', import.meta.url));
export const REFRESH_COMMAND = 'npm run schema:change-event -- --write';

/** A URL the service accepts starts with http: or https: (any case) and is not padded. */
export const HTTP_URI = /^[Hh][Tt][Tt][Pp][Ss]?:(?:[\s\S]*\S)?$/;

type Json = { [key: string]: unknown };

const DESCRIPTIONS: Record<string, string> = {
  resource:
    "The source adapter's resource key, what a URL rule's resource template produces (e.g. task:42). Give exactly one of resource and uri.",
  uri: 'A previewed URL (absolute http or https) that matches one of the configured URL rules. Give exactly one of resource and uri.',
  changed_at:
    'When the change happened: ISO-8601 date-time with a time zone (Z or ±hh:mm), e.g. 2026-01-15T12:00:00Z. Informational.',
  fields: 'Names of the changed fields; advisory.',
  type: 'Always "change".',
  id: 'Idempotency id: the webhook-id of a webhook, a UUID from the queue publisher.',
};

/** Adds the refinements' JSON Schema equivalents and descriptions to one object schema. */
const refine = (schema: Json): Json => {
  const properties = schema.properties as Record<string, Json>;
  for (const [name, property] of Object.entries(properties)) {
    const items = property.items as Json | undefined;
    if (name === 'changed_at') property.pattern = ISO_DATE_TIME.source;
    else if (name === 'uri') property.pattern = HTTP_URI.source;
    else if (property.type === 'string' && property.const === undefined) property.pattern = NON_BLANK.source;
    else if (items?.type === 'string') items.pattern = NON_BLANK.source;
    const description = DESCRIPTIONS[name];
    if (description === undefined) throw new Error(`No description for the change-event field "${name}"`);
    properties[name] = { description, ...property };
  }
  return { ...schema, oneOf: [{ required: ['resource'] }, { required: ['uri'] }] };
};

/** The JSON Schema of change events, as an object. */
export const changeEventJsonSchema = (): Json => {
  const { $schema, ...body } = toJSONSchema(changeBodySchema) as Json;
  const { $schema: _, ...message } = toJSONSchema(changeMessageSchema) as Json;
  return {
    $schema,
    title: 'Change event',
    description:
      'Body of POST /changes, the signed webhook that tells notion-link-preview a resource changed (docs/change-events.md). $defs.queueMessage is the same event as a message on the update queue.',
    $comment: `Generated from functions/core/changes/event.ts by ${REFRESH_COMMAND}; do not edit.`,
    ...refine(body),
    $defs: {
      queueMessage: {
        title: 'Change message on the update queue',
        ...refine(message),
      },
    },
  };
};

/** The file's text: JSON formatted the way `biome format` leaves it, so `npm run lint` passes. */
export const renderChangeEventSchema = (): string => {
  const json = `${JSON.stringify(changeEventJsonSchema(), null, 2)}\n`;
  const biome = fileURLToPath(new URL('../node_modules/@biomejs/biome/bin/biome', import.meta.url));
  return execFileSync(process.execPath, [biome, 'format', `--stdin-file-path=${SCHEMA_FILE}`], {
    input: json,
    encoding: 'utf8',
  });
};

const CLI = {
  name: 'schema:change-event',
  usage: ['npm run schema:change-event -- [--write | --check]'],
  description:
    'The JSON Schema of change events, generated from the zod schemas POST /changes validates with.\nWithout an option it prints the schema; it writes the committed file only with --write.',
  options: GENERATOR_OPTIONS,
  notes: ['Exit status: 0 done (or up to date), 1 out of date or failed, 2 wrong usage.'],
} as const satisfies CliSpec;

const main = ({ values }: CliArgs<typeof CLI.options>): number =>
  runGenerator(
    values,
    [{ path: SCHEMA_FILE, label: 'docs/change-event.schema.json', render: renderChangeEventSchema }],
    REFRESH_COMMAND,
  );

if (isEntryPoint(import.meta.url)) process.exitCode = await runCli(CLI, process.argv.slice(2), main);

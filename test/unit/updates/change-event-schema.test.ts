/**
 * docs/change-event.schema.json is what scripts/change-event-schema.ts
 * generates from the zod schemas, and it agrees with the service: every event
 * the service accepts is valid under it, and it rejects what it can express
 * (types, lengths, padding, unknown keys, exactly one of resource and uri).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseChangeBody, parseChangeMessage } from '#core/changes/event.js';
import { changeEventJsonSchema, REFRESH_COMMAND } from '../../../scripts/change-event-schema.js';

type Schema = { readonly [key: string]: unknown };
const committed = JSON.parse(readFileSync(new URL('../../../docs/change-event.schema.json', import.meta.url), 'utf8'));
const generated = changeEventJsonSchema();
const queueMessage = (committed.$defs as Record<string, Schema>).queueMessage as Schema;

const ANNOTATIONS = new Set(['$schema', '$comment', '$defs', 'title', 'description']);

/**
 * Validates against the keywords this schema uses (draft 2020-12 semantics:
 * lengths count code points, patterns are unanchored ECMA-262 expressions).
 * Any other keyword fails loudly, so a new one gets a test before it is trusted.
 */
const valid = (schema: Schema, value: unknown): boolean =>
  Object.entries(schema).every(([keyword, arg]) => {
    const s = typeof value === 'string' ? value : undefined;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    const obj = value as Record<string, unknown>;
    switch (keyword) {
      case 'type':
        return arg === 'object'
          ? typeof value === 'object' && value !== null && !Array.isArray(value)
          : arg === 'array'
            ? Array.isArray(value)
            : typeof value === arg;
      case 'const':
        return value === arg;
      case 'minLength':
        return s === undefined || [...s].length >= (arg as number);
      case 'maxLength':
        return s === undefined || [...s].length <= (arg as number);
      case 'pattern':
        return s === undefined || new RegExp(arg as string, 'u').test(s);
      case 'maxItems':
        return !Array.isArray(value) || value.length <= (arg as number);
      case 'items':
        return !Array.isArray(value) || value.every((v) => valid(arg as Schema, v));
      case 'properties':
        return Object.entries(props).every(([k, p]) => !(k in obj) || valid(p, obj[k]));
      case 'required':
        return (arg as string[]).every((k) => Object.hasOwn(obj, k));
      case 'additionalProperties':
        return arg !== false || Object.keys(obj).every((k) => k in props);
      case 'oneOf':
        return (arg as Schema[]).filter((sub) => valid(sub, value)).length === 1;
      default:
        if (ANNOTATIONS.has(keyword)) return true;
        throw new Error(`keyword "${keyword}" is not understood by this test`);
    }
  });

const T = '2026-01-15T12:00:00Z';

describe('docs/change-event.schema.json', () => {
  it('is what scripts/change-event-schema.ts generates from the zod schemas', () => {
    try {
      expect(committed).toEqual(generated);
    } catch (error) {
      throw new Error(
        `docs/change-event.schema.json is out of date with functions/core/changes/event.ts; refresh it with: ${REFRESH_COMMAND}\n\n${(error as Error).message}`,
      );
    }
  });

  it.each([
    ['a resource', { resource: 'task:42', changed_at: T }],
    [
      'a uri with fields',
      { uri: 'https://acme.example/tasks/42', changed_at: '2026-01-15T12:00:00.123+01:00', fields: ['status'] },
    ],
    ['an upper-case scheme, no seconds', { uri: 'HTTP://acme.example/tasks/42', changed_at: '2026-01-15T12:00+0100' }],
  ])('accepts a valid body: %s', (_, body) => {
    expect(parseChangeBody(body).ok).toBe(true);
    expect(valid(committed, body)).toBe(true);
  });

  it.each([
    ['no target', { changed_at: T }],
    ['both targets', { resource: 'task:1', uri: 'https://a.example/1', changed_at: T }],
    ['no changed_at', { resource: 'task:1' }],
    ['a date-time without a zone', { resource: 'task:1', changed_at: '2026-01-15T12:00:00' }],
    ['a word for a date', { resource: 'task:1', changed_at: 'yesterday' }],
    ['a number for a date', { resource: 'task:1', changed_at: 12 }],
    ['an empty resource', { resource: '', changed_at: T }],
    ['a padded resource', { resource: ' task:1', changed_at: T }],
    ['a resource ending in a newline', { resource: 'task:1\n', changed_at: T }],
    ['a resource of 501 characters', { resource: 'x'.repeat(501), changed_at: T }],
    ['an ftp uri', { uri: 'ftp://a.example/1', changed_at: T }],
    ['a padded uri', { uri: 'https://a.example/1 ', changed_at: T }],
    ['fields as a string', { resource: 'task:1', changed_at: T, fields: 'status' }],
    ['an empty field name', { resource: 'task:1', changed_at: T, fields: [''] }],
    ['101 fields', { resource: 'task:1', changed_at: T, fields: Array.from({ length: 101 }, (_, i) => `f${i}`) }],
    ['an unknown key', { resource: 'task:1', changed_at: T, colour: 'red' }],
    ['a queue message as a body', { type: 'change', id: 'x', resource: 'task:1', changed_at: T }],
  ])('rejects a body with %s, as the service does', (_, body) => {
    expect(parseChangeBody(body).ok).toBe(false);
    expect(valid(committed, body)).toBe(false);
  });

  it('describes the queue message under $defs.queueMessage', () => {
    const message = { type: 'change', id: 'evt-1', resource: 'task:42', changed_at: T };
    expect(parseChangeMessage(message).ok).toBe(true);
    expect(valid(queueMessage, message)).toBe(true);
    for (const bad of [
      { ...message, type: 'push' },
      { ...message, id: '' },
      { ...message, id: undefined, changed_at: T },
      { type: 'change', id: 'evt-1', changed_at: T },
    ]) {
      const json = JSON.parse(JSON.stringify(bad));
      expect(parseChangeMessage(json).ok).toBe(false);
      expect(valid(queueMessage, json)).toBe(false);
    }
  });

  it('property: every body the service accepts is valid under the schema, and padding is judged alike', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', '1', ':', ' ', '\t', '\n', '\u00a0', 'é'), maxLength: 8 });
    const body = fc.record(
      {
        resource: text,
        uri: fc.oneof(
          text.map((s) => `https://a.example/${s}`),
          text,
        ),
        changed_at: fc.oneof(
          {
            arbitrary: fc
              .date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true })
              .map((d) => d.toISOString()),
            weight: 4,
          },
          { arbitrary: text, weight: 1 },
        ),
        fields: fc.array(text, { maxLength: 3 }),
      },
      { requiredKeys: ['changed_at'] },
    );
    let accepted = 0;
    fc.assert(
      fc.property(body, (b) => {
        const service = parseChangeBody(b).ok;
        if (service) accepted++;
        // The service also checks URL syntax and calendar dates, so it may reject what the schema allows.
        if (service) expect(valid(committed, b)).toBe(true);
        // For resource and fields, the schema and the service judge the same way.
        if (b.uri === undefined && (b.changed_at === undefined || /^\d{4}-/.test(b.changed_at)))
          expect(valid(committed, b)).toBe(service);
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(20); // not vacuous
  });
});

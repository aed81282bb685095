/**
 * Notion's validation of unfurl attribute objects (docs/protocol.md §4)
 * and of the operation lists that carry them (§3.2, §3.3, §5.1), and the card
 * model the playground renders from a valid list.
 *
 * Pure functions: no I/O. A payload that fails here is what Notion would
 * reject; the simulator answers it with a validation error and shows the
 * reason instead of rendering it.
 */

export type SectionName =
  | 'title'
  | 'primary'
  | 'secondary'
  | 'identifier'
  | 'entity'
  | 'avatar'
  | 'body'
  | 'background'
  | 'embed';

export type InlineKind = 'title' | 'plain_text' | 'enum' | 'date' | 'datetime' | 'color';
export type EmbedKind = 'image' | 'video' | 'audio' | 'html' | 'pdf';
export type ItemKind = InlineKind | EmbedKind | 'relation';

/** docs/protocol.md §4.5: which sub-types each section accepts. */
export const SECTION_KINDS: Readonly<Record<SectionName, readonly ItemKind[]>> = {
  title: ['title'],
  primary: ['enum', 'date', 'datetime', 'plain_text'],
  secondary: ['date', 'datetime', 'plain_text'],
  identifier: ['image', 'plain_text'],
  entity: ['color', 'image'],
  avatar: ['image', 'plain_text'],
  body: ['plain_text'],
  background: ['color'],
  embed: ['audio', 'html', 'image', 'pdf', 'video'],
};

export const SECTIONS = Object.keys(SECTION_KINDS) as SectionName[];
const INLINE_KINDS: readonly InlineKind[] = ['title', 'plain_text', 'enum', 'date', 'datetime', 'color'];
const EMBED_KINDS: readonly EmbedKind[] = ['image', 'video', 'audio', 'html', 'pdf'];
/** Sections a relation mention may take (docs/protocol.md §4.4 only shows primary; text-like sections are accepted). */
const RELATION_SECTIONS: readonly SectionName[] = ['primary', 'secondary', 'identifier', 'avatar', 'body'];

export interface Rgb {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

/** One attribute, normalised, as the playground renders it. */
export interface CardItem {
  readonly id: string;
  readonly name: string;
  readonly kind: ItemKind;
  readonly section: SectionName;
  /** Text, date or datetime value, or the relation uri. */
  readonly text?: string;
  /** enum colour or color value. */
  readonly color?: Rgb;
  /** Embed source URL. */
  readonly src?: string;
}

export interface CardModel {
  readonly title: string;
  readonly sections: Readonly<Record<SectionName, readonly CardItem[]>>;
  readonly items: readonly CardItem[];
}

export interface ValidationOptions {
  /** The list must contain the `title` and `dev` attributes (unfurl answers and updates; not placeholders). */
  readonly requireTitleAndDev: boolean;
  /**
   * With `requireTitleAndDev`, a missing `dev` is a warning instead of a rejection: an update (§5.1), whose
   * documented example has no `dev` (ADR 0149). An unfurl answer must have it (§3.2).
   */
  readonly devMayBeMissing?: boolean;
  /** Apply the general API's size limits (docs/protocol.md §6.5). */
  readonly enforceLimits: boolean;
}

export type AttributesResult =
  | { readonly ok: true; readonly items: readonly CardItem[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: string };

export const MAX_TEXT = 2000;
export const MAX_URL = 2000;
export const MAX_ATTRIBUTES = 100;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Invalid extends Error {}

const fail = (path: string, message: string): never => {
  throw new Invalid(`${path}: ${message}`);
};

const isRgb = (v: unknown): v is Rgb =>
  isObject(v) &&
  (['r', 'g', 'b'] as const).every((k) => Number.isInteger(v[k]) && (v[k] as number) >= 0 && (v[k] as number) <= 255);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

const isValidDate = (s: string): boolean => {
  const m = DATE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // setUTCFullYear, not Date.UTC: Date.UTC maps the years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
};

const isValidDateTime = (s: string): boolean =>
  DATETIME.test(s) && !Number.isNaN(Date.parse(s)) && isValidDate(s.slice(0, 10));

const isHttpUrl = (s: string): boolean => {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};

const onlyKey = (
  obj: Record<string, unknown>,
  path: string,
  allowed: readonly string[],
  ignore: readonly string[] = [],
): string => {
  const keys = Object.keys(obj).filter((k) => !ignore.includes(k));
  if (keys.length !== 1)
    fail(
      path,
      `must contain exactly one of ${allowed.join(', ')} (found ${keys.length === 0 ? 'none' : keys.join(', ')})`,
    );
  const key = keys[0] as string;
  if (!allowed.includes(key)) fail(`${path}.${key}`, `unknown sub-type (expected one of ${allowed.join(', ')})`);
  return key;
};

const sectionOf = (value: Record<string, unknown>, path: string, kind: ItemKind): SectionName => {
  const section = value.section;
  if (typeof section !== 'string') return fail(`${path}.section`, 'is required');
  if (!(SECTIONS as string[]).includes(section)) return fail(`${path}.section`, `unknown section "${section}"`);
  const ok =
    kind === 'relation'
      ? RELATION_SECTIONS.includes(section as SectionName)
      : (SECTION_KINDS[section as SectionName] as readonly string[]).includes(kind);
  if (!ok) {
    return fail(`${path}.section`, `"${kind}" is not valid in section "${section}"`);
  }
  return section as SectionName;
};

/** A text value; its limit is counted in UTF-16 code units (`length`), as the service trims (ADR 0148). */
const text = (v: unknown, path: string, opts: ValidationOptions): string => {
  if (typeof v !== 'string') return fail(path, 'must be a string');
  if (opts.enforceLimits && v.length > MAX_TEXT) fail(path, `longer than ${MAX_TEXT} characters`);
  return v;
};

const parseItem = (raw: unknown, path: string, opts: ValidationOptions, warnings: string[]): CardItem => {
  if (!isObject(raw)) return fail(path, 'must be an object');
  const id = raw.id;
  if (typeof id !== 'string' || id.trim() === '') return fail(`${path}.id`, 'must be a non-empty string');
  const name = raw.name;
  if (typeof name !== 'string') return fail(`${path}.name`, 'must be a string');
  if (opts.enforceLimits && name.length > MAX_TEXT) fail(`${path}.name`, `longer than ${MAX_TEXT} characters`);
  let type = raw.type;
  if (type === undefined) {
    // docs/protocol.md §4.1: examples omit `type`; Notion infers it from the sub-object key.
    const present = ['inline', 'embed', 'relation'].filter((k) => k in raw);
    if (present.length !== 1) return fail(`${path}.type`, 'is required');
    type = present[0];
    warnings.push(`${path}: "type" missing, inferred "${String(type)}"`);
  }
  if (type !== 'inline' && type !== 'embed' && type !== 'relation')
    return fail(`${path}.type`, `unknown type "${String(type)}"`);
  const body = raw[type];
  if (!isObject(body)) return fail(`${path}.${type}`, 'must be an object');

  if (type === 'inline') {
    const kind = onlyKey(body, `${path}.inline`, INLINE_KINDS) as InlineKind;
    const value = body[kind];
    const p = `${path}.inline.${kind}`;
    if (!isObject(value)) return fail(p, 'must be an object');
    const section = sectionOf(value, p, kind);
    const base = { id, name, kind, section };
    switch (kind) {
      case 'title':
      case 'plain_text':
        return { ...base, text: text(value.value, `${p}.value`, opts) };
      case 'enum': {
        const t = text(value.value, `${p}.value`, opts);
        if (value.color === undefined) return { ...base, text: t };
        if (!isRgb(value.color)) return fail(`${p}.color`, 'must be {r,g,b} with integers 0-255');
        return { ...base, text: t, color: value.color };
      }
      case 'date': {
        const t = text(value.value, `${p}.value`, opts);
        if (!isValidDate(t)) fail(`${p}.value`, 'must be a date YYYY-MM-DD');
        return { ...base, text: t };
      }
      case 'datetime': {
        const t = text(value.value, `${p}.value`, opts);
        if (!isValidDateTime(t)) fail(`${p}.value`, 'must be an ISO-8601 date-time');
        return { ...base, text: t };
      }
      case 'color':
        if (!isRgb(value.value)) return fail(`${p}.value`, 'must be {r,g,b} with integers 0-255');
        return { ...base, color: value.value };
    }
  }

  if (type === 'embed') {
    const src = body.src_url;
    if (typeof src !== 'string' || !isHttpUrl(src)) return fail(`${path}.embed.src_url`, 'must be an http(s) URL');
    if (opts.enforceLimits && src.length > MAX_URL) fail(`${path}.embed.src_url`, `longer than ${MAX_URL} characters`);
    const kind = onlyKey(body, `${path}.embed`, EMBED_KINDS, ['src_url']) as EmbedKind;
    const value = body[kind];
    const p = `${path}.embed.${kind}`;
    if (!isObject(value)) return fail(p, 'must be an object');
    return { id, name, kind, section: sectionOf(value, p, kind), src };
  }

  // relation (docs/protocol.md §4.4: only in the reference example; semantics undocumented).
  const uri = body.uri;
  if (typeof uri !== 'string' || uri === '') return fail(`${path}.relation.uri`, 'must be a non-empty string');
  const mention = body.mention;
  if (!isObject(mention)) return fail(`${path}.relation.mention`, 'must be an object');
  return {
    id,
    name,
    kind: 'relation',
    section: sectionOf(mention, `${path}.relation.mention`, 'relation'),
    text: text(uri, `${path}.relation.uri`, opts),
  };
};

/**
 * Validates an attribute list. A later duplicate `id` overrides an earlier one
 * (docs/protocol.md §4.1); the result keeps the first position of each id.
 */
export function validateAttributes(list: unknown, opts: ValidationOptions, path = 'attributes'): AttributesResult {
  try {
    if (!Array.isArray(list)) return fail(path, 'must be an array');
    if (opts.enforceLimits && list.length > MAX_ATTRIBUTES) fail(path, `more than ${MAX_ATTRIBUTES} attributes`);
    const warnings: string[] = [];
    const byId = new Map<string, CardItem>();
    for (const [i, raw] of list.entries()) {
      const item = parseItem(raw, `${path}[${i}]`, opts, warnings);
      byId.set(item.id, item);
    }
    const items = [...byId.values()];
    if (opts.requireTitleAndDev) {
      const title = byId.get('title');
      if (!title) fail(path, 'the "title" attribute is required');
      else if (title.kind !== 'title') fail(path, 'the "title" attribute must be an inline title');
      const dev = byId.get('dev');
      if (!dev && opts.devMayBeMissing === true)
        warnings.push(
          `${path}: no "dev" attribute (accepted in an update, as in Notion's documented PATCH; an unfurl answer needs it)`,
        );
      else if (!dev) fail(path, 'the "dev" attribute is required');
      else if (dev.kind !== 'plain_text') fail(path, 'the "dev" attribute must be inline plain_text');
    }
    return { ok: true, items, warnings };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    throw error;
  }
}

export interface ErrorOperation {
  readonly status: number;
  readonly message: string;
}

export type OperationsResult =
  | {
      readonly ok: true;
      readonly uri: string;
      /** Present when the operations set attributes. */
      readonly items?: readonly CardItem[];
      /** Present when the operations set an error. */
      readonly error?: ErrorOperation;
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

export interface OperationsOptions {
  /** Apply the general API's size limits (docs/protocol.md §6.5). */
  readonly enforceLimits: boolean;
  /**
   * Whose body this is: the service's `unfurl` answer (§3.2: `title` and `dev` required) or an `update`
   * pushed with `PATCH /v1/external/object` (§5.1: `title` required, a missing `dev` only noted, ADR 0149).
   */
  readonly answer: 'unfurl' | 'update';
}

/**
 * Validates `{uri, operations:[{path:["attributes"],set:[…]} | {path:["error"],set:{status,message}}]}`
 * (docs/protocol.md §3.2, §3.3, §5.1). Both operations may be combined; each at most once.
 */
export function validateOperations(body: unknown, opts: OperationsOptions): OperationsResult {
  try {
    if (!isObject(body)) return fail('body', 'must be a JSON object');
    const uri = body.uri;
    if (typeof uri !== 'string' || uri === '') return fail('body.uri', 'must be a non-empty string');
    const ops = body.operations;
    if (!Array.isArray(ops) || ops.length === 0) return fail('body.operations', 'must be a non-empty array');
    let items: readonly CardItem[] | undefined;
    let error: ErrorOperation | undefined;
    const warnings: string[] = [];
    for (const [i, op] of ops.entries()) {
      const p = `body.operations[${i}]`;
      if (!isObject(op)) fail(p, 'must be an object');
      const o = op as Record<string, unknown>;
      const opPath = o.path;
      if (!Array.isArray(opPath) || opPath.length !== 1 || (opPath[0] !== 'attributes' && opPath[0] !== 'error')) {
        fail(`${p}.path`, 'must be ["attributes"] or ["error"]');
      }
      if (!('set' in o)) fail(`${p}.set`, 'is required');
      if ((opPath as unknown[])[0] === 'attributes') {
        if (items) fail(p, 'attributes set twice');
        const result = validateAttributes(
          o.set,
          { enforceLimits: opts.enforceLimits, requireTitleAndDev: true, devMayBeMissing: opts.answer === 'update' },
          `${p}.set`,
        );
        if (!result.ok) throw new Invalid(result.reason);
        items = result.items;
        warnings.push(...result.warnings);
        continue;
      }
      if (error) fail(p, 'error set twice');
      const set = o.set;
      if (!isObject(set)) return fail(`${p}.set`, 'must be an object');
      if (!Number.isInteger(set.status) || (set.status as number) < 100 || (set.status as number) > 599) {
        fail(`${p}.set.status`, 'must be an HTTP status code');
      }
      if (typeof set.message !== 'string') fail(`${p}.set.message`, 'must be a string');
      error = { status: set.status as number, message: set.message as string };
    }
    return { ok: true, uri, ...(items ? { items } : {}), ...(error ? { error } : {}), warnings };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: e.message };
    throw e;
  }
}

/** The card the playground renders: items grouped by section, in list order. */
export function toCard(items: readonly CardItem[]): CardModel {
  const sections = Object.fromEntries(SECTIONS.map((s) => [s, [] as CardItem[]])) as Record<SectionName, CardItem[]>;
  for (const item of items) sections[item.section].push(item);
  const title = sections.title[0]?.text ?? '';
  return { title, sections, items };
}

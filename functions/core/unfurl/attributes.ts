/**
 * Notion unfurl attributes (docs/protocol.md §4): typed builders, the section
 * table of §4.5, the limits of docs/protocol.md#decisions, a validator and a stable content hash.
 *
 * Builders never throw on data from a product: text is trimmed to 2,000
 * characters, a value that cannot be shown (a bad date, a URL over 2,000
 * characters or not http(s)) makes the builder return `undefined`, and
 * `attributeSet()` drops those. Every set it returns has `title` and `dev`,
 * unique ids, and passes `validateAttributes()`.
 */
import { sha256Hex } from '#shared/crypto.js';

export const MAX_TEXT_LENGTH = 2000;
export const MAX_URL_LENGTH = 2000;

export type Section =
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
export type AttributeKind = InlineKind | EmbedKind;

/** Which sub-types each section accepts (§4.5). */
export const SECTION_KINDS: Readonly<Record<Section, readonly AttributeKind[]>> = {
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

export const INLINE_KINDS: readonly InlineKind[] = ['title', 'plain_text', 'enum', 'date', 'datetime', 'color'];
export const EMBED_KINDS: readonly EmbedKind[] = ['image', 'video', 'audio', 'html', 'pdf'];

/** The sections a kind may render in (inverse of SECTION_KINDS). */
export const sectionsFor = (kind: AttributeKind): Section[] =>
  (Object.keys(SECTION_KINDS) as Section[]).filter((s) => SECTION_KINDS[s].includes(kind));

type SectionOf<K extends AttributeKind> = {
  [S in Section]: K extends SectionKindTable[S][number] ? S : never;
}[Section];

/** The same table as a type, so that a builder only accepts the sections its kind may use. */
type SectionKindTable = {
  title: ['title'];
  primary: ['enum', 'date', 'datetime', 'plain_text'];
  secondary: ['date', 'datetime', 'plain_text'];
  identifier: ['image', 'plain_text'];
  entity: ['color', 'image'];
  avatar: ['image', 'plain_text'];
  body: ['plain_text'];
  background: ['color'];
  embed: ['audio', 'html', 'image', 'pdf', 'video'];
};

export interface Rgb {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

export interface InlineAttribute {
  readonly id: string;
  readonly name: string;
  readonly type: 'inline';
  readonly inline: {
    readonly [K in InlineKind]?: { readonly value: string | Rgb; readonly section: Section; readonly color?: Rgb };
  };
}

export interface EmbedAttribute {
  readonly id: string;
  readonly name: string;
  readonly type: 'embed';
  readonly embed: { readonly src_url: string } & { readonly [K in EmbedKind]?: { readonly section: Section } };
}

export type UnfurlAttribute = InlineAttribute | EmbedAttribute;

// ---------------------------------------------------------------------------
// Value normalisation
// ---------------------------------------------------------------------------

/** True when `value` has more than `max` code points (no array of them is built). */
const codePointsOver = (value: string, max: number): boolean => {
  if (value.length <= max) return false; // never more code points than UTF-16 units
  let points = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    if (++points > max) return true;
  }
  return false;
};

/** Trims a string to `max` code points (never splits a surrogate pair). */
export const trimText = (value: string, max = MAX_TEXT_LENGTH): string =>
  codePointsOver(value, max) ? Array.from(value).slice(0, max).join('') : value;

const clampByte = (n: number): number => (Number.isFinite(n) ? Math.min(255, Math.max(0, Math.round(n))) : 0);

export const rgb = (r: number, g: number, b: number): Rgb => ({ r: clampByte(r), g: clampByte(g), b: clampByte(b) });

/** Parses `#rgb`/`#rrggbb`; undefined otherwise. */
export const hexColor = (hex: string): Rgb | undefined => {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex.trim());
  if (!m?.[1]) return undefined;
  const h = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  return rgb(
    Number.parseInt(h.slice(0, 2), 16),
    Number.parseInt(h.slice(2, 4), 16),
    Number.parseInt(h.slice(4, 6), 16),
  );
};

const isRgb = (v: unknown): v is Rgb => {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 255;
  return Object.keys(o).length === 3 && ok(o.r) && ok(o.g) && ok(o.b);
};

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date `YYYY-MM-DD` from a string or Date (UTC); undefined when not a real date. */
export const toDate = (value: string | Date): string | undefined => {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return undefined;
    const iso = value.toISOString();
    return /^\d{4}-\d{2}-\d{2}T/.test(iso) ? iso.slice(0, 10) : undefined;
  }
  const m = DATE_RE.exec(value.trim());
  if (!m) {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value.trim()) ? undefined : toDate(d);
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which maps years 0-99 to 1900-1999
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d ? m[0] : undefined;
};

const ISO_DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO-8601 instant (normalised to UTC with milliseconds); undefined when invalid. */
export const toDatetime = (value: string | Date | number): string | undefined => {
  if (typeof value === 'string' && !ISO_DATETIME_RE.test(value.trim())) return undefined;
  const d = value instanceof Date ? value : new Date(value);
  const t = d.getTime();
  if (Number.isNaN(t) || t < -8.64e15 || t > 8.64e15) return undefined;
  const iso = d.toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
};

/** An http(s) URL of at most 2,000 characters, or undefined (docs/protocol.md#decisions: longer URLs are dropped). */
export const toUrl = (value: string): string | undefined => {
  if (value.length === 0 || value.length > MAX_URL_LENGTH) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  } catch {
    return undefined;
  }
  return value;
};

const cleanId = (id: string): string => trimText(id.trim() || 'attribute', 100);
const cleanName = (name: string): string => trimText(name, 200);

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

const inline = (
  id: string,
  name: string,
  kind: InlineKind,
  body: { value: string | Rgb; section: Section; color?: Rgb },
): InlineAttribute => ({ id: cleanId(id), name: cleanName(name), type: 'inline', inline: { [kind]: body } });

const embed = (
  id: string,
  name: string,
  kind: EmbedKind,
  src: string,
  section: Section,
): EmbedAttribute | undefined => {
  const url = toUrl(src);
  return url === undefined
    ? undefined
    : { id: cleanId(id), name: cleanName(name), type: 'embed', embed: { src_url: url, [kind]: { section } } };
};

export const attr = {
  /** The required title (section `title`). Empty titles become "Untitled". */
  title: (value: string, name = 'Title'): InlineAttribute =>
    inline('title', name, 'title', { value: trimText(value.trim() === '' ? 'Untitled' : value), section: 'title' }),

  /** The required developer attribute (§4.2): a plain_text in `secondary`. */
  dev: (value: string, name = 'Developer Name'): InlineAttribute =>
    inline('dev', name, 'plain_text', {
      value: trimText(value.trim() === '' ? 'Unknown' : value),
      section: 'secondary',
    }),

  plainText: (id: string, name: string, value: string, section: SectionOf<'plain_text'>): InlineAttribute =>
    inline(id, name, 'plain_text', { value: trimText(value), section }),

  enum: (
    id: string,
    name: string,
    value: string,
    color?: Rgb,
    section: SectionOf<'enum'> = 'primary',
  ): InlineAttribute =>
    inline(id, name, 'enum', {
      value: trimText(value),
      section,
      ...(color ? { color: rgb(color.r, color.g, color.b) } : {}),
    }),

  date: (
    id: string,
    name: string,
    value: string | Date,
    section: SectionOf<'date'> = 'secondary',
  ): InlineAttribute | undefined => {
    const v = toDate(value);
    return v === undefined ? undefined : inline(id, name, 'date', { value: v, section });
  },

  datetime: (
    id: string,
    name: string,
    value: string | Date | number,
    section: SectionOf<'datetime'> = 'secondary',
  ): InlineAttribute | undefined => {
    const v = toDatetime(value);
    return v === undefined ? undefined : inline(id, name, 'datetime', { value: v, section });
  },

  color: (id: string, name: string, value: Rgb, section: SectionOf<'color'> = 'entity'): InlineAttribute =>
    inline(id, name, 'color', { value: rgb(value.r, value.g, value.b), section }),

  image: (id: string, name: string, src: string, section: SectionOf<'image'> = 'embed') =>
    embed(id, name, 'image', src, section),
  video: (id: string, name: string, src: string) => embed(id, name, 'video', src, 'embed'),
  audio: (id: string, name: string, src: string) => embed(id, name, 'audio', src, 'embed'),
  html: (id: string, name: string, src: string) => embed(id, name, 'html', src, 'embed'),
  pdf: (id: string, name: string, src: string) => embed(id, name, 'pdf', src, 'embed'),
};

// ---------------------------------------------------------------------------
// Sets, validation, hashing
// ---------------------------------------------------------------------------

/**
 * The attribute list sent to Notion: `title` first, `dev` second, then the
 * rest in order; `undefined` entries dropped; a later duplicate id replaces an
 * earlier one (Notion's own rule), and ids `title`/`dev` can only come from the
 * first two arguments.
 */
export const attributeSet = (
  title: InlineAttribute,
  dev: InlineAttribute,
  rest: readonly (UnfurlAttribute | undefined)[] = [],
): UnfurlAttribute[] => {
  const byId = new Map<string, UnfurlAttribute>();
  for (const a of rest) {
    if (a === undefined || a.id === 'title' || a.id === 'dev') continue;
    byId.delete(a.id);
    byId.set(a.id, a);
  }
  return [title, dev, ...byId.values()];
};

export type ValidationResult =
  | { readonly ok: true; readonly attributes: UnfurlAttribute[] }
  | { readonly ok: false; readonly problems: string[] };

const SECTIONS = new Set(Object.keys(SECTION_KINDS));

const validateOne = (a: unknown, i: number, problems: string[]): void => {
  const at = `attribute ${i}`;
  if (a === null || typeof a !== 'object' || Array.isArray(a)) {
    problems.push(`${at}: not an object`);
    return;
  }
  const o = a as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') problems.push(`${at}: id must be a non-empty string`);
  if (typeof o.name !== 'string') problems.push(`${at}: name must be a string`);
  const type = o.type;
  if (type !== 'inline' && type !== 'embed') {
    problems.push(`${at}: type must be "inline" or "embed"`);
    return;
  }
  const allowedKeys = new Set(['id', 'name', 'type', type]);
  for (const k of Object.keys(o)) if (!allowedKeys.has(k)) problems.push(`${at}: unexpected field "${k}"`);
  const body = o[type];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    problems.push(`${at}: "${type}" must be an object`);
    return;
  }
  const b = body as Record<string, unknown>;
  const kinds: readonly string[] = type === 'inline' ? INLINE_KINDS : EMBED_KINDS;
  const keys = Object.keys(b).filter((k) => k !== 'src_url');
  if (type === 'inline' && 'src_url' in b) problems.push(`${at}: src_url belongs to embeds`);
  if (keys.length !== 1 || !kinds.includes(keys[0] as string)) {
    problems.push(`${at}: "${type}" must hold exactly one of ${kinds.join(', ')}`);
    return;
  }
  const kind = keys[0] as AttributeKind;
  const sub = b[kind];
  if (sub === null || typeof sub !== 'object' || Array.isArray(sub)) {
    problems.push(`${at}: "${kind}" must be an object`);
    return;
  }
  const s = sub as Record<string, unknown>;
  const section = s.section;
  if (typeof section !== 'string' || !SECTIONS.has(section)) problems.push(`${at}: unknown section ${String(section)}`);
  else if (!SECTION_KINDS[section as Section].includes(kind))
    problems.push(`${at}: ${kind} may not render in section ${section}`);
  if (type === 'embed') {
    if (typeof b.src_url !== 'string' || toUrl(b.src_url) === undefined)
      problems.push(`${at}: src_url must be an http(s) URL of at most ${MAX_URL_LENGTH} characters`);
    for (const k of Object.keys(s)) if (k !== 'section') problems.push(`${at}: unexpected field "${kind}.${k}"`);
    return;
  }
  for (const k of Object.keys(s)) {
    if (k !== 'section' && k !== 'value' && !(k === 'color' && kind === 'enum'))
      problems.push(`${at}: unexpected field "${kind}.${k}"`);
  }
  const v = s.value;
  switch (kind) {
    case 'color':
      if (!isRgb(v)) problems.push(`${at}: color value must be {r,g,b} integers 0-255`);
      break;
    case 'date':
      if (typeof v !== 'string' || toDate(v) !== v) problems.push(`${at}: date value must be YYYY-MM-DD`);
      break;
    case 'datetime':
      if (typeof v !== 'string' || toDatetime(v) === undefined) problems.push(`${at}: datetime value must be ISO-8601`);
      break;
    default:
      if (typeof v !== 'string') problems.push(`${at}: value must be a string`);
      else if (codePointsOver(v, MAX_TEXT_LENGTH))
        problems.push(`${at}: value longer than ${MAX_TEXT_LENGTH} characters`);
      else if (kind === 'title' && v.trim() === '') problems.push(`${at}: title must not be empty`);
  }
  if (kind === 'enum' && s.color !== undefined && !isRgb(s.color))
    problems.push(`${at}: enum color must be {r,g,b} integers 0-255`);
};

/** Checks a list against docs/protocol.md §4 and its decisions: shapes, sections, limits, unique ids, `title` and `dev` present. */
export const validateAttributes = (value: unknown): ValidationResult => {
  if (!Array.isArray(value)) return { ok: false, problems: ['attributes must be an array'] };
  const problems: string[] = [];
  for (const [i, a] of value.entries()) validateOne(a, i, problems);
  const ids = value.map((a) => (a !== null && typeof a === 'object' ? (a as { id?: unknown }).id : undefined));
  const seen = new Set<unknown>();
  for (const id of ids) {
    if (seen.has(id)) problems.push(`duplicate id ${String(id)}`);
    seen.add(id);
  }
  const titleAttr = value.find((a) => (a as { id?: unknown } | null)?.id === 'title') as InlineAttribute | undefined;
  if (!titleAttr) problems.push('a "title" attribute is required');
  else if (titleAttr.type !== 'inline' || !titleAttr.inline?.title) problems.push('"title" must be an inline title');
  const devAttr = value.find((a) => (a as { id?: unknown } | null)?.id === 'dev') as InlineAttribute | undefined;
  if (!devAttr) problems.push('a "dev" attribute is required');
  else if (devAttr.type !== 'inline' || !devAttr.inline?.plain_text)
    problems.push('"dev" must be an inline plain_text');
  return problems.length === 0 ? { ok: true, attributes: value as UnfurlAttribute[] } : { ok: false, problems };
};

/**
 * Own keys in UTF-16 code-unit order (the order `<` gives). Objects here have a
 * handful of keys: an insertion sort in place allocates nothing, where
 * Array#sort takes a work array on every call.
 */
const sortedKeys = (record: Record<string, unknown>): string[] => {
  const keys = Object.keys(record);
  if (keys.length > 16) return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
};

const appendCanonical = (value: unknown, out: { s: string }): void => {
  if (value === null || typeof value !== 'object') {
    out.s += JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    out.s += '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.s += ',';
      appendCanonical(value[i] === undefined ? null : value[i], out);
    }
    out.s += ']';
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(record);
  out.s += '{';
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    if (!first) out.s += ',';
    first = false;
    out.s += `${JSON.stringify(key)}:`;
    appendCanonical(v, out);
  }
  out.s += '}';
};

/**
 * JSON with object keys sorted, so equal content always serialises equally.
 * Written into one string (no intermediate arrays per object): it runs on
 * every unfurl and every push.
 */
export const canonicalJson = (value: unknown): string => {
  const out = { s: '' };
  appendCanonical(value, out);
  return out.s;
};

/** The content hash of an attribute list whose canonical JSON is `json` (see contentHash). */
export const contentHashOfJson = (json: string): string => `v1:${sha256Hex(json)}`;

/** Stable content hash of an attribute list (hex SHA-256 of its canonical JSON, prefixed with the scheme). */
export const contentHash = (attributes: readonly unknown[]): string => contentHashOfJson(canonicalJson(attributes));

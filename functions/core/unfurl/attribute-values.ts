/**
 * The vocabulary of Notion unfurl attributes (docs/protocol.md §4): kinds,
 * the section table of §4.5, the limits of Part A, and the value helpers that
 * make a product's data showable (trimmed text, colours, dates, URLs).
 */
export const MAX_TEXT_LENGTH = 2000;
export const MAX_URL_LENGTH = 2000;
/** Attributes in one list: the general API's array limit (docs/protocol.md §6.5), `title` and `dev` included. */
export const MAX_ATTRIBUTES = 100;

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

export type SectionOf<K extends AttributeKind> = {
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

/**
 * Trims a string to at most `max` UTF-16 code units (JavaScript's `length`), one unit short when
 * the cut would split a surrogate pair. Part A's 2,000-character limits are counted in UTF-16 units,
 * so a trimmed value also has at most 2,000 code points: it is within the limit however Notion
 * counts (docs/protocol.md#decisions, ADR 0148).
 */
export const trimText = (value: string, max = MAX_TEXT_LENGTH): string => {
  if (value.length <= max) return value;
  const last = value.charCodeAt(max - 1);
  const next = value.charCodeAt(max);
  const splitsPair = last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
  return value.slice(0, splitsPair ? max - 1 : max);
};

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

export const isRgb = (v: unknown): v is Rgb => {
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

/**
 * An http(s) URL of at most 2,000 characters, or undefined (Part A: longer URLs are dropped). The
 * string is kept as given; both it (in UTF-16 units, as the simulator counts) and its percent-encoded
 * form (`URL.href`, ASCII) must be within the limit, so it is within it however Notion counts.
 */
export const toUrl = (value: string): string | undefined => {
  if (value.length === 0 || value.length > MAX_URL_LENGTH) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    if (url.href.length > MAX_URL_LENGTH) return undefined;
  } catch {
    return undefined;
  }
  return value;
};

export const cleanId = (id: string): string => trimText(id.trim() || 'attribute', 100);
export const cleanName = (name: string): string => trimText(name, 200);

/**
 * Notion unfurl attributes (docs/protocol.md §4): typed builders, the section
 * table of §4.5, the limits of Part A, a validator and a stable content hash.
 *
 * Builders never throw on data from a product: text is trimmed to 2,000
 * UTF-16 code units (ADR 0148), a value that cannot be shown (a bad date, a URL over 2,000
 * characters or not http(s)) makes the builder return `undefined`, and
 * `attributeSet()` drops those (and keeps at most 100 attributes). Every set it returns has `title` and `dev`,
 * unique ids, and passes `validateAttributes()`.
 */
import {
  cleanId,
  cleanName,
  type EmbedAttribute,
  type EmbedKind,
  type InlineAttribute,
  type InlineKind,
  MAX_ATTRIBUTES,
  type Rgb,
  rgb,
  type Section,
  type SectionOf,
  toDate,
  toDatetime,
  toUrl,
  trimText,
  type UnfurlAttribute,
} from './attribute-values.js';

export { type ValidationResult, validateAttributes } from './attribute-validation.js';
export * from './attribute-values.js';
export { canonicalJson, contentHash, contentHashOfJson } from './content-hash.js';

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
 * first two arguments. At most MAX_ATTRIBUTES in all: the ones beyond are
 * dropped, as text beyond its limit is cut.
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
  return [title, dev, ...[...byId.values()].slice(0, MAX_ATTRIBUTES - 2)];
};

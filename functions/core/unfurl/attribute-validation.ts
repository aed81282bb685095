/** Checks an attribute list against docs/protocol.md §4 and docs/protocol.md#decisions. */
import {
  type AttributeKind,
  EMBED_KINDS,
  INLINE_KINDS,
  type InlineAttribute,
  isRgb,
  MAX_ATTRIBUTES,
  MAX_TEXT_LENGTH,
  MAX_URL_LENGTH,
  SECTION_KINDS,
  type Section,
  toDate,
  toDatetime,
  toUrl,
  type UnfurlAttribute,
} from './attribute-values.js';

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
  else if (o.name.length > MAX_TEXT_LENGTH)
    problems.push(`${at}: name longer than ${MAX_TEXT_LENGTH} characters (UTF-16 code units)`);
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
      else if (v.length > MAX_TEXT_LENGTH)
        problems.push(`${at}: value longer than ${MAX_TEXT_LENGTH} characters (UTF-16 code units)`);
      else if (kind === 'title' && v.trim() === '') problems.push(`${at}: title must not be empty`);
  }
  if (kind === 'enum' && s.color !== undefined && !isRgb(s.color))
    problems.push(`${at}: enum color must be {r,g,b} integers 0-255`);
};

/** Checks a list against §4 and Part A: shapes, sections, limits (count included), unique ids, `title` and `dev` present. */
export const validateAttributes = (value: unknown): ValidationResult => {
  if (!Array.isArray(value)) return { ok: false, problems: ['attributes must be an array'] };
  const problems: string[] = [];
  if (value.length > MAX_ATTRIBUTES) problems.push(`more than ${MAX_ATTRIBUTES} attributes (${value.length})`);
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

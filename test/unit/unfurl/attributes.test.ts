import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { staleAttributes } from '#core/unfurl/answers.js';
import {
  attr,
  attributeSet,
  canonicalJson,
  contentHash,
  MAX_ATTRIBUTES,
  MAX_TEXT_LENGTH,
  MAX_URL_LENGTH,
  SECTION_KINDS,
  sectionsFor,
  toDate,
  toDatetime,
  trimText,
  validateAttributes,
} from '#core/unfurl/attributes.js';
import { attributesOf } from '#core/unfurl/render.js';
import { anyAttribute, anyText } from './arbitraries.js';

describe('attribute builders', () => {
  it('every set the builders produce is valid (title and dev present, limits kept, sections allowed)', () => {
    fc.assert(
      fc.property(anyText, anyText, fc.array(anyAttribute, { maxLength: 12 }), (title, dev, rest) => {
        const set = attributeSet(attr.title(title), attr.dev(dev), rest);
        const check = validateAttributes(set);
        if (!check.ok) throw new Error(check.problems.join('; '));
        expect(set[0]?.id).toBe('title');
        expect(set[1]?.id).toBe('dev');
        expect(new Set(set.map((a) => a.id)).size).toBe(set.length);
      }),
      { numRuns: 300 },
    );
  });

  it('trims text to 2,000 UTF-16 code units without splitting a surrogate pair', () => {
    const long = '😀'.repeat(1500);
    const a = attr.plainText('d', 'Description', long, 'body');
    const value = (a.inline.plain_text?.value ?? '') as string;
    expect(value).toHaveLength(MAX_TEXT_LENGTH);
    expect(value).toBe('😀'.repeat(MAX_TEXT_LENGTH / 2));
    // A pair straddling the limit goes whole: one unit short rather than half an emoji.
    const straddling = trimText(`a${'😀'.repeat(1500)}`);
    expect(straddling).toHaveLength(MAX_TEXT_LENGTH - 1);
    expect(straddling).toBe(`a${'😀'.repeat(MAX_TEXT_LENGTH / 2 - 1)}`);
    expect(trimText(`${'a'.repeat(MAX_TEXT_LENGTH - 1)}😀`)).toBe('a'.repeat(MAX_TEXT_LENGTH - 1));
    expect(trimText(`${'a'.repeat(MAX_TEXT_LENGTH - 2)}😀b`)).toBe(`${'a'.repeat(MAX_TEXT_LENGTH - 2)}😀`);
    // A lone surrogate is one unit like any other and is kept or cut as such.
    expect(trimText(`${'a'.repeat(MAX_TEXT_LENGTH - 1)}\uD800\uD800`)).toBe(`${'a'.repeat(MAX_TEXT_LENGTH - 1)}\uD800`);
    expect(trimText('a'.repeat(MAX_TEXT_LENGTH))).toBe('a'.repeat(MAX_TEXT_LENGTH));
    expect(trimText('short')).toBe('short');
    expect(trimText('😀😀', 3)).toBe('😀');
  });

  it('trims any text to at most the limit in UTF-16 units and never leaves half a pair at the cut', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', '😀', '\uD800', '\uDC00', 'é'), minLength: 0, maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        (value, max) => {
          const out = trimText(value, max);
          expect(out.length).toBeLessThanOrEqual(max);
          expect(value.startsWith(out)).toBe(true);
          if (value.length <= max) expect(out).toBe(value);
          else {
            // Cut at most one unit short of the limit, and only to keep a pair whole.
            expect(out.length).toBeGreaterThanOrEqual(max - 1);
            const last = out.charCodeAt(out.length - 1);
            const next = value.charCodeAt(out.length);
            const splitsPair = last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
            expect(splitsPair).toBe(false);
            if (out.length === max - 1) expect(next >= 0xd800 && next <= 0xdbff).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('drops URLs over 2,000 characters and non-http(s) URLs', () => {
    const base = 'https://example.com/';
    expect(attr.image('i', 'Image', base + 'a'.repeat(MAX_URL_LENGTH - base.length))).toBeDefined();
    expect(attr.image('i', 'Image', base + 'a'.repeat(MAX_URL_LENGTH - base.length + 1))).toBeUndefined();
    expect(attr.html('h', 'Page', 'javascript:alert(1)')).toBeUndefined();
    expect(attr.pdf('p', 'PDF', 'not a url')).toBeUndefined();
  });

  it("counts a URL's length as sent and as percent-encoded, and drops it when either is over 2,000", () => {
    const base = 'https://example.com/';
    // 1,000 × é: 1,020 characters as sent, 6,020 once encoded (%C3%A9 each).
    const accented = `${base}${'é'.repeat(1000)}`;
    expect(accented.length).toBeLessThanOrEqual(MAX_URL_LENGTH);
    expect(new URL(accented).href.length).toBeGreaterThan(MAX_URL_LENGTH);
    expect(attr.image('i', 'Image', accented)).toBeUndefined();
    const short = `${base}${'é'.repeat(10)}`;
    expect(attr.image('i', 'Image', short)?.embed.src_url).toBe(short);
    // Emoji count two UTF-16 units as sent, like the simulator counts them.
    const emoji = `${base}${'a'.repeat(MAX_URL_LENGTH - base.length - 1)}😀`;
    expect(attr.image('i', 'Image', emoji)).toBeUndefined();
    expect(
      validateAttributes([
        attr.title('T'),
        attr.dev('D'),
        { id: 'i', name: 'I', type: 'embed', embed: { src_url: accented, image: { section: 'embed' } } },
      ]).ok,
    ).toBe(false);
  });

  it('produces the documented shapes for every kind', () => {
    expect(attr.dev('Acme Inc')).toEqual({
      id: 'dev',
      name: 'Developer Name',
      type: 'inline',
      inline: { plain_text: { value: 'Acme Inc', section: 'secondary' } },
    });
    expect(attr.enum('s', 'Status', '🔨 Ready', { r: 100, g: 100, b: 100 })).toEqual({
      id: 's',
      name: 'Status',
      type: 'inline',
      inline: { enum: { value: '🔨 Ready', section: 'primary', color: { r: 100, g: 100, b: 100 } } },
    });
    expect(attr.video('v', 'Video', 'https://x.test/1.mp4')).toEqual({
      id: 'v',
      name: 'Video',
      type: 'embed',
      embed: { src_url: 'https://x.test/1.mp4', video: { section: 'embed' } },
    });
    expect(attr.color('c', 'Colour', { r: 300, g: -4, b: 7.6 }).inline.color?.value).toEqual({ r: 255, g: 0, b: 8 });
    expect(attr.datetime('u', 'Updated', '2022-01-11T19:53:18.829Z')?.inline.datetime?.value).toBe(
      '2022-01-11T19:53:18.829Z',
    );
    expect(attr.title('   ').inline.title?.value).toBe('Untitled');
  });

  it('accepts only real calendar dates and ISO-8601 instants', () => {
    expect(toDate('2024-02-29')).toBe('2024-02-29');
    expect(toDate('2026-02-29')).toBeUndefined();
    expect(toDate('11/01/2022')).toBeUndefined();
    expect(toDate(new Date(Date.UTC(2026, 0, 2, 23)))).toBe('2026-01-02');
    expect(toDatetime('2026-01-02T03:04:05+02:00')).toBe('2026-01-02T01:04:05.000Z');
    expect(toDatetime('yesterday')).toBeUndefined();
  });

  it('lets a later duplicate id replace an earlier one and keeps title/dev from their builders', () => {
    const set = attributeSet(attr.title('T'), attr.dev('D'), [
      attr.plainText('x', 'X', 'first', 'body'),
      attr.plainText('title', 'Fake', 'not a title', 'body'),
      attr.plainText('x', 'X', 'second', 'body'),
    ]);
    expect(set.map((a) => a.id)).toEqual(['title', 'dev', 'x']);
    expect((set[2] as { inline: { plain_text: { value: string } } }).inline.plain_text.value).toBe('second');
  });
});

describe('the number of attributes', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => attr.plainText(`a${i}`, `A${i}`, `${i}`, 'body'));

  it('keeps at most 100 in a set, title and dev first, the ones beyond dropped', () => {
    const set = attributeSet(attr.title('T'), attr.dev('D'), many(150));
    expect(set).toHaveLength(MAX_ATTRIBUTES);
    expect(set.slice(0, 3).map((a) => a.id)).toEqual(['title', 'dev', 'a0']);
    expect(set.at(-1)?.id).toBe('a97');
    expect(validateAttributes(set).ok).toBe(true);
    expect(attributeSet(attr.title('T'), attr.dev('D'), many(98))).toHaveLength(100);
  });

  it('refuses a hand-made list over 100, and a name over 2,000 units', () => {
    const list = [attr.title('T'), attr.dev('D'), ...many(99)];
    expect(validateAttributes(list)).toEqual({ ok: false, problems: ['more than 100 attributes (101)'] });
    const named = [
      attr.title('T'),
      attr.dev('D'),
      { ...attr.plainText('n', 'N', 'v', 'body'), name: 'n'.repeat(2001) },
    ];
    expect(validateAttributes(named)).toEqual({
      ok: false,
      problems: ['attribute 2: name longer than 2000 characters (UTF-16 code units)'],
    });
  });

  it("makes an adapter's long list a valid answer: the card is cut, not refused", () => {
    const rendered = attributesOf({ title: 'Checklist', attributes: many(300) }, 'Acme');
    expect(rendered).toHaveLength(MAX_ATTRIBUTES);
    // A stale answer of a full snapshot still has room for its freshness line.
    const stale = staleAttributes(rendered, 60_000);
    expect(stale).toHaveLength(MAX_ATTRIBUTES);
    expect(stale.at(-1)?.id).toBe('freshness');
    expect(validateAttributes(stale).ok).toBe(true);
  });
});

describe('validateAttributes', () => {
  const valid = attributeSet(attr.title('T'), attr.dev('D'));

  it('rejects a kind in a section that does not allow it, for every pair of §4.5', () => {
    for (const [section, kinds] of Object.entries(SECTION_KINDS)) {
      for (const kind of [
        'plain_text',
        'enum',
        'date',
        'datetime',
        'color',
        'image',
        'video',
        'audio',
        'html',
        'pdf',
      ] as const) {
        const allowed = (kinds as readonly string[]).includes(kind);
        const isEmbed = ['image', 'video', 'audio', 'html', 'pdf'].includes(kind);
        const value =
          kind === 'color'
            ? { r: 1, g: 2, b: 3 }
            : kind === 'date'
              ? '2022-01-11'
              : kind === 'datetime'
                ? '2022-01-11T19:53:18.829Z'
                : 'v';
        const a = isEmbed
          ? { id: 'a', name: 'A', type: 'embed', embed: { src_url: 'https://x.test/a', [kind]: { section } } }
          : { id: 'a', name: 'A', type: 'inline', inline: { [kind]: { value, section } } };
        expect(validateAttributes([...valid, a]).ok).toBe(allowed);
        expect(sectionsFor(kind).includes(section as never)).toBe(allowed);
      }
    }
  });

  it('names what is missing or wrong', () => {
    const r = validateAttributes([
      { id: 'x', name: 'X', type: 'inline', inline: { plain_text: { value: 5, section: 'body' } } },
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toEqual(
        expect.arrayContaining([
          'a "title" attribute is required',
          'a "dev" attribute is required',
          'attribute 0: value must be a string',
        ]),
      );
    }
    expect(validateAttributes('nope').ok).toBe(false);
    expect(validateAttributes([...valid, valid[1]]).ok).toBe(false);
    expect(
      validateAttributes([
        ...valid,
        { id: 'e', name: 'E', type: 'embed', embed: { src_url: 'ftp://x', image: { section: 'embed' } } },
      ]).ok,
    ).toBe(false);
    expect(
      validateAttributes([
        ...valid,
        {
          id: 'e',
          name: 'E',
          type: 'inline',
          inline: { title: { value: 'x', section: 'title' }, plain_text: { value: 'y', section: 'body' } },
        },
      ]).ok,
    ).toBe(false);
  });
});

/** The first canonicalJson, kept as the reference: stored content hashes depend on its exact output. */
const referenceCanonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => referenceCanonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonicalJson(v)}`).join(',')}}`;
};

describe('canonicalJson', () => {
  it('writes exactly what the reference writes, for any value (so stored hashes stay valid)', () => {
    fc.assert(
      fc.property(fc.anything({ withBoxedValues: false, withMap: false, withSet: false }), (value) => {
        expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.array(anyAttribute), (attributes) => {
        expect(canonicalJson(attributes)).toBe(referenceCanonicalJson(attributes));
      }),
    );
  });
});

describe('text limits count UTF-16 code units', () => {
  it('accepts at most MAX_TEXT_LENGTH UTF-16 units, surrogate pairs (two each) and lone surrogates (one) alike', () => {
    const plain = (value: string) => [
      attr.title('T'),
      attr.dev('D'),
      { id: 'x', name: 'X', type: 'inline', inline: { plain_text: { value, section: 'body' } } },
    ];
    const piece = fc.constantFrom('a', '\u{1F600}', '\uD800', '\uDC00', 'é');
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_TEXT_LENGTH / 2 - 3, max: MAX_TEXT_LENGTH + 3 }),
        fc.array(piece, { minLength: 1, maxLength: 4 }),
        (n, pieces) => {
          const value = Array.from({ length: n }, (_, i) => pieces[i % pieces.length]).join('');
          expect(validateAttributes(plain(value)).ok).toBe(value.length <= MAX_TEXT_LENGTH);
        },
      ),
      { numRuns: 200 },
    );
    expect(validateAttributes(plain('😀'.repeat(MAX_TEXT_LENGTH / 2))).ok).toBe(true);
    expect(validateAttributes(plain('😀'.repeat(MAX_TEXT_LENGTH / 2 + 1))).ok).toBe(false);
  });
});

describe('contentHash', () => {
  it('is stable under key order and changes with content', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(contentHash([reversed])).toBe(contentHash([obj]));
      }),
    );
    const a = attributeSet(attr.title('A'), attr.dev('D'));
    const b = attributeSet(attr.title('B'), attr.dev('D'));
    expect(contentHash(a)).not.toBe(contentHash(b));
    expect(contentHash(a)).toMatch(/^v1:[0-9a-f]{64}$/);
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { SectionName } from '#local/notion-simulator/attributes.js';
import { SECTION_KINDS, toCard, validateAttributes, validateOperations } from '#local/notion-simulator/attributes.js';

const strict = { requireTitleAndDev: true, enforceLimits: true } as const;

const title = (value: string) => ({
  id: 'title',
  name: 'Title',
  type: 'inline',
  inline: { title: { value, section: 'title' } },
});
const dev = {
  id: 'dev',
  name: 'Developer Name',
  type: 'inline',
  inline: { plain_text: { value: 'Acme Inc', section: 'secondary' } },
};

const rgb = fc.record({
  r: fc.integer({ min: 0, max: 255 }),
  g: fc.integer({ min: 0, max: 255 }),
  b: fc.integer({ min: 0, max: 255 }),
});
const text = fc.string({ maxLength: 200 });
const id = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== '' && s !== 'title' && s !== 'dev');
const date = fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true });

/** A valid attribute for a given section, built from the section table of docs/protocol.md §4.5. */
const attributeFor = (section: SectionName) =>
  fc.constantFrom(...SECTION_KINDS[section].filter((k) => k !== 'title')).chain((kind) =>
    fc.tuple(id, text, rgb, date).map(([aid, value, color, d]) => {
      const base = { id: aid, name: `${kind} ${aid}` };
      switch (kind) {
        case 'plain_text':
          return { ...base, type: 'inline', inline: { plain_text: { value, section } } };
        case 'enum':
          return { ...base, type: 'inline', inline: { enum: { value, color, section } } };
        case 'date':
          return { ...base, type: 'inline', inline: { date: { value: d.toISOString().slice(0, 10), section } } };
        case 'datetime':
          return { ...base, type: 'inline', inline: { datetime: { value: d.toISOString(), section } } };
        case 'color':
          return { ...base, type: 'inline', inline: { color: { value: color, section } } };
        default:
          return {
            ...base,
            type: 'embed',
            embed: { src_url: `https://cdn.example.com/${encodeURIComponent(aid)}`, [kind]: { section } },
          };
      }
    }),
  );

const anyValidAttribute = fc
  .constantFrom<SectionName>('primary', 'secondary', 'identifier', 'entity', 'avatar', 'body', 'background', 'embed')
  .chain(attributeFor);

describe('validateAttributes (docs/protocol.md §4)', () => {
  it('accepts the documented examples', () => {
    const list = [
      title('Feature Request: Link Previews'),
      dev,
      {
        id: 'status',
        name: 'Status',
        type: 'inline',
        inline: { enum: { value: '🔨 Ready to Build', color: { r: 100, g: 100, b: 100 }, section: 'primary' } },
      },
      {
        id: 'updated',
        name: 'Updated',
        type: 'inline',
        inline: { datetime: { value: '2022-01-11T19:53:18.829Z', section: 'secondary' } },
      },
      {
        id: 'color',
        name: 'Color',
        type: 'inline',
        inline: { color: { value: { r: 247, g: 247, b: 42 }, section: 'entity' } },
      },
      { id: 'id', name: 'Id', type: 'inline', inline: { plain_text: { value: '#23487', section: 'identifier' } } },
      {
        id: 'pic',
        name: 'Picture',
        type: 'embed',
        embed: { src_url: 'https://example.com/12345.png', image: { section: 'embed' } },
      },
      {
        id: 'state',
        name: 'State',
        type: 'relation',
        relation: { uri: 'acme:item_state/open', mention: { section: 'primary' } },
      },
    ];
    const result = validateAttributes(list, strict);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const card = toCard(result.items);
    expect(card.title).toBe('Feature Request: Link Previews');
    expect(card.sections.primary.map((i) => i.id)).toEqual(['status', 'state']);
    expect(card.sections.embed[0]?.src).toBe('https://example.com/12345.png');
  });

  it('accepts any list of attributes placed in sections that take them, with title and dev', () => {
    fc.assert(
      fc.property(fc.array(anyValidAttribute, { maxLength: 20 }), text, (extra, t) => {
        const result = validateAttributes([title(t), dev, ...extra], strict);
        expect(result.ok).toBe(true);
        if (result.ok) expect(toCard(result.items).title).toBe(t);
      }),
    );
  });

  it('rejects a sub-type in a section that does not take it', () => {
    const sectionNames = Object.keys(SECTION_KINDS) as SectionName[];
    const pairs = sectionNames.flatMap((s) =>
      (['plain_text', 'enum', 'date', 'color'] as const)
        .filter((k) => !(SECTION_KINDS[s] as readonly string[]).includes(k))
        .map((k) => [s, k] as const),
    );
    fc.assert(
      fc.property(fc.constantFrom(...pairs), ([section, kind]) => {
        const value = kind === 'color' ? { r: 1, g: 2, b: 3 } : kind === 'date' ? '2024-02-29' : 'x';
        const bad = { id: 'x', name: 'X', type: 'inline', inline: { [kind]: { value, section } } };
        const result = validateAttributes([title('t'), dev, bad], strict);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.reason).toContain(`not valid in section "${section}"`);
      }),
    );
  });

  it('requires title and dev in answers and updates, not in placeholders', () => {
    const missingDev = validateAttributes([title('t')], strict);
    expect(missingDev).toEqual({ ok: false, reason: 'attributes: the "dev" attribute is required' });
    expect(validateAttributes([dev], strict).ok).toBe(false);
    expect(validateAttributes([title('t')], { requireTitleAndDev: false, enforceLimits: true }).ok).toBe(true);
  });

  it('takes dates and date-times of the years 0-99 as they are written (no two-digit year mapping)', () => {
    const at = (inline: unknown) =>
      validateAttributes(
        [
          { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'T', section: 'title' } } },
          { id: 'dev', name: 'Dev', type: 'inline', inline: { plain_text: { value: 'D', section: 'secondary' } } },
          { id: 'd', name: 'D', type: 'inline', inline },
        ],
        strict,
      );
    expect(at({ date: { value: '0099-12-31', section: 'secondary' } }).ok).toBe(true);
    expect(at({ datetime: { value: '0099-12-31T23:59:59.999Z', section: 'secondary' } }).ok).toBe(true);
    expect(at({ date: { value: '0099-02-29', section: 'secondary' } }).ok).toBe(false);
  });

  it('rejects what Notion would reject', () => {
    const cases: Array<[unknown, string]> = [
      [
        { id: 'e', name: 'E', type: 'embed', embed: { src_url: 'javascript:alert(1)', image: { section: 'embed' } } },
        'src_url',
      ],
      [
        { id: 'e', name: 'E', type: 'embed', embed: { src_url: 'https://x.test/a', video: { section: 'avatar' } } },
        'not valid in section',
      ],
      [
        { id: 'd', name: 'D', type: 'inline', inline: { date: { value: '2023-02-30', section: 'secondary' } } },
        'YYYY-MM-DD',
      ],
      [
        { id: 'd', name: 'D', type: 'inline', inline: { datetime: { value: 'yesterday', section: 'secondary' } } },
        'ISO-8601',
      ],
      [
        {
          id: 'c',
          name: 'C',
          type: 'inline',
          inline: { color: { value: { r: 256, g: 0, b: 0 }, section: 'background' } },
        },
        'integers 0-255',
      ],
      [
        { id: 'l', name: 'L', type: 'inline', inline: { link: { value: 'x', section: 'subtitle' } } },
        'unknown sub-type',
      ],
      [
        { id: 'p', name: 'P', type: 'inline', inline: { plain_text: { value: 'x', section: 'subtitle' } } },
        'unknown section',
      ],
      [{ id: 'p', name: 'P', type: 'inline', inline: { plain_text: { value: 'x' } } }, 'section: is required'],
      [{ id: '', name: 'P', type: 'inline', inline: { plain_text: { value: 'x', section: 'body' } } }, '.id'],
      [
        { id: 'p', name: 'P', type: 'inline', inline: { plain_text: { value: 'x'.repeat(2001), section: 'body' } } },
        'longer than 2000',
      ],
      [{ id: 'p', name: 'P', type: 'weird', weird: {} }, 'unknown type'],
      [
        {
          id: 'p',
          name: 'P',
          type: 'inline',
          inline: { plain_text: { value: 'a', section: 'body' }, enum: { value: 'b', section: 'primary' } },
        },
        'exactly one',
      ],
    ];
    for (const [attr, fragment] of cases) {
      const result = validateAttributes([title('t'), dev, attr], strict);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toContain(fragment);
    }
  });

  it('infers a missing type from the sub-object and warns', () => {
    const result = validateAttributes(
      [{ id: 'title', name: 'Title', inline: { title: { value: 'x', section: 'title' } } }, dev],
      strict,
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.warnings.join()).toContain('inferred "inline"');
  });

  it('lets a later duplicate id override an earlier one', () => {
    const result = validateAttributes([title('first'), dev, title('second')], strict);
    expect(result.ok && toCard(result.items).title).toBe('second');
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => validateAttributes(value, strict)).not.toThrow();
        expect(() => validateOperations(value, { enforceLimits: true, answer: 'unfurl' })).not.toThrow();
      }),
    );
  });
});

describe('validateOperations (docs/protocol.md §3.2, §3.3, §5.1)', () => {
  const uri = 'http://127.0.0.1:3000/demo/tasks/1';

  it('accepts attributes, an error, or both', () => {
    const attrs = { path: ['attributes'], set: [title('t'), dev] };
    const error = { path: ['error'], set: { status: 404, message: 'Content not found' } };
    const a = validateOperations({ uri, operations: [attrs] }, { enforceLimits: true, answer: 'unfurl' });
    expect(a.ok && a.items?.length).toBe(2);
    const e = validateOperations({ uri, operations: [error] }, { enforceLimits: true, answer: 'unfurl' });
    expect(e.ok && e.error).toEqual({ status: 404, message: 'Content not found' });
    const both = validateOperations({ uri, operations: [attrs, error] }, { enforceLimits: true, answer: 'unfurl' });
    expect(both.ok && both.items !== undefined && both.error !== undefined).toBe(true);
  });

  it('rejects a bare attribute array, unknown paths and a missing uri', () => {
    expect(validateOperations([title('t'), dev], { enforceLimits: true, answer: 'unfurl' }).ok).toBe(false);
    expect(
      validateOperations(
        { uri, operations: [{ path: ['title'], set: 'x' }] },
        { enforceLimits: true, answer: 'unfurl' },
      ).ok,
    ).toBe(false);
    expect(
      validateOperations(
        { operations: [{ path: ['attributes'], set: [title('t'), dev] }] },
        { enforceLimits: true, answer: 'unfurl' },
      ).ok,
    ).toBe(false);
  });

  it('requires title and dev in an unfurl answer (§3.2) but only title in an update (§5.1: the documented PATCH has no dev)', () => {
    const noDev = { uri, operations: [{ path: ['attributes'], set: [title('t')] }] };
    const answer = validateOperations(noDev, { enforceLimits: true, answer: 'unfurl' });
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.reason).toBe('body.operations[0].set: the "dev" attribute is required');
    const update = validateOperations(noDev, { enforceLimits: true, answer: 'update' });
    expect(update.ok && update.items?.map((i) => i.id)).toEqual(['title']);
    expect(update.ok && update.warnings).toEqual([
      'body.operations[0].set: no "dev" attribute (accepted in an update, as in Notion\'s documented PATCH; an unfurl answer needs it)',
    ]);
    const noTitle = { uri, operations: [{ path: ['attributes'], set: [dev] }] };
    for (const kind of ['unfurl', 'update'] as const) {
      const r = validateOperations(noTitle, { enforceLimits: true, answer: kind });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toBe('body.operations[0].set: the "title" attribute is required');
    }
    // A dev that is there must still be the documented inline plain_text.
    const badDev = { ...dev, inline: { enum: { value: 'Acme', section: 'primary' } } };
    const wrongDev = validateOperations(
      { uri, operations: [{ path: ['attributes'], set: [title('t'), badDev] }] },
      { enforceLimits: true, answer: 'update' },
    );
    expect(wrongDev.ok).toBe(false);
  });
});

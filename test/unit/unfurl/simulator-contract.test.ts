/**
 * What the builders produce is what the Notion simulator (which follows Notion's
 * documented protocol) accepts and renders: every kind, every payload.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { attributesBody, ERROR_MESSAGES, errorBody, staleAttributes } from '#core/unfurl/answers.js';
import { attr, attributeSet, EMBED_KINDS, INLINE_KINDS } from '#core/unfurl/attributes.js';
import { demoRules, substituteDeep } from '#core/unfurl/rules.js';
import {
  validateAttributes as simulatorValidate,
  toCard,
  validateOperations,
} from '#local/notion-simulator/attributes.js';
import { anyAttribute, anyText } from './arbitraries.js';

const URI = 'https://acme.com/items/1';

describe('builder output against the simulator', () => {
  it('every unfurl answer the builders can produce passes the simulator, limits included', () => {
    fc.assert(
      fc.property(anyText, anyText, fc.array(anyAttribute, { maxLength: 12 }), (title, dev, rest) => {
        const body = attributesBody(URI, attributeSet(attr.title(title), attr.dev(dev), rest));
        const result = validateOperations(body, { enforceLimits: true, answer: 'unfurl' });
        if (!result.ok) throw new Error(JSON.stringify(result));
      }),
      { numRuns: 200 },
    );
  });

  it("any number of attributes from an adapter gives an answer, stale or not, within the simulator's count", () => {
    fc.assert(
      fc.property(fc.array(anyAttribute, { minLength: 90, maxLength: 160 }), (rest) => {
        const set = attributeSet(attr.title('t'), attr.dev('d'), rest);
        for (const list of [set, staleAttributes(set, 1000)]) {
          const result = validateOperations(attributesBody(URI, list), { enforceLimits: true, answer: 'unfurl' });
          if (!result.ok) throw new Error(result.reason);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('text near the 2,000 limit, emoji and lone surrogates included, is trimmed to what the simulator accepts', () => {
    // The simulator counts a string's UTF-16 units (JavaScript's length); a code point count would let
    // 1,500 emoji (3,000 units) through the service and have the simulator reject them.
    const unit = fc.constantFrom('a', 'é', '😀', '👩‍💻', '\uD800', '\uDC00');
    const longText = fc.string({ unit, minLength: 900, maxLength: 2200 });
    fc.assert(
      fc.property(longText, longText, longText, (title, dev, body) => {
        const set = attributeSet(attr.title(title), attr.dev(dev), [
          attr.plainText('body', 'Body', body, 'body'),
          attr.enum('status', 'Status', body, undefined, 'primary'),
        ]);
        const result = validateOperations(attributesBody(URI, set), { enforceLimits: true, answer: 'unfurl' });
        if (!result.ok) throw new Error(result.reason);
      }),
      { numRuns: 100 },
    );
  });

  it('renders a card with every attribute kind in its section', () => {
    const set = attributeSet(attr.title('All kinds'), attr.dev('Acme'), [
      attr.plainText('p', 'Plain', 'text', 'body'),
      attr.enum('e', 'Enum', 'Open', { r: 1, g: 2, b: 3 }),
      attr.date('d', 'Date', '2026-01-02'),
      attr.datetime('dt', 'Datetime', '2026-01-02T03:04:05Z'),
      attr.color('c', 'Colour', { r: 9, g: 8, b: 7 }, 'background'),
      attr.image('i', 'Image', 'https://cdn.acme.com/i.png'),
      attr.video('v', 'Video', 'https://cdn.acme.com/v.mp4'),
      attr.audio('a', 'Audio', 'https://cdn.acme.com/a.mp3'),
      attr.html('h', 'Html', 'https://acme.com/embed/1'),
      attr.pdf('f', 'Pdf', 'https://cdn.acme.com/f.pdf'),
    ]);
    const result = simulatorValidate(set, { requireTitleAndDev: true, enforceLimits: true });
    if (!result.ok) throw new Error(result.reason);
    const card = toCard(result.items);
    expect(card.title).toBe('All kinds');
    const kinds = new Set(result.items.map((i) => i.kind));
    for (const kind of [...INLINE_KINDS, ...EMBED_KINDS]) expect(kinds).toContain(kind);
    expect(card.sections.embed?.map((i) => i.kind).sort()).toEqual(['audio', 'html', 'image', 'pdf', 'video']);
  });

  it('error operations, stale answers and the demo placeholders pass too', () => {
    for (const e of Object.values(ERROR_MESSAGES))
      expect(validateOperations(errorBody(URI, e), { enforceLimits: true, answer: 'unfurl' }).ok).toBe(true);
    const stale = staleAttributes(attributeSet(attr.title('t'), attr.dev('d')), 65_000);
    expect(validateOperations(attributesBody(URI, stale), { enforceLimits: true, answer: 'unfurl' }).ok).toBe(true);
    for (const rule of demoRules('http://127.0.0.1:3000').rules) {
      const placeholder = substituteDeep(rule.placeholder, { taskId: '1' });
      expect(simulatorValidate(placeholder, { requireTitleAndDev: false, enforceLimits: true }).ok).toBe(true);
    }
  });
});

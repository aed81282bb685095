import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { demoRules } from '#core/unfurl/rules.js';
import { matchLink, substituteGroups, substitutePlaceholder } from '#local/notion-simulator/link-rules.js';

const acme = {
  domain: 'acme.com',
  rules: [
    {
      name: 'item',
      pattern: String.raw`^(?<site>https\:\/\/acme\.com)\/items\/(?<itemNo>\d+)$`,
      placeholder: [
        {
          id: 'title',
          name: 'Title',
          type: 'inline',
          inline: { title: { value: 'Acme Item #$<itemNo>', section: 'title' } },
        },
      ],
    },
    { name: 'any-sub', pattern: String.raw`^https://(?<sub>\w+)\.acme\.com/`, placeholder: [] },
  ],
};

describe('matchLink (docs/protocol.md §1b)', () => {
  it('matches the documented example and substitutes $<group> in the placeholder', () => {
    const m = matchLink(acme, 'https://acme.com/items/42');
    expect(m?.ruleName).toBe('item');
    expect(m?.groups).toEqual({ site: 'https://acme.com', itemNo: '42' });
    expect(m?.placeholder).toEqual([
      { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'Acme Item #42', section: 'title' } } },
    ]);
  });

  it('accepts sub-domains of the domain and nothing else', () => {
    expect(matchLink(acme, 'https://eu.acme.com/x')?.groups).toEqual({ sub: 'eu' });
    expect(matchLink(acme, 'https://acme.com.evil.test/items/1')).toBeUndefined();
    expect(matchLink(acme, 'https://notacme.com/items/1')).toBeUndefined();
    expect(matchLink(acme, 'ftp://acme.com/items/1')).toBeUndefined();
    expect(matchLink(acme, 'not a url')).toBeUndefined();
    expect(matchLink(acme, `https://acme.com/items/${'1'.repeat(2000)}`)).toBeUndefined();
  });

  it('matches the demo rules of the local system', () => {
    const rules = demoRules('http://127.0.0.1:3000');
    const m = matchLink(rules, 'http://127.0.0.1:3000/demo/tasks/7');
    expect(m?.groups.taskId).toBe('7');
    expect(JSON.stringify(m?.placeholder)).toContain('Task #7');
    expect(matchLink(rules, 'http://127.0.0.1:3000/demo/people/7')).toBeUndefined();
  });

  it('substitutes every reference to a known group and leaves other text alone', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
    const plain = fc.string({ maxLength: 20 }).filter((s) => !s.includes('$<'));
    fc.assert(
      fc.property(name, plain, plain, plain, (g, value, before, after) => {
        expect(substituteGroups(`${before}$<${g}>${after}$<${g}>`, { [g]: value })).toBe(
          `${before}${value}${after}${value}`,
        );
        expect(substituteGroups(`${before}${after}`, { [g]: value })).toBe(`${before}${after}`);
      }),
    );
  });

  it('substitutes inside nested values but never in keys', () => {
    const out = substitutePlaceholder({ '$<a>': ['x$<a>', { deep: '$<a>$<a>', n: 3, b: true, z: null }] }, { a: 'Q' });
    expect(out).toEqual({ '$<a>': ['xQ', { deep: 'QQ', n: 3, b: true, z: null }] });
  });

  it('keeps a reference to a group the pattern does not have', () => {
    expect(substituteGroups('#$<nope>', { a: '1' })).toBe('#$<nope>');
  });
});

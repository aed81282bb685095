import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { validateAttributes } from '#core/unfurl/attributes.js';
import { checkSamples, demoRules, matchUri, parseIntegration, substitute, substituteDeep } from '#core/unfurl/rules.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const acme = {
  domain: 'acme.com',
  rules: [
    {
      name: 'item',
      pattern: '^(?<site>https\\:\\/\\/acme\\.com)\\/items\\/(?<itemNo>\\d+)$',
      sampleUrls: ['https://acme.com/items/42'],
      placeholder: [
        {
          id: 'title',
          name: 'Title',
          type: 'inline',
          inline: { title: { value: 'Acme Item #$<itemNo>', section: 'title' } },
        },
      ],
      resource: 'item:$<itemNo>',
    },
  ],
};

describe('unfurl rules', () => {
  it('demo rules match their own samples and resolve the resource key', () => {
    const integration = demoRules('http://127.0.0.1:3000');
    expect(integration.domain).toBe('127.0.0.1');
    expect(checkSamples(integration)).toEqual([]);
    const m = matchUri(integration, 'http://127.0.0.1:3000/demo/tasks/17?utm=x');
    expect(m?.rule.name).toBe('task');
    expect(m?.groups).toEqual({ taskId: '17' });
    expect(m?.resourceKey).toBe('task:17');
    expect(matchUri(integration, 'http://127.0.0.1:3000/demo/tasks/abc')).toBeUndefined();
    expect(matchUri(integration, 'http://127.0.0.1:3001/demo/tasks/1')).toBeUndefined();
    expect(matchUri(integration, 'http://127.0.0.1:3000/demo/api/tasks/1')).toBeUndefined();
  });

  it('matches a uri only while its resource key is one a change event can name (500 characters)', () => {
    const integration = demoRules('http://127.0.0.1:3000');
    const id = (n: number) => '7'.repeat(n);
    // "task:" and 495 digits: 500 characters.
    expect(matchUri(integration, `http://127.0.0.1:3000/demo/tasks/${id(495)}`)?.resourceKey).toHaveLength(500);
    expect(matchUri(integration, `http://127.0.0.1:3000/demo/tasks/${id(496)}`)).toBeUndefined();
  });

  it('demo placeholders are valid attribute lists once substituted', () => {
    const integration = demoRules('http://127.0.0.1:4567');
    const rule = integration.rules[0]!;
    const filled = substituteDeep(rule.placeholder, { taskId: '9' });
    expect(validateAttributes(filled).ok).toBe(true);
    expect(JSON.stringify(filled)).toContain('Task #9');
    // The placeholder names the same developer as the card that replaces it (DEV_NAME).
    const dev = (rules: ReturnType<typeof demoRules>) =>
      ((rules.rules[0]?.placeholder ?? []) as Array<{ id: string; inline?: { plain_text?: { value?: string } } }>).find(
        (a) => a.id === 'dev',
      )?.inline?.plain_text?.value;
    expect(dev(demoRules('http://127.0.0.1:4567'))).toBe('notion-link-preview');
    expect(dev(demoRules('http://127.0.0.1:4567', 'Acme Tasks'))).toBe('Acme Tasks');
  });

  it("accepts Notion's own example pattern (escaped ':' and '/', named groups)", () => {
    const integration = parseIntegration(JSON.stringify(acme));
    const m = matchUri(integration, 'https://acme.com/items/42');
    expect(m?.groups).toEqual({ site: 'https://acme.com', itemNo: '42' });
    expect(m?.resourceKey).toBe('item:42');
    expect(substituteDeep(m?.rule.placeholder, m?.groups ?? {})).toEqual([
      { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'Acme Item #42', section: 'title' } } },
    ]);
  });

  it('never matches a uri outside the domain, whatever the pattern says', () => {
    const permissive = parseIntegration({
      domain: 'acme.com',
      rules: [{ name: 'any', pattern: '.*', sampleUrls: ['https://acme.com/x'], resource: 'r' }],
    });
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        const host = new URL(url).hostname;
        const inside = host === 'acme.com' || host.endsWith('.acme.com');
        expect(matchUri(permissive, url) !== undefined).toBe(inside);
      }),
    );
    expect(matchUri(permissive, 'https://acme.com.evil.test/x')).toBeUndefined();
    expect(matchUri(permissive, 'file:///etc/passwd')).toBeUndefined();
    expect(matchUri(permissive, 'https://sub.acme.com/x')).toBeDefined();
    expect(matchUri(permissive, `https://acme.com/${'a'.repeat(2100)}`)).toBeUndefined();
  });

  it('substitutes $<group> references and leaves other text alone', () => {
    expect(substitute('task:$<id>/$<missing>$<id>', { id: '7' })).toBe('task:7/7');
    expect(substitute('$5 $<1bad>', {})).toBe('$5 $<1bad>');
  });

  it('reports a sample URL its pattern does not match, and bad rule sets by name', () => {
    const broken = { ...acme, rules: [{ ...acme.rules[0]!, sampleUrls: ['https://acme.com/item/42'] }] };
    expect(checkSamples(parseIntegration(broken))).toEqual([
      expect.stringContaining('does not match sample URL https://acme.com/item/42'),
    ]);
    expect(() => parseIntegration('{not json')).toThrow(ConfigError);
    expect(() => parseIntegration({ domain: 'a.b', rules: [{ ...acme.rules[0]!, pattern: '(' }] })).toThrow(
      /does not compile/,
    );
    expect(() => parseIntegration({ domain: 'a.b', rules: [] }, 'RULES_SETTING')).toThrow(/^RULES_SETTING: rules/);
  });

  it('rulesFromConfig prefers UNFURL_RULES and otherwise serves the demo at PUBLIC_BASE_URL', () => {
    expect(rulesFromConfig(parseConfig({ UNFURL_RULES: JSON.stringify(acme) })).domain).toBe('acme.com');
    expect(rulesFromConfig(parseConfig({ PUBLIC_BASE_URL: 'http://127.0.0.1:9999/' })).rules[0]?.sampleUrls[0]).toBe(
      'http://127.0.0.1:9999/demo/tasks/1',
    );
    expect(() => rulesFromConfig(parseConfig({}))).toThrow(ConfigError);
    expect(() => rulesFromConfig(parseConfig({ UNFURL_RULES: '{"domain": "a.b", "rules": []}' }))).toThrow(
      /^UNFURL_RULES: rules/,
    );
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isAllowedRedirectUri, withParams } from '#core/oauth/redirect-uri.js';

const EXTRA = ['http://127.0.0.1:3000/notion/externalintegrationauthcallback'];

const randomCase = (s: string) =>
  fc
    .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
    .map((flags) => [...s].map((c, i) => (flags[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

describe('redirect_uri allow-list', () => {
  it('accepts the documented Notion callbacks in any letter case of the path', () => {
    for (const uri of [
      'https://notion.so/externalIntegrationAuthCallback',
      'https://www.notion.so/externalintegrationauthcallback',
      'https://notion.so/externalintegrationauthcallback',
    ]) {
      expect(isAllowedRedirectUri(uri, [])).toBe(true);
    }
    fc.assert(
      fc.property(
        fc.constantFrom('https://notion.so/', 'https://www.notion.so/'),
        randomCase('externalintegrationauthcallback'),
        (base, path) => isAllowedRedirectUri(base + path, []),
      ),
    );
  });

  it('rejects anything appended or prepended to an allowed URI (ports, queries, fragments, user info, other hosts)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'https://notion.so/externalintegrationauthcallback',
          'https://www.notion.so/externalintegrationauthcallback',
        ),
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (good, junk, append) => {
          const candidate = append ? good + junk : junk + good;
          return !isAllowedRedirectUri(candidate, []) || candidate === good;
        },
      ),
    );
    for (const bad of [
      'http://notion.so/externalintegrationauthcallback',
      'https://notion.so.evil.com/externalintegrationauthcallback',
      'https://evil.com/https://notion.so/externalintegrationauthcallback',
      'https://user@notion.so/externalintegrationauthcallback',
      'https://notion.so:8443/externalintegrationauthcallback',
      'https://notion.so/externalintegrationauthcallback?next=https://evil.com',
      'https://notion.so/externalintegrationauthcallback#x',
      'https://api.notion.so/externalintegrationauthcallback',
      'https://notion.so//externalintegrationauthcallback',
      'https://notion.so/externalintegrationauthcallback/',
      '//notion.so/externalintegrationauthcallback',
      '',
    ]) {
      expect(isAllowedRedirectUri(bad, [])).toBe(false);
    }
  });

  it('accepts arbitrary web URLs only when listed exactly in NOTION_REDIRECT_URIS', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        const allowedAlone = isAllowedRedirectUri(url, []);
        const notionLike = /^https:\/\/(www\.)?notion\.so\/externalintegrationauthcallback$/i.test(url);
        return allowedAlone === notionLike && isAllowedRedirectUri(url, [url]);
      }),
    );
    expect(isAllowedRedirectUri(EXTRA[0]!, EXTRA)).toBe(true);
    expect(isAllowedRedirectUri(`${EXTRA[0]}/`, EXTRA)).toBe(false);
    expect(isAllowedRedirectUri(EXTRA[0]!.toUpperCase(), EXTRA)).toBe(false);
  });

  it('adds response parameters without dropping or reordering what the URI already has', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (code, state) => {
        const url = new URL(withParams('https://www.notion.so/externalintegrationauthcallback', { code, state }));
        return (
          url.origin === 'https://www.notion.so' &&
          url.searchParams.get('code') === code &&
          url.searchParams.get('state') === state
        );
      }),
    );
  });

  it('keeps the own query of a redirect_uri as sent, in order and encoding, and appends the response after it', () => {
    const uri = 'https://app.example.com/cb?a=b%20c&flag&x=%2B+y';
    const location = withParams(uri, { code: 'c 1', state: 's+2', iss: 'https://previews.example.com' });
    expect(location).toBe(
      'https://app.example.com/cb?a=b%20c&flag&x=%2B+y&code=c+1&state=s%2B2&iss=https%3A%2F%2Fpreviews.example.com',
    );
    expect(withParams('https://app.example.com/cb?only', {})).toBe('https://app.example.com/cb?only');
    fc.assert(
      fc.property(
        fc.webUrl({ withQueryParameters: true }).filter((u) => !new URL(u).searchParams.has('state')),
        fc.string(),
        (base, state) => {
          const url = new URL(withParams(base, { state }));
          const own = new URL(base).search.slice(1);
          return url.search.slice(1).startsWith(own) && url.searchParams.get('state') === state;
        },
      ),
    );
  });
});

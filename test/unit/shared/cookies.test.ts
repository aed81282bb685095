import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseCookies, serializeCookie } from '#shared/cookies.js';
import { filesMatching } from '#test/helpers/source-tree.js';

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/);

describe('parseCookies', () => {
  it('reads a Cookie header and API Gateway cookies alike; the first of a name wins', () => {
    expect({ ...parseCookies('a=1; b=x%20y;a=2; junk; =v') }).toEqual({ a: '1', b: 'x y' });
    expect({ ...parseCookies(['a=1', ' b = 2 ', 'a=3']) }).toEqual({ a: '1', b: '2' });
    expect({ ...parseCookies(undefined) }).toEqual({});
  });

  it('leaves out a value that does not percent-decode', () => {
    expect({ ...parseCookies('a=%E0%A4%A; b=ok') }).toEqual({ b: 'ok' });
  });

  it('has no prototype: inherited names are absent, and such names are ordinary cookies', () => {
    const none = parseCookies('');
    for (const name of [...Object.getOwnPropertyNames(Object.prototype), '__proto__']) {
      expect(none[name]).toBeUndefined();
      expect(parseCookies(`${name}=v1; ${name}=v2`)[name]).toBe('v1');
    }
  });
});

describe('serializeCookie', () => {
  it('writes the attributes in one order', () => {
    expect(
      serializeCookie('p', 'abc_-1', { path: '/oauth', maxAgeSeconds: 600, httpOnly: true, sameSite: 'Lax' }),
    ).toBe('p=abc_-1; Path=/oauth; Max-Age=600; HttpOnly; SameSite=Lax');
    expect(
      serializeCookie('p', '', { path: '/', maxAgeSeconds: 0, httpOnly: true, sameSite: 'Lax', secure: true }),
    ).toBe('p=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure');
    expect(serializeCookie('s', 'x', { path: '/' })).toBe('s=x; Path=/');
  });

  it('round-trips any value through parseCookies', () => {
    fc.assert(
      fc.property(token, fc.string({ unit: 'grapheme' }), (name, value) => {
        const line = serializeCookie(name, value, { path: '/', httpOnly: true });
        const pair = line.split('; ')[0] as string;
        expect(parseCookies(pair)[name]).toBe(value);
      }),
    );
  });

  it('refuses a name that is not a token and a path that could add attributes', () => {
    expect(() => serializeCookie('a b', 'v', { path: '/' })).toThrow(TypeError);
    expect(() => serializeCookie('a=b', 'v', { path: '/' })).toThrow(TypeError);
    expect(() => serializeCookie('a', 'v', { path: '/; Domain=evil.example' })).toThrow(TypeError);
    expect(() => serializeCookie('a', 'v', { path: '/', maxAgeSeconds: 1.5 })).toThrow(TypeError);
  });
});

describe('cookie helpers', () => {
  it('are defined once in the tree: nobody else parses Cookie headers or builds Set-Cookie strings', () => {
    expect(filesMatching(/\b(const|function)\s+(parseCookies|cookieValue|serializeCookie)\b/)).toEqual([
      'functions/shared/cookies.ts',
    ]);
    expect(filesMatching(/; HttpOnly|; SameSite=|; Path=/)).toEqual(['functions/shared/cookies.ts']);
  });
});

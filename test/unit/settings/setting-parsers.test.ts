import { describe, expect, it } from '@jest/globals';
import {
  csvOfRedirectUris,
  csvOfUrls,
  matchingOr,
  nonNegativeInt,
  oneOfOr,
  optionalString,
  optionalUrl,
  positiveInt,
  textOr,
  urlOr,
} from '#lib/setting-parsers.js';

describe('setting parsers', () => {
  it('optional text is trimmed, and blank or absent is undefined', () => {
    expect(optionalString('  a b  ')).toEqual({ ok: true, value: 'a b' });
    expect(optionalString('   ')).toEqual({ ok: true, value: undefined });
    expect(optionalString(undefined)).toEqual({ ok: true, value: undefined });
  });

  it('text with a default keeps what is given, even empty', () => {
    expect(textOr('local')(undefined)).toEqual({ ok: true, value: 'local' });
    expect(textOr('local')('')).toEqual({ ok: true, value: '' });
  });

  it('URLs must be absolute http(s) with ://, are trimmed, and lose tabs and newlines', () => {
    expect(optionalUrl(' https://a.example/x ')).toEqual({ ok: true, value: 'https://a.example/x' });
    expect(optionalUrl('https://a.exa\tmple/')).toEqual({ ok: true, value: 'https://a.example/' });
    for (const bad of ['', 'nope', 'ftp://a.example', 'http:a.example', 'https:/a.example', '/path']) {
      expect(optionalUrl(bad)).toEqual({ ok: false, problems: [{ message: 'Invalid URL' }] });
    }
    expect(optionalUrl(undefined)).toEqual({ ok: true, value: undefined });
    expect(urlOr('https://api.notion.com')(undefined)).toEqual({ ok: true, value: 'https://api.notion.com' });
  });

  it('redirect URIs: a list of URLs without a fragment or a response parameter in their query (RFC 6749 §3.1.2)', () => {
    expect(csvOfRedirectUris('https://a.example/cb?tenant=1&flag, http://127.0.0.1:3000/cb')).toEqual({
      ok: true,
      value: ['https://a.example/cb?tenant=1&flag', 'http://127.0.0.1:3000/cb'],
    });
    expect(csvOfRedirectUris('https://a.example/cb#x')).toEqual({
      ok: false,
      problems: [{ message: 'A redirect URI must not have a fragment', at: 0 }],
    });
    for (const name of ['code', 'state', 'error', 'error_description', 'error_uri', 'iss']) {
      expect(csvOfRedirectUris(`https://a.example/ok,https://a.example/cb?x=1&${name}=fixed`)).toEqual({
        ok: false,
        problems: [{ message: `The query must not carry ${name}: the authorization response adds it`, at: 1 }],
      });
    }
    expect(csvOfRedirectUris('nope')).toEqual({ ok: false, problems: [{ message: 'Invalid URL', at: 0 }] });
  });

  it('a URL list skips blank entries and names the position of a bad one', () => {
    expect(csvOfUrls('https://a.example, ,http://b.example')).toEqual({
      ok: true,
      value: ['https://a.example', 'http://b.example'],
    });
    expect(csvOfUrls(undefined)).toEqual({ ok: true, value: [] });
    expect(csvOfUrls('https://a.example,nope')).toEqual({ ok: false, problems: [{ message: 'Invalid URL', at: 1 }] });
    expect(csvOfUrls('bad, https://a.example ,worse')).toEqual({
      ok: false,
      problems: [
        { message: 'Invalid URL', at: 0 },
        { message: 'Invalid URL', at: 2 },
      ],
    });
  });

  it('whole numbers: blank is the default, fractions and values under the minimum are refused', () => {
    expect(positiveInt(60)(' 120 ')).toEqual({ ok: true, value: 120 });
    expect(positiveInt(60)('')).toEqual({ ok: true, value: 60 });
    expect(positiveInt(60)('0')).toEqual({ ok: false, problems: [{ message: 'must be a positive integer' }] });
    expect(positiveInt(60)('1.5')).toEqual({ ok: false, problems: [{ message: 'must be a positive integer' }] });
    expect(positiveInt(60)('soon')).toEqual({ ok: false, problems: [{ message: 'must be a positive integer' }] });
    expect(nonNegativeInt(60)('0')).toEqual({ ok: true, value: 0 });
    expect(nonNegativeInt(60)('-1')).toEqual({ ok: false, problems: [{ message: 'must be an integer of 0 or more' }] });
  });

  it('one of some words, and text matching a pattern, each with its default', () => {
    const level = oneOfOr(['DEBUG', 'INFO'], 'INFO');
    expect(level(undefined)).toEqual({ ok: true, value: 'INFO' });
    expect(level('DEBUG')).toEqual({ ok: true, value: 'DEBUG' });
    expect(level('debug')).toEqual({
      ok: false,
      problems: [{ message: 'Invalid option: expected one of "DEBUG"|"INFO", not "debug"' }],
    });
    const anyCase = oneOfOr(['DEBUG', 'INFO'], 'INFO', { anyCase: true });
    expect(anyCase('debug')).toEqual({ ok: true, value: 'DEBUG' });
    expect(anyCase('Info')).toEqual({ ok: true, value: 'INFO' });
    expect(anyCase('loud')).toEqual({
      ok: false,
      problems: [{ message: 'Invalid option: expected one of "DEBUG"|"INFO", not "loud"' }],
    });
    // What was given is repeated, shortened when long.
    expect(anyCase('x'.repeat(100))).toEqual({
      ok: false,
      problems: [{ message: `Invalid option: expected one of "DEBUG"|"INFO", not "${'x'.repeat(40)}…"` }],
    });
    const date = matchingOr(/^\d{4}-\d{2}-\d{2}$/, 'must be a date', '2021-08-16');
    expect(date(undefined)).toEqual({ ok: true, value: '2021-08-16' });
    expect(date('2022-06-28')).toEqual({ ok: true, value: '2022-06-28' });
    expect(date('2022')).toEqual({ ok: false, problems: [{ message: 'must be a date' }] });
  });
});

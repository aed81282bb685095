import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CookieJar, fillForm, parseForms } from '#local/notion-simulator/driver.js';

const page = new URL('http://127.0.0.1:3000/idp/interaction/abc');

const firstForm = (html: string, url: URL) => {
  const [form] = parseForms(html, url);
  if (!form) throw new Error('no form parsed');
  return form;
};

describe('parseForms and fillForm', () => {
  it('fills a login form: its own fields plus the given values, the submit button without a name', () => {
    const html = `<form method="post" action="/idp/interaction/abc/login">
      <label for="login">Username</label><input id="login" name="login" autocomplete="username" value="" required>
      <input id="password" name="password" type="password" required>
      <input type="hidden" name="xsrf" value="a&amp;b">
      <button type="submit">Sign in</button></form>`;
    const form = firstForm(html, page);
    expect(form.method).toBe('POST');
    expect(form.action).toBe('http://127.0.0.1:3000/idp/interaction/abc/login');
    const params = fillForm(form, { login: 'alice', password: 'alice-password', decision: 'allow' });
    expect([...params]).toEqual([
      ['login', 'alice'],
      ['password', 'alice-password'],
      ['xsrf', 'a&b'],
    ]);
  });

  it('presses the button whose name and value were given', () => {
    const html = `<form method="post" action="/oauth/consent">
      <input type="hidden" name="pending" value="p1"><input type="hidden" name="csrf" value="c1">
      <button type="submit" name="decision" value="allow">Allow</button>
      <button type="submit" name="decision" value="deny">Deny</button></form>`;
    const form = firstForm(html, new URL('http://127.0.0.1:3000/oauth/callback?x=1'));
    expect([...fillForm(form, { decision: 'deny' })]).toEqual([
      ['pending', 'p1'],
      ['csrf', 'c1'],
      ['decision', 'deny'],
    ]);
    expect([...fillForm(form, { decision: 'allow' })].at(-1)).toEqual(['decision', 'allow']);
    // Nothing given for the buttons: the first one, like pressing Enter.
    expect([...fillForm(form, {})].at(-1)).toEqual(['decision', 'allow']);
  });

  it('keeps checked boxes, the selected option and textareas; skips disabled and unchecked controls', () => {
    const html = `<form action="search"><input type="checkbox" name="a" value="1" checked><input type="checkbox" name="b" value="2">
      <input name="off" value="x" disabled><select name="s"><option value="1">one</option><option value="2" selected>two</option></select>
      <textarea name="t">hello &lt;world&gt;</textarea><input type="submit" value="Go"></form>`;
    const form = firstForm(html, page);
    expect(form.method).toBe('GET');
    expect(form.action).toBe('http://127.0.0.1:3000/idp/interaction/search');
    expect([...fillForm(form, {})]).toEqual([
      ['a', '1'],
      ['t', 'hello <world>'],
      ['s', '2'],
    ]);
  });

  it('round-trips any attribute value through HTML escaping', () => {
    const escapeAttr = (v: string) =>
      v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    fc.assert(
      fc.property(fc.string(), (value) => {
        const form = firstForm(
          `<form method="post"><input type="hidden" name="v" value="${escapeAttr(value)}"></form>`,
          page,
        );
        expect(form.fields).toEqual([['v', value]]);
      }),
    );
  });
});

describe('CookieJar', () => {
  it('scopes cookies by host and path, and forgets expired ones', () => {
    const jar = new CookieJar();
    jar.store(new URL('http://127.0.0.1:3000/oauth/authorize'), ['pending=1; Path=/oauth; HttpOnly', 'all=2; Path=/']);
    jar.store(new URL('http://127.0.0.1:3000/idp/auth'), ['_interaction=3; path=/idp/interaction/abc; httponly']);
    expect(jar.header(new URL('http://127.0.0.1:3000/oauth/consent'))).toBe('pending=1; all=2');
    expect(jar.header(new URL('http://127.0.0.1:3000/'))).toBe('all=2');
    expect(jar.header(new URL('http://127.0.0.1:3000/oauthx'))).toBe('all=2');
    expect(jar.header(new URL('http://127.0.0.1:3000/idp/interaction/abc/login'))).toBe('_interaction=3; all=2');
    expect(jar.header(new URL('http://localhost:3000/'))).toBeUndefined();
    jar.store(new URL('http://127.0.0.1:3000/'), ['all=; Max-Age=0; Path=/']);
    expect(jar.header(new URL('http://127.0.0.1:3000/'))).toBeUndefined();
  });
});

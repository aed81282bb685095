import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { OAuthTokenError } from '#core/oauth/errors.js';
import { isAllowedRedirectUri } from '#core/oauth/redirect-uri.js';
import { parseAuthorizeRequest, parseConsentForm, parseTokenRequest } from '#core/oauth/requests.js';
import { AUTHORIZE_QUERY_KEYS } from './fakes.js';

const policy = { clientId: 'notion-client', extraRedirectUris: [] as string[] };
const good = {
  client_id: 'notion-client',
  redirect_uri: 'https://www.notion.so/externalintegrationauthcallback',
  response_type: 'code',
  code: '614846ff-b061-4eac-a511-fc20c3f0838a',
  state: 'st-123',
  scope: 'unfurl',
};

const PARAMS = [...AUTHORIZE_QUERY_KEYS];

describe('authorization request parsing', () => {
  it('accepts what Notion sends', () => {
    const parsed = parseAuthorizeRequest(good, [], policy);
    expect(parsed).toEqual({
      kind: 'ok',
      request: {
        clientId: 'notion-client',
        redirectUri: good.redirect_uri,
        notionCode: good.code,
        state: 'st-123',
        scope: 'unfurl',
        codeChallenge: undefined,
      },
    });
  });

  it('never redirects to a redirect_uri outside the allow-list, whatever the query', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...PARAMS), fc.oneof(fc.string(), fc.webUrl(), fc.constant(good.redirect_uri))),
        fc.subarray(PARAMS),
        (query, repeated) => {
          const parsed = parseAuthorizeRequest(query, repeated, policy);
          if (parsed.kind === 'page') return true;
          const target = parsed.kind === 'ok' ? parsed.request.redirectUri : parsed.redirectUri;
          return (
            isAllowedRedirectUri(target, []) &&
            query.client_id === policy.clientId &&
            !repeated.includes('redirect_uri')
          );
        },
      ),
    );
  });

  it('answers a bad client_id or redirect_uri with an error page, never a redirect', () => {
    for (const query of [
      { ...good, client_id: 'someone-else' },
      { ...good, redirect_uri: 'https://evil.example/cb' },
      { ...good, redirect_uri: undefined },
      { ...good, client_id: undefined },
    ]) {
      const clean = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >;
      expect(parseAuthorizeRequest(clean, [], policy).kind).toBe('page');
    }
  });

  it('rejects repeated parameters: a page for client_id or redirect_uri, a redirect error otherwise', () => {
    expect(parseAuthorizeRequest(good, ['redirect_uri'], policy).kind).toBe('page');
    expect(parseAuthorizeRequest(good, ['client_id'], policy).kind).toBe('page');
    const other = parseAuthorizeRequest(good, ['scope'], policy);
    expect(other).toMatchObject({ kind: 'redirect-error', error: 'invalid_request', state: 'st-123' });
  });

  it('maps other problems to the RFC 6749 error codes and keeps state', () => {
    expect(parseAuthorizeRequest({ ...good, response_type: 'token' }, [], policy)).toMatchObject({
      error: 'unsupported_response_type',
      state: 'st-123',
    });
    const { code: _c, ...noCode } = good;
    expect(parseAuthorizeRequest(noCode, [], policy)).toMatchObject({ error: 'invalid_request' });
    expect(parseAuthorizeRequest({ ...good, scope: 'bad"scope' }, [], policy)).toMatchObject({
      error: 'invalid_scope',
    });
    expect(
      parseAuthorizeRequest({ ...good, code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }, [], policy),
    ).toMatchObject({
      error: 'invalid_request',
    });
    expect(
      parseAuthorizeRequest({ ...good, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }, [], policy),
    ).toMatchObject({
      kind: 'ok',
      request: { codeChallenge: 'x'.repeat(43) },
    });
  });

  it('treats a parameter sent without a value as omitted (RFC 6749 §3.1)', () => {
    // Empty PKCE parameters are no PKCE, not a challenge with method "plain".
    expect(parseAuthorizeRequest({ ...good, code_challenge: '', code_challenge_method: '' }, [], policy)).toEqual(
      parseAuthorizeRequest(good, [], policy),
    );
    expect(parseAuthorizeRequest({ ...good, code_challenge: '' }, [], policy)).toMatchObject({
      kind: 'ok',
      request: { codeChallenge: undefined },
    });
    // An empty state is no state: an error redirect carries none.
    const noState = parseAuthorizeRequest({ ...good, state: '', response_type: 'token' }, [], policy);
    expect(noState).toMatchObject({ kind: 'redirect-error', error: 'unsupported_response_type' });
    expect(noState).toHaveProperty('state', undefined);
    expect(parseAuthorizeRequest({ ...good, state: '' }, [], policy)).toMatchObject({
      kind: 'ok',
      request: { state: undefined },
    });
    // An empty response_type is a missing one.
    expect(parseAuthorizeRequest({ ...good, response_type: '' }, [], policy)).toMatchObject({
      error: 'invalid_request',
      description: 'response_type is required',
    });
  });

  it('accepts only a challenge S256 can produce: 43 characters of base64url (RFC 7636 §4.2)', () => {
    const challenge = (code_challenge: string) =>
      parseAuthorizeRequest({ ...good, code_challenge, code_challenge_method: 'S256' }, [], policy);
    expect(challenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toMatchObject({ kind: 'ok' });
    for (const bad of [
      'x'.repeat(42),
      'x'.repeat(44),
      'x'.repeat(128),
      `${'x'.repeat(42)}.`,
      `${'x'.repeat(42)}~`,
      `${'x'.repeat(42)}=`,
    ]) {
      expect(challenge(bad)).toMatchObject({
        kind: 'redirect-error',
        error: 'invalid_request',
        state: 'st-123',
        redirectUri: good.redirect_uri,
      });
    }
  });
});

describe('token request parsing', () => {
  it('parses both grants', () => {
    expect(parseTokenRequest({ grant_type: 'authorization_code', code: 'c', redirect_uri: good.redirect_uri })).toEqual(
      {
        grantType: 'authorization_code',
        code: 'c',
        redirectUri: good.redirect_uri,
        codeVerifier: undefined,
      },
    );
    expect(parseTokenRequest({ grant_type: 'refresh_token', refresh_token: 'a.b' })).toEqual({
      grantType: 'refresh_token',
      refreshToken: 'a.b',
      scope: undefined,
    });
  });

  it('throws only RFC 6749 token errors for arbitrary form bodies', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('grant_type', 'code', 'redirect_uri', 'refresh_token', 'scope', 'code_verifier', 'x'),
          fc.string(),
        ),
        (form) => {
          try {
            parseTokenRequest(form);
            return true;
          } catch (error) {
            return (
              error instanceof OAuthTokenError &&
              ['invalid_request', 'unsupported_grant_type'].includes(error.error) &&
              error.statusCode === 400
            );
          }
        },
      ),
    );
  });

  it('reads a request without grant_type that carries a code as authorization_code (docs/protocol.md §2.5)', () => {
    expect(parseTokenRequest({ code: 'c', redirect_uri: 'https://x.example/cb' })).toEqual({
      grantType: 'authorization_code',
      code: 'c',
      redirectUri: 'https://x.example/cb',
      codeVerifier: undefined,
    });
    expect(parseTokenRequest({ grant_type: '', code: 'c', redirect_uri: 'https://x.example/cb' })).toMatchObject({
      grantType: 'authorization_code',
    });
    expect(() => parseTokenRequest({ code: 'c' })).toThrow('redirect_uri is required');
    expect(() => parseTokenRequest({ code: '' })).toThrow('grant_type is required');
  });

  it('names the missing or unsupported parts', () => {
    const err = (form: Record<string, string>) => {
      try {
        parseTokenRequest(form);
        return undefined;
      } catch (error) {
        return (error as OAuthTokenError).error;
      }
    };
    expect(err({})).toBe('invalid_request');
    expect(err({ refresh_token: 'c.r' })).toBe('invalid_request');
    expect(err({ grant_type: 'password' })).toBe('unsupported_grant_type');
    expect(err({ grant_type: 'authorization_code', code: 'c' })).toBe('invalid_request');
    expect(err({ grant_type: 'refresh_token' })).toBe('invalid_request');
  });
});

describe('consent form parsing', () => {
  it('accepts exactly allow or deny with pending id and CSRF token', () => {
    expect(parseConsentForm({ pending: 'p', csrf: 'c', decision: 'allow' })).toEqual({
      pending: 'p',
      csrf: 'c',
      decision: 'allow',
    });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('pending', 'csrf', 'decision'), fc.string()), (form) => {
        const parsed = parseConsentForm(form);
        return parsed === undefined || ['allow', 'deny'].includes(parsed.decision);
      }),
    );
    expect(parseConsentForm({ pending: 'p', csrf: 'c', decision: 'maybe' })).toBeUndefined();
    expect(parseConsentForm(undefined)).toBeUndefined();
  });
});

/**
 * Parsing of the OAuth requests we receive: the authorization request (query
 * string), the consent form and the token request (form body). Pure functions;
 * the handlers pass in what the HTTP layer parsed.
 */
import * as z from '#shared/zod.js';
import type { AuthorizeErrorCode } from './errors.js';
import { InvalidRequestError, UnsupportedGrantTypeError } from './errors.js';
import { AUTHORIZE_PARAMETERS } from './parameters.js';
import { isAllowedRedirectUri } from './redirect-uri.js';

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces. */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;
/** RFC 7636 §4.2: with S256 (the only method supported) the challenge is BASE64URL(SHA-256): exactly 43 characters. */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 §4.1. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const VSCHAR = /^[\x20-\x7E]*$/;

export const DEFAULT_SCOPE = 'unfurl';

export interface AuthorizeRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  /** Notion's code, exchanged at Notion once the user consents. */
  readonly notionCode: string;
  readonly state: string | undefined;
  readonly scope: string;
  readonly codeChallenge: string | undefined;
}

export type AuthorizeParse =
  | { readonly kind: 'ok'; readonly request: AuthorizeRequest }
  /** client_id or redirect_uri unusable: an error page, never a redirect. */
  | { readonly kind: 'page'; readonly status: number; readonly message: string }
  /** Valid client and redirect_uri, other problem: redirect with an error (RFC 6749 §4.1.2.1). */
  | {
      readonly kind: 'redirect-error';
      readonly redirectUri: string;
      readonly state: string | undefined;
      readonly error: AuthorizeErrorCode;
      readonly description: string;
    };

export interface AuthorizePolicy {
  readonly clientId: string;
  readonly extraRedirectUris: readonly string[];
}

const MAX_PARAM = 2000;

/** The query without its empty parameters: RFC 6749 §3.1 treats a parameter sent without a value as omitted. */
const withoutEmpty = (query: Readonly<Record<string, string>>): Readonly<Record<string, string>> => {
  const kept: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(query)) if (value !== '') kept[name] = value;
  return kept;
};

export const parseAuthorizeRequest = (
  received: Readonly<Record<string, string>>,
  repeated: readonly string[],
  policy: AuthorizePolicy,
): AuthorizeParse => {
  const query = withoutEmpty(received);
  const repeatedRead = repeated.filter((name) => AUTHORIZE_PARAMETERS.includes(name));
  const clientId = query.client_id;
  const redirectUri = query.redirect_uri;
  if (repeated.includes('client_id') || repeated.includes('redirect_uri')) {
    return { kind: 'page', status: 400, message: 'The request repeats client_id or redirect_uri.' };
  }
  if (clientId === undefined) return { kind: 'page', status: 400, message: 'The request has no client_id.' };
  if (clientId !== policy.clientId)
    return { kind: 'page', status: 400, message: 'The client_id is not registered here.' };
  if (redirectUri === undefined) return { kind: 'page', status: 400, message: 'The request has no redirect_uri.' };
  if (!isAllowedRedirectUri(redirectUri, policy.extraRedirectUris)) {
    return { kind: 'page', status: 400, message: 'The redirect_uri is not allowed for this client.' };
  }
  const rawState = repeatedRead.includes('state') ? undefined : query.state;
  const state = rawState !== undefined && rawState.length <= MAX_PARAM && VSCHAR.test(rawState) ? rawState : undefined;
  const fail = (error: AuthorizeErrorCode, description: string): AuthorizeParse => ({
    kind: 'redirect-error',
    redirectUri,
    state,
    error,
    description,
  });
  // Fixed text: the repeated parameter's name is the client's input.
  if (repeatedRead.length > 0) return fail('invalid_request', 'A parameter must not be repeated');
  if (rawState !== undefined && state === undefined) return fail('invalid_request', 'state is malformed');
  if (query.response_type === undefined) return fail('invalid_request', 'response_type is required');
  if (query.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported');
  const notionCode = query.code;
  if (notionCode === undefined) return fail('invalid_request', "Notion's code parameter is required");
  if (notionCode.length > 512 || !VSCHAR.test(notionCode)) return fail('invalid_request', 'code is malformed');
  const scope = query.scope === undefined || query.scope.trim() === '' ? DEFAULT_SCOPE : query.scope;
  if (scope.length > 500 || !SCOPE.test(scope)) return fail('invalid_scope', 'scope is malformed');
  let codeChallenge: string | undefined;
  if (query.code_challenge !== undefined || query.code_challenge_method !== undefined) {
    if ((query.code_challenge_method ?? 'plain') !== 'S256')
      return fail('invalid_request', 'Only code_challenge_method=S256 is supported');
    if (!CODE_CHALLENGE.test(query.code_challenge ?? '')) return fail('invalid_request', 'code_challenge is malformed');
    codeChallenge = query.code_challenge;
  }
  return { kind: 'ok', request: { clientId, redirectUri, notionCode, state, scope, codeChallenge } };
};

// ---------------------------------------------------------------------------

const token = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(VSCHAR));

const consentSchema = z.object({
  pending: token(200),
  csrf: token(200),
  decision: z.enum(['allow', 'deny']),
});

export type ConsentForm = z.infer<typeof consentSchema>;

export const parseConsentForm = (body: unknown): ConsentForm | undefined => {
  const parsed = consentSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
};

// ---------------------------------------------------------------------------

export type TokenRequest =
  | {
      readonly grantType: 'authorization_code';
      readonly code: string;
      readonly redirectUri: string;
      readonly codeVerifier: string | undefined;
    }
  | { readonly grantType: 'refresh_token'; readonly refreshToken: string; readonly scope: string | undefined };

export interface ClientCredentialFields {
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

const fieldOf = (form: Readonly<Record<string, string>>, name: string, max: number): string | undefined => {
  const v = form[name];
  if (v === undefined || v === '') return undefined;
  if (v.length > max || !VSCHAR.test(v)) throw new InvalidRequestError(`${name} is malformed`);
  return v;
};

/** Client credentials from the body (client_secret_post); validated for size and characters. */
export const parseClientFields = (form: Readonly<Record<string, string>>): ClientCredentialFields => ({
  clientId: fieldOf(form, 'client_id', 200),
  clientSecret: fieldOf(form, 'client_secret', 500),
});

/**
 * The grant a token request asks for: its `grant_type`, or `authorization_code` when it has none but
 * carries a `code` (docs/protocol.md §2.5: a production integration Notion calls reads a missing
 * grant_type so; docs/adr/0158). Without either it is `invalid_request`.
 */
export const grantTypeOf = (form: Readonly<Record<string, string>>): string => {
  const grantType = fieldOf(form, 'grant_type', 100);
  if (grantType !== undefined) return grantType;
  if (fieldOf(form, 'code', 512) !== undefined) return 'authorization_code';
  throw new InvalidRequestError('grant_type is required');
};

/** Parses a token request body (already decoded from x-www-form-urlencoded; repeats rejected upstream). */
export const parseTokenRequest = (form: Readonly<Record<string, string>>): TokenRequest => {
  const grantType = grantTypeOf(form);
  if (grantType === 'authorization_code') {
    const code = fieldOf(form, 'code', 512);
    if (code === undefined) throw new InvalidRequestError('code is required');
    const codeVerifier = fieldOf(form, 'code_verifier', 128);
    if (codeVerifier !== undefined && !CODE_VERIFIER.test(codeVerifier))
      throw new InvalidRequestError('code_verifier is malformed');
    const redirectUri = fieldOf(form, 'redirect_uri', 2000);
    if (redirectUri === undefined) throw new InvalidRequestError('redirect_uri is required');
    return { grantType, code, redirectUri, codeVerifier };
  }
  if (grantType === 'refresh_token') {
    const refreshToken = fieldOf(form, 'refresh_token', 512);
    if (refreshToken === undefined) throw new InvalidRequestError('refresh_token is required');
    const scope = fieldOf(form, 'scope', 500);
    if (scope !== undefined && !SCOPE.test(scope)) throw new InvalidRequestError('scope is malformed');
    return { grantType, refreshToken, scope };
  }
  throw new UnsupportedGrantTypeError(grantType);
};

// ---------------------------------------------------------------------------

export type TokenTypeHint = 'access_token' | 'refresh_token';

export interface RevocationRequest {
  readonly token: string;
  /** The hint, when it is one we know; any other value is ignored (RFC 7009 §2.1). */
  readonly hint: TokenTypeHint | undefined;
}

/**
 * Parses a revocation request body (RFC 7009 §2.1). `token` is required; its value is not checked here:
 * a token of any shape that is not ours is simply not found (RFC 7009 §2.2: invalid tokens are no error).
 */
export const parseRevocationRequest = (form: Readonly<Record<string, string>>): RevocationRequest => {
  const token = form.token;
  if (token === undefined || token === '') throw new InvalidRequestError('token is required');
  const hint = form.token_type_hint;
  return { token, hint: hint === 'access_token' || hint === 'refresh_token' ? hint : undefined };
};

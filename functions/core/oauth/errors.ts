/**
 * OAuth 2.0 protocol errors (RFC 6749 §5.2 at the token endpoint, §4.1.2.1 at
 * the authorization endpoint): one class per error code, each an AppError whose
 * body is the RFC shape `{"error", "error_description"}`. Token-endpoint
 * responses are never cached, errors included.
 */
import { AppError } from '#shared/errors.js';

export const NO_STORE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
};

export type TokenErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

export class OAuthTokenError extends AppError {
  override readonly name: string = 'OAuthTokenError';
  constructor(
    readonly error: TokenErrorCode,
    readonly description: string,
    status = 400,
    extraHeaders: Readonly<Record<string, string>> = {},
  ) {
    super(status, error, description, { expose: true, headers: { ...NO_STORE_HEADERS, ...extraHeaders } });
  }

  override toBody(): unknown {
    return { error: this.error, error_description: this.description };
  }
}

export class InvalidRequestError extends OAuthTokenError {
  override readonly name = 'InvalidRequestError';
  constructor(description: string) {
    super('invalid_request', description);
  }
}

/** The challenge of every invalid_client answer: HTTP Basic, the scheme the token endpoint advertises. */
export const CLIENT_CHALLENGE = 'Basic realm="oauth", charset="UTF-8"';

/**
 * 401 invalid_client, always with a `WWW-Authenticate` challenge: RFC 6749 §5.2 asks for the scheme
 * the client tried when it used the Authorization header, and RFC 9110 §15.5.2 for a challenge on
 * every 401 (Basic is the one method here that uses a header). `usedBasic` is kept for the caller's
 * record of how the client tried.
 */
export class InvalidClientError extends OAuthTokenError {
  override readonly name = 'InvalidClientError';
  constructor(
    description: string,
    readonly usedBasic: boolean,
  ) {
    super('invalid_client', description, 401, { 'www-authenticate': CLIENT_CHALLENGE });
  }
}

export class InvalidGrantError extends OAuthTokenError {
  override readonly name = 'InvalidGrantError';
  constructor(description: string) {
    super('invalid_grant', description);
  }
}

export class UnsupportedGrantTypeError extends OAuthTokenError {
  override readonly name = 'UnsupportedGrantTypeError';
  /** The client's value is not echoed: descriptions never carry client input. */
  constructor(_grantType: string) {
    super('unsupported_grant_type', 'The grant_type is not supported: use authorization_code or refresh_token');
  }
}

export class InvalidScopeError extends OAuthTokenError {
  override readonly name = 'InvalidScopeError';
  constructor(description: string) {
    super('invalid_scope', description);
  }
}

/** Error codes of the authorization response (RFC 6749 §4.1.2.1). */
export type AuthorizeErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable';

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

/**
 * 401 invalid_client. When the client tried HTTP Basic, the response carries
 * `WWW-Authenticate: Basic` (RFC 6749 §5.2).
 */
export class InvalidClientError extends OAuthTokenError {
  override readonly name = 'InvalidClientError';
  constructor(description: string, usedBasic: boolean) {
    super(
      'invalid_client',
      description,
      401,
      usedBasic ? { 'www-authenticate': 'Basic realm="oauth", charset="UTF-8"' } : {},
    );
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
  constructor(grantType: string) {
    super('unsupported_grant_type', `grant_type "${grantType.slice(0, 40)}" is not supported`);
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

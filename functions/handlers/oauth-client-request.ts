/**
 * What the token and revocation endpoints share at the HTTP edge: both take a
 * form POST from our registered client (RFC 6749 §2.3, RFC 7009 §2.1), answer
 * errors in the RFC 6749 §5.2 shape through the one error mapper (`oauth`
 * mode), and mark every answer `Cache-Control: no-store`.
 */
import type { ClientFormRequest } from '#core/oauth/client-auth.js';
import { NO_STORE_HEADERS, OAuthTokenError } from '#core/oauth/errors.js';
import type { HttpHandlerOptions, HttpRequest } from '#shared/http.js';

/** The request as the endpoint's core reads it; a body that is not a form is `invalid_request`. */
export const clientFormRequest = (request: HttpRequest): ClientFormRequest => {
  if (request.bodyKind !== 'form') {
    throw new OAuthTokenError('invalid_request', 'The body must be application/x-www-form-urlencoded');
  }
  return { authorization: request.headers.authorization, form: request.body as Record<string, string> };
};

/** Form bodies only (16 KiB at most); every error, parse errors of the shared stack included, in OAuth form. */
export const clientFormOptions = (onError: (error: string) => void): HttpHandlerOptions => ({
  accept: ['form', 'empty'],
  maxBodyBytes: 16 * 1024,
  errors: { kind: 'oauth', headers: NO_STORE_HEADERS, onError },
});

/**
 * What the token and revocation endpoints share at the HTTP edge: both take a
 * form POST from our registered client (RFC 6749 §2.3, RFC 7009 §2.1), answer
 * errors in the RFC 6749 §5.2 shape through the one error mapper (`oauth`
 * mode), and mark every answer `Cache-Control: no-store`.
 */
import type { ClientFormRequest } from '#core/oauth/client-auth.js';
import { NO_STORE_HEADERS, OAuthTokenError } from '#core/oauth/errors.js';
import type { HttpHandlerOptions, HttpRequest } from '#shared/http.js';

/**
 * The request as the endpoint's core reads it. A body that is not a form is `invalid_request`, and so is
 * one of the endpoint's `parameters` (with a value) in the URI: they belong in the body (RFC 6749 §2.3.1,
 * §3.2), and one sent in both places would otherwise be read from one of them without a word.
 */
export const clientFormRequest = (request: HttpRequest, parameters: readonly string[]): ClientFormRequest => {
  const inUri = (name: string) =>
    request.repeatedQuery.includes(name) || (Object.hasOwn(request.query, name) && request.query[name] !== '');
  if (parameters.some(inUri)) {
    throw new OAuthTokenError('invalid_request', 'OAuth parameters belong in the request body, not in the URI');
  }
  if (request.bodyKind !== 'form') {
    throw new OAuthTokenError('invalid_request', 'The body must be application/x-www-form-urlencoded');
  }
  return { authorization: request.headers.authorization, form: request.body as Record<string, string> };
};

/**
 * Form bodies only (16 KiB at most), of which only a repeat of one of the endpoint's `parameters` is refused;
 * every error, parse errors of the shared stack included, in OAuth form.
 */
export const clientFormOptions = (
  onError: (error: string) => void,
  parameters: readonly string[],
): HttpHandlerOptions => ({
  accept: ['form', 'empty'],
  maxBodyBytes: 16 * 1024,
  formParameters: parameters,
  errors: { kind: 'oauth', headers: NO_STORE_HEADERS, onError },
});

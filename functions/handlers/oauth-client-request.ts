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
 * The HTTP edge of an endpoint that reads `parameters` from a client's form: the shared stack's options
 * (form bodies only, 16 KiB at most, of which only a repeat of one of `parameters` is refused; every
 * error, parse errors of the stack included, in OAuth form), and the request as the endpoint's core reads
 * it. A body that is not a form is `invalid_request`, and so is one of `parameters` (with a value) in the
 * URI: they belong in the body (RFC 6749 §2.3.1, §3.2), and one sent in both places would otherwise be
 * read from one of them without a word.
 */
export const clientForm = (
  parameters: readonly string[],
  onError: (error: string) => void,
): { readonly options: HttpHandlerOptions; readonly read: (request: HttpRequest) => ClientFormRequest } => ({
  options: {
    accept: ['form', 'empty'],
    maxBodyBytes: 16 * 1024,
    formParameters: parameters,
    errors: { kind: 'oauth', headers: NO_STORE_HEADERS, onError },
  },
  read: (request) => {
    const inUri = (name: string) =>
      request.repeatedQuery.includes(name) || (Object.hasOwn(request.query, name) && request.query[name] !== '');
    if (parameters.some(inUri)) {
      throw new OAuthTokenError('invalid_request', 'OAuth parameters belong in the request body, not in the URI');
    }
    if (request.bodyKind !== 'form') {
      throw new OAuthTokenError('invalid_request', 'The body must be application/x-www-form-urlencoded');
    }
    return { authorization: request.headers.authorization, form: request.body as Record<string, string> };
  },
});

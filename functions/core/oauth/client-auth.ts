/**
 * Client authentication at the token endpoint: client_secret_post (what Notion
 * sends) and client_secret_basic (RFC 6749 §2.3.1). Exactly one method per
 * request; identifiers and secrets compared in constant time.
 */
import { constantTimeEqual } from '#shared/crypto.js';
import { InvalidClientError, InvalidRequestError } from './errors.js';

export interface RegisteredClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface ClientCredentialsInput {
  /** The Authorization header value, if any. */
  readonly authorization?: string | undefined;
  readonly clientId?: string | undefined;
  readonly clientSecret?: string | undefined;
}

/** A form POST from the client to the token or revocation endpoint, as both read it. */
export interface ClientFormRequest {
  /** Authorization header value, if any (client_secret_basic). */
  readonly authorization: string | undefined;
  /** The decoded form body. */
  readonly form: Readonly<Record<string, string>>;
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface AuthenticatedClient {
  readonly clientId: string;
  readonly method: ClientAuthMethod;
}

/** Decodes a Basic credential; undefined when it is not one. Parts are form-urlencoded (RFC 6749 §2.3.1). */
export const parseBasic = (authorization: string): { id: string; secret: string } | undefined => {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  try {
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: formDecode(decoded.slice(0, i)), secret: formDecode(decoded.slice(i + 1)) };
  } catch {
    return undefined;
  }
};

export const authenticateClient = (
  input: ClientCredentialsInput,
  registered: RegisteredClient,
): AuthenticatedClient => {
  const header = input.authorization?.trim();
  const usesBasicScheme = header !== undefined && /^basic\b/i.test(header);
  if (usesBasicScheme) {
    if (input.clientSecret !== undefined) {
      throw new InvalidRequestError('Use one client authentication method, not both Basic and client_secret');
    }
    const basic = parseBasic(header);
    if (!basic) throw new InvalidClientError('Malformed Basic credentials', true);
    if (input.clientId !== undefined && input.clientId !== basic.id) {
      throw new InvalidRequestError('client_id in the body differs from the authenticated client');
    }
    const idOk = constantTimeEqual(basic.id, registered.clientId);
    const secretOk = constantTimeEqual(basic.secret, registered.clientSecret);
    if (!(idOk && secretOk)) throw new InvalidClientError('Client authentication failed', true);
    return { clientId: registered.clientId, method: 'client_secret_basic' };
  }
  if (input.clientId === undefined || input.clientSecret === undefined) {
    throw new InvalidClientError(
      'Client authentication is required (client_secret_post or client_secret_basic)',
      false,
    );
  }
  const idOk = constantTimeEqual(input.clientId, registered.clientId);
  const secretOk = constantTimeEqual(input.clientSecret, registered.clientSecret);
  if (!(idOk && secretOk)) throw new InvalidClientError('Client authentication failed', false);
  return { clientId: registered.clientId, method: 'client_secret_post' };
};

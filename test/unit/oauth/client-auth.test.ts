import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { authenticateClient, parseBasic } from '#core/oauth/client-auth.js';
import { InvalidClientError, InvalidRequestError, OAuthTokenError } from '#core/oauth/errors.js';

const registered = { clientId: 'notion-client', clientSecret: 's3cr3t: with spaces & symbols/+' };
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;

const attempt = (fn: () => unknown): unknown => {
  try {
    return fn();
  } catch (error) {
    return error;
  }
};

describe('client authentication', () => {
  it('accepts client_secret_post and client_secret_basic with the registered credentials', () => {
    expect(
      authenticateClient({ clientId: registered.clientId, clientSecret: registered.clientSecret }, registered),
    ).toEqual({
      clientId: 'notion-client',
      method: 'client_secret_post',
    });
    expect(
      authenticateClient({ authorization: basic(registered.clientId, registered.clientSecret) }, registered),
    ).toEqual({
      clientId: 'notion-client',
      method: 'client_secret_basic',
    });
  });

  it('rejects every other secret with 401 invalid_client and a Basic challenge, by either method', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.boolean(), (secret, useBasic) => {
        fc.pre(secret !== registered.clientSecret);
        const error = attempt(() =>
          authenticateClient(
            useBasic
              ? { authorization: basic(registered.clientId, secret) }
              : { clientId: registered.clientId, clientSecret: secret },
            registered,
          ),
        );
        return (
          error instanceof InvalidClientError &&
          error.statusCode === 401 &&
          /^Basic realm=/.test(error.headers['www-authenticate'] ?? '') &&
          error.usedBasic === useBasic &&
          error.headers['cache-control'] === 'no-store'
        );
      }),
    );
  });

  it('rejects an unknown client id even with the right secret', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (id) => {
        fc.pre(id !== registered.clientId);
        return (
          attempt(() =>
            authenticateClient({ clientId: id, clientSecret: registered.clientSecret }, registered),
          ) instanceof InvalidClientError
        );
      }),
    );
  });

  it('round-trips any id and secret through Basic encoding (RFC 6749 §2.3.1 form-encoding)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (id, secret) => {
        expect(parseBasic(basic(id, secret))).toEqual({ id, secret });
      }),
    );
  });

  it('never throws anything but an OAuth error for arbitrary Authorization headers and fields', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string()),
        fc.option(fc.string()),
        fc.option(fc.string()),
        (authorization, clientId, clientSecret) => {
          const result = attempt(() =>
            authenticateClient(
              {
                authorization: authorization ?? undefined,
                clientId: clientId ?? undefined,
                clientSecret: clientSecret ?? undefined,
              },
              registered,
            ),
          );
          return (
            result instanceof OAuthTokenError || (typeof result === 'object' && result !== null && 'method' in result)
          );
        },
      ),
    );
  });

  it('refuses two authentication methods in one request', () => {
    const error = attempt(() =>
      authenticateClient(
        { authorization: basic(registered.clientId, registered.clientSecret), clientSecret: registered.clientSecret },
        registered,
      ),
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
  });

  it('answers a missing authentication with invalid_client', () => {
    expect(attempt(() => authenticateClient({}, registered))).toBeInstanceOf(InvalidClientError);
    expect(attempt(() => authenticateClient({ clientId: registered.clientId }, registered))).toBeInstanceOf(
      InvalidClientError,
    );
  });
});

/**
 * Removes two pieces of per-request work that the AWS SDK v3 does in every
 * command and that this service never uses (ADR 0097). Applied once, to each
 * client, when it is built.
 *
 * - The logger middleware. With the default NoOpLogger it still builds a
 *   redacted copy of each command's input and output (`schemaLogFilter`) for a
 *   log line that is never written. The handlers log through Powertools, not
 *   through the SDK.
 * - A new SigV4 signer per request. The resolved `signer` builds one from a
 *   copy of the whole client configuration on every call. Here the signer is
 *   remembered per auth scheme. Credentials are still read on each signature
 *   (the signer holds the client's credential provider, not its values), and
 *   the signing date and clock-skew correction still come with each request.
 *   A failed build is not remembered.
 */

/** The part of an SDK v3 client this touches (every generated client has it). */
export interface TunableAwsClient {
  readonly middlewareStack: { remove(toRemove: string): boolean };
  // `never`: any client's signer, whatever its auth scheme type, fits here.
  readonly config: { signer: (authScheme?: never) => Promise<unknown> };
}

/** The SDK's name for its logger middleware (`loggerMiddlewareOptions.name`). */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

type Signer = (authScheme?: object) => Promise<unknown>;

/** Returns `client` after removing the logger middleware and making its signer build once per auth scheme. */
export const leanAwsClient = <C extends TunableAwsClient>(client: C): C => {
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  // The resolved config is a plain mutable object; its `signer` takes the endpoint's auth scheme.
  const config = client.config as unknown as { signer: Signer };
  const build = config.signer;
  const signers = new Map<string, Promise<unknown>>();
  config.signer = (authScheme) => {
    // An auth scheme is a small plain object from the endpoint rules (name, signing name and region).
    const key = authScheme === undefined ? '' : JSON.stringify(authScheme);
    let signer = signers.get(key);
    if (!signer) {
      signer = build(authScheme);
      signers.set(key, signer);
      signer.catch(() => signers.delete(key));
    }
    return signer;
  };
  return client;
};

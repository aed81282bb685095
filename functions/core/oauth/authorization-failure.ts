/**
 * What the browser round trip does with a failure of its own once the request's redirect_uri is
 * validated (RFC 6749 §4.1.2.1, docs/adr/0170): it is carried, with that redirect_uri and `state`, to
 * the HTTP edge, which redirects it to the client.
 */

/**
 * A failure of ours (storage, keys, anything unexpected) once the request's redirect_uri is validated.
 * RFC 6749 §4.1.2.1 has the client told by redirect (`server_error`, or `temporarily_unavailable` for
 * a busy dependency): Notion can show it and the user can start again, where a page of ours would leave
 * them stuck. The HTTP edge, which knows a throttled dependency, builds that redirect
 * (docs/adr/0170-authorization-failures-redirect-to-the-client.md).
 */
export class AuthorizationFailedError extends Error {
  override readonly name = 'AuthorizationFailedError';
  constructor(
    readonly redirectUri: string,
    readonly state: string | undefined,
    cause: unknown,
  ) {
    super('authorization failed after the redirect_uri was validated', { cause });
  }
}

/** Runs the steps that follow a validated redirect_uri; a failure becomes AuthorizationFailedError for it. */
export const informingTheClient = async <T>(
  target: { readonly redirectUri: string; readonly state: string | undefined },
  run: () => Promise<T>,
): Promise<T> => {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AuthorizationFailedError) throw error;
    throw new AuthorizationFailedError(target.redirectUri, target.state, error);
  }
};

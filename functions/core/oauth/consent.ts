/**
 * POST /oauth/consent, the last step of the browser round trip (see
 * authorize.ts): allow exchanges Notion's code at Notion, creates the
 * connection (replacing an older one of the same workspace), mints our
 * single-use code and redirects to Notion; deny or failure redirects with an
 * error. The connection is removed again if our code cannot be stored, and
 * lapses on its own if the code is never redeemed (ADR 0160).
 */
import { endConnection } from '#core/connection-end.js';
import type { Connection, PendingAuthorization } from '#core/ports.js';
import { constantTimeEqual, fingerprint, hashSecret } from '#shared/crypto.js';
import { informingTheClient } from './authorization-failure.js';
import {
  type AuthorizeDependencies,
  type BrowserOutcome,
  CODE_TTL_MS,
  errorRedirect,
  page,
  refused,
  SESSION_GONE,
  stateOf,
  UNREDEEMED_CONNECTION_TTL_MS,
} from './authorize.js';
import { notionCodeContext, notionRefreshTokenContext, notionTokenContext } from './cipher-contexts.js';
import { NotionExchangeError, type NotionTokenGrant } from './ports.js';
import { withParams } from './redirect-uri.js';
import { type ConsentForm, parseConsentForm } from './requests.js';

// ---------------------------------------------------------------------------
// POST /oauth/consent
// ---------------------------------------------------------------------------

export const decideConsent = async (
  input: { readonly pendingId: string | undefined; readonly form: unknown },
  deps: AuthorizeDependencies,
): Promise<BrowserOutcome> => {
  const form = parseConsentForm(input.form);
  if (!form)
    return refused(
      deps,
      'invalid_consent_form',
      page(
        400,
        'Invalid consent form',
        'The consent form was incomplete or malformed. Please start again from Notion.',
      ),
    );
  if (input.pendingId === undefined || !constantTimeEqual(input.pendingId, form.pending)) {
    return refused(
      deps,
      'consent_for_another_sign_in',
      page(
        403,
        'Consent not accepted',
        'This consent form does not belong to your current sign-in. Please start again from Notion.',
      ),
    );
  }
  const now = deps.clock.now();
  // One conditional delete checks the session, the signed-in user and the form's CSRF token
  // (compared as hashes) and takes the pending authorization: only one answer gets it.
  const found = await deps.authState.takePendingForConsent(form.pending, hashSecret(form.csrf), now);
  if (found.outcome === 'gone')
    return refused(deps, 'no_pending_sign_in', page(400, 'Sign-in session expired', SESSION_GONE, true));
  const taken = found.outcome === 'taken' ? found.pending : undefined;
  if (!taken?.user) {
    return refused(
      deps,
      'consent_not_verified',
      page(403, 'Consent not accepted', 'The consent form could not be verified. Please start again from Notion.'),
    );
  }
  const user = taken.user;
  // From here on the pending authorization is spent: a failure of ours must reach Notion (RFC 6749 §4.1.2.1).
  return informingTheClient({ redirectUri: taken.redirectUri, state: stateOf(taken) }, () =>
    carryOutDecision(taken, user, form.decision, now, deps),
  );
};

const carryOutDecision = async (
  taken: PendingAuthorization,
  user: NonNullable<PendingAuthorization['user']>,
  decision: ConsentForm['decision'],
  now: number,
  deps: AuthorizeDependencies,
): Promise<BrowserOutcome> => {
  const { settings } = deps;
  const state = stateOf(taken);

  if (decision === 'deny') {
    // Nothing is remembered: every authorize request comes from the user acting in Notion, so a
    // user who declined and presses Connect again is asked again (docs/adr/0104-deny-is-not-sticky.md).
    deps.log('info', 'connect declined', { pending: fingerprint(taken.id) });
    return errorRedirect(taken.redirectUri, state, 'access_denied', 'You declined to connect Notion.', settings.issuer);
  }

  // 1. Exchange Notion's code (nothing stored yet).
  let grant: NotionTokenGrant;
  try {
    const code = await deps.cipher.decrypt(taken.notionCode, notionCodeContext(taken.id));
    grant = await deps.notion.exchangeCode({ code, externalAccount: { key: user.subject, name: user.displayName } });
  } catch (error) {
    if (!(error instanceof NotionExchangeError)) throw error;
    deps.log('warn', 'notion code exchange failed', {
      pending: fingerprint(taken.id),
      kind: error.kind,
      ...error.details,
    });
    return error.kind === 'unavailable'
      ? errorRedirect(
          taken.redirectUri,
          state,
          'temporarily_unavailable',
          'Notion did not answer in time while connecting. Nothing was connected; please try again.',
          settings.issuer,
        )
      : errorRedirect(
          taken.redirectUri,
          state,
          'server_error',
          'Notion did not accept the authorization (it may have expired). Nothing was connected; please start again.',
          settings.issuer,
        );
  }

  // 2. Create the connection with Notion's token encrypted. Until our code is redeemed it carries an
  //    expiry a little after the code's: if Notion never redeems it, the connection lapses (readers
  //    leave it out, DynamoDB's TTL deletes it) instead of keeping a Notion token nobody can use.
  // Minted with the upstream login (its tokens are encrypted for it); a pending authorization stored
  // before that step minted it gets one now (its upstream tokens are under the subject's context).
  const connectionId = user.connectionId ?? deps.random.uuid();
  const [notionTokenCiphertext, notionRefreshTokenCiphertext] = await Promise.all([
    deps.cipher.encrypt(grant.accessToken, notionTokenContext(connectionId)),
    grant.refreshToken ? deps.cipher.encrypt(grant.refreshToken, notionRefreshTokenContext(connectionId)) : undefined,
  ]);
  const connection: Connection = {
    id: connectionId,
    subject: user.subject,
    displayName: user.displayName,
    clientId: taken.clientId,
    scope: taken.scope,
    notion: grant.workspace,
    notionTokenCiphertext,
    ...(notionRefreshTokenCiphertext === undefined ? {} : { notionRefreshTokenCiphertext }),
    ...(user.upstreamTokenCiphertext === undefined ? {} : { upstreamTokenCiphertext: user.upstreamTokenCiphertext }),
    status: 'active',
    tokenGeneration: 0,
    previousRefreshTokenHashes: [],
    createdAt: now,
    updatedAt: now,
    expiresAt: now + UNREDEEMED_CONNECTION_TTL_MS,
  };
  await deps.connections.create(connection);

  // 3. Mint our single-use code bound to the connection and the exact redirect_uri.
  const code = deps.random.token(32);
  try {
    await deps.authState.putCode({
      codeHash: hashSecret(code),
      connectionId,
      clientId: taken.clientId,
      redirectUri: taken.redirectUri,
      scope: taken.scope,
      ...(taken.codeChallenge === undefined ? {} : { codeChallenge: taken.codeChallenge }),
      expiresAt: now + CODE_TTL_MS,
    });
  } catch (error) {
    await endConnection(deps, connectionId, 'setup_failed', 'authorization code not stored');
    throw error;
  }

  await supersedeOlderConnections(connection, now, deps);
  deps.log('info', 'connection created', { connectionId, workspaceId: grant.workspace.workspaceId });
  return {
    kind: 'redirect',
    location: withParams(taken.redirectUri, { code, state, iss: settings.issuer }),
    clearPending: true,
  };
};

/**
 * A user who connects the same workspace again replaces the earlier connection
 * (Notion keeps one token per account and workspace). Connections to other
 * workspaces are kept: each is its own grant. One whose code was never
 * redeemed and has lapsed is not listed: it is not ended (nor reported) again.
 */
const supersedeOlderConnections = async (
  connection: Connection,
  now: number,
  deps: AuthorizeDependencies,
): Promise<void> => {
  try {
    const existing = await deps.connections.listBySubject(connection.subject, now);
    for (const other of existing) {
      if (
        other.id !== connection.id &&
        other.status === 'active' &&
        other.clientId === connection.clientId &&
        other.notion.workspaceId === connection.notion.workspaceId
      ) {
        // The one way a connection ends: its Notion token and its subscriptions (with their snapshots) go too.
        await endConnection(deps, other.id, 'superseded', 'superseded by a new connection');
        deps.log('info', 'connection superseded', { connectionId: other.id, by: connection.id });
      }
    }
  } catch (error) {
    deps.log('warn', 'could not check for superseded connections', { error: error as Error });
  }
};

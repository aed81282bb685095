/**
 * Upstream credentials of a connection: decrypted on first use only (most
 * adapters never ask, and decryption may cost a KMS call), and kept valid
 * (docs/adr/0127).
 *
 * Before a source call an access token that has expired, or expires within a
 * margin, is refreshed with the stored refresh token; when the source answers
 * 401 anyway, `renew()` refreshes once more and the caller retries once. The
 * refresh is shared by every caller of one connection (unfurls and worker
 * pushes, in any process) through conditional writes on the connection:
 *
 *  1. claim the refresh at the token version that was read (one caller wins);
 *  2. the winner asks the provider (the `UpstreamTokenRefresher` port) and
 *     stores the new tokens, encrypted, at version + 1;
 *  3. a loser re-reads until the version moved and uses those tokens (or,
 *     while the old access token is still valid, uses that at once).
 *
 * A rotating refresh token (a new one in each answer) replaces the stored one;
 * a non-rotating one (Cognito: no refresh token in the answer) is kept. A
 * refused refresh (`invalid_grant`) marks the connection as needing a new
 * login: its upstream tokens are removed, and every later call answers
 * needs_auth without asking anyone.
 *
 * A refresh, once asked, is seen through: `settled()` lets the caller wait for
 * its answer to be stored even when the source deadline has passed
 * (docs/adr/0159).
 */
import { legacyUpstreamTokenContext, upstreamTokenContext } from '#core/oauth/cipher-contexts.js';
import type { Connection, TokenCipher, UpstreamTokenStore } from '#core/ports.js';
import { SourceUnavailableError, type UpstreamCredentials } from './source-adapter.js';
import { needsRefresh, type StoredUpstreamTokens, tokensFromPlaintext } from './stored-tokens.js';

/** The provider's answer to a refresh_token grant. Thrown errors mean "no answer" (network, 5xx, timeout). */
export type UpstreamRefresh =
  | {
      readonly outcome: 'refreshed';
      readonly accessToken: string;
      /** Absent when the provider does not rotate refresh tokens (Cognito): the stored one stays. */
      readonly refreshToken?: string;
      readonly expiresInSeconds?: number;
    }
  /** `invalid_grant`: the refresh token is expired, revoked or already used; the user must log in again. */
  | { readonly outcome: 'refused'; readonly error: string };

/** The upstream provider's token endpoint (functions/adapters/oidc/refresh.ts, through openid-client). */
export interface UpstreamTokenRefresher {
  refresh(refreshToken: string): Promise<UpstreamRefresh>;
}

/** What keeping a connection's upstream tokens valid needs. */
export interface UpstreamTokenKeeping {
  readonly store: UpstreamTokenStore;
  /** Built on first use (the OIDC client is loaded only when a token must be refreshed). */
  readonly refresher: () => Promise<UpstreamTokenRefresher>;
  readonly now: () => number;
  /** How long a claim to refresh holds if its holder vanishes (default 10 s). */
  readonly claimMs?: number;
  /** How long a caller that lost the claim waits for the winner's tokens (default 2 s). */
  readonly maxWaitMs?: number;
  /** Waits `ms` (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** `upstream.refreshed` | `upstream.refresh_failed` | `upstream.login_required` | `upstream.waited` | `upstream.not_saved`. */
  readonly observe?: (event: string, details: Readonly<Record<string, unknown>>) => void;
}

/** Attempts at storing refreshed tokens: a provider that rotates has spent the stored refresh token. */
const SAVE_ATTEMPTS = 3;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type ConnectionView = Pick<
  Connection,
  'id' | 'subject' | 'upstreamTokenCiphertext' | 'upstreamTokenVersion' | 'upstreamLoginRequiredAt'
>;

/**
 * Credentials whose tokens are decrypted (once) when an adapter first asks for them, and,
 * given `keeping`, refreshed when they expire or the source refuses them.
 */
export const upstreamCredentials = (
  connection: ConnectionView,
  cipher: () => Promise<TokenCipher>,
  keeping?: UpstreamTokenKeeping,
): UpstreamCredentials => {
  const context = upstreamTokenContext(connection.id);
  /** Tokens stored before ADR 0165 (under the subject's context) are read, and stored again under `context`. */
  const legacy = legacyUpstreamTokenContext(connection.subject);
  const observe = keeping?.observe ?? (() => undefined);
  /** What this caller last saw: the version and its tokens. */
  let seen: { version: number; tokens: StoredUpstreamTokens | undefined } | undefined;
  let first: Promise<string | undefined> | undefined;
  let handedOut: string | undefined;
  let renewed = false;
  /** The provider call this caller won the claim for, until its answer is stored. */
  let spending: Promise<unknown> | undefined;

  const decrypt = async (ciphertext: string | undefined): Promise<StoredUpstreamTokens | undefined> => {
    if (ciphertext === undefined) return undefined;
    const c = await cipher().catch(() => undefined);
    if (!c) return undefined;
    for (const under of [context, legacy]) {
      try {
        return tokensFromPlaintext(await c.decrypt(ciphertext, under));
      } catch {
        // Not under this context: try the next.
      }
    }
    return undefined;
  };

  const hand = (token: string | undefined): string | undefined => {
    handedOut = token;
    return token;
  };

  /**
   * Reads the connection again: `moved` when its upstream tokens are no longer those of `version`
   * (another caller stored new ones, or the connection ended or needs a new login), with the token
   * that now serves (none when the connection cannot be used).
   */
  const adoptStored = async (
    k: UpstreamTokenKeeping,
    version: number,
  ): Promise<{ readonly moved: boolean; readonly token?: string }> => {
    const fresh = await k.store.get(connection.id);
    if (
      fresh?.status !== 'active' ||
      fresh.upstreamLoginRequiredAt !== undefined ||
      fresh.upstreamTokenCiphertext === undefined
    ) {
      seen = { version: fresh?.upstreamTokenVersion ?? version, tokens: undefined };
      return { moved: true };
    }
    const stored = fresh.upstreamTokenVersion ?? 0;
    if (stored === version) return { moved: false };
    seen = { version: stored, tokens: await decrypt(fresh.upstreamTokenCiphertext) };
    const token = seen.tokens?.accessToken;
    return token === undefined ? { moved: true } : { moved: true, token };
  };

  /** Refreshes the tokens seen at `version`, or takes those another caller stored. */
  const refresh = async (k: UpstreamTokenKeeping, force: boolean): Promise<string | undefined> => {
    const sleep = k.sleep ?? defaultSleep;
    const started = k.now();
    let pause = 25;
    for (;;) {
      const current = seen;
      const tokens = current?.tokens;
      if (!current || !tokens?.refreshToken) return tokens?.accessToken;
      const now = k.now();
      const until = now + (k.claimMs ?? 10_000);
      if (await k.store.claimUpstreamRefresh(connection.id, { version: current.version, now, until })) {
        const asked = ask(k, current.version, tokens, tokens.refreshToken, until);
        spending = asked;
        return asked;
      }
      // Someone else refreshes (or did): their tokens, once stored, are ours too.
      const stored = await adoptStored(k, current.version);
      if (stored.moved) {
        if (stored.token !== undefined)
          observe('upstream.waited', { connectionId: connection.id, ms: k.now() - started });
        return stored.token;
      }
      // Still refreshing elsewhere: an access token that has not expired yet is good for this call.
      if (!force && tokens.expiresAt !== undefined && tokens.expiresAt > k.now()) return tokens.accessToken;
      if (k.now() - started >= (k.maxWaitMs ?? 2_000)) {
        throw new SourceUnavailableError('upstream token refresh still in progress elsewhere');
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 200);
    }
  };

  /** The winner of the claim asks the provider and stores the answer. */
  const ask = async (
    k: UpstreamTokenKeeping,
    version: number,
    tokens: StoredUpstreamTokens,
    refreshToken: string,
    until: number,
  ): Promise<string | undefined> => {
    let answer: UpstreamRefresh;
    try {
      answer = await (await k.refresher()).refresh(refreshToken);
    } catch (cause) {
      await k.store.releaseUpstreamRefresh(connection.id, { version, until }).catch(() => undefined);
      observe('upstream.refresh_failed', { connectionId: connection.id });
      throw new SourceUnavailableError('upstream token refresh failed', { cause });
    }
    const now = k.now();
    if (answer.outcome === 'refused') {
      if (!(await k.store.requireUpstreamLogin(connection.id, { version, now }))) {
        // Not marked: the claim ran out and another caller stored new tokens meanwhile (a rotating
        // provider then refuses the refresh token they spent). Theirs serve; nobody has to log in again.
        const stored = await adoptStored(k, version);
        if (stored.moved) return stored.token;
      }
      seen = { version, tokens: undefined };
      observe('upstream.login_required', { connectionId: connection.id, error: answer.error });
      return undefined;
    }
    const next: StoredUpstreamTokens = {
      accessToken: answer.accessToken,
      // Cognito does not rotate: its answer has no refresh token, and the stored one stays valid.
      refreshToken: answer.refreshToken ?? refreshToken,
      ...(answer.expiresInSeconds === undefined ? {} : { expiresAt: now + answer.expiresInSeconds * 1000 }),
      obtainedAt: now,
    };
    const saved = await save(k, version, next, now);
    // Not saved: the claim ran out and another caller moved on, or the store kept failing (the claim
    // then stays until it runs out, so nobody presents the refresh token just spent). These tokens
    // still serve this call.
    if (!saved) observe('upstream.not_saved', { connectionId: connection.id });
    else observe('upstream.refreshed', { connectionId: connection.id, rotated: answer.refreshToken !== undefined });
    seen = { version: saved ? version + 1 : version, tokens: { ...tokens, ...next } };
    return next.accessToken;
  };

  /** Stores `next` at version + 1: tried again when the store fails, since the provider may have rotated. */
  const save = async (
    k: UpstreamTokenKeeping,
    version: number,
    next: StoredUpstreamTokens,
    now: number,
  ): Promise<boolean> => {
    let ciphertext: string;
    try {
      ciphertext = await (await cipher()).encrypt(JSON.stringify(next), context);
    } catch {
      return false;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await k.store.saveUpstreamTokens(connection.id, { version, ciphertext, now });
      } catch {
        if (attempt >= SAVE_ATTEMPTS) return false;
      }
    }
  };

  const firstToken = async (): Promise<string | undefined> => {
    if (connection.upstreamLoginRequiredAt !== undefined) return undefined;
    const tokens = await decrypt(connection.upstreamTokenCiphertext);
    seen = { version: connection.upstreamTokenVersion ?? 0, tokens };
    if (!tokens) return undefined;
    if (!keeping || !tokens.refreshToken || !needsRefresh(tokens, keeping.now())) return tokens.accessToken;
    return refresh(keeping, false);
  };

  return {
    accessToken: () => {
      first ??= firstToken().then(hand);
      return first;
    },
    renew: async () => {
      // Once per call: the source refused the token it was given; a second refusal is the answer.
      if (!keeping || renewed || handedOut === undefined) return undefined;
      renewed = true;
      const fresh = await refresh(keeping, true);
      if (fresh === undefined || fresh === handedOut) return undefined;
      first = Promise.resolve(hand(fresh));
      return fresh;
    },
    settled: async () => {
      await spending?.catch(() => undefined);
    },
  };
};

/** Credentials of nobody (for adapters that never use them, and tests). */
export const noCredentials: UpstreamCredentials = { accessToken: () => Promise.resolve(undefined) };

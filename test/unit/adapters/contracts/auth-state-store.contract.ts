/**
 * The AuthStateStore contract, run against the in-memory adapter (unit tier)
 * and the DynamoDB adapter on dynalite (integration tier).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CODE_REPLAY_RETENTION_MS } from '#adapters/dynamo/rules.js';
import {
  AlreadyExistsError,
  type AuthorizationCode,
  type AuthStateStore,
  type PendingAuthorization,
} from '#core/ports.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

const aCode = (overrides: Partial<AuthorizationCode> = {}): AuthorizationCode => ({
  codeHash: `hash-${randomUUID()}`,
  connectionId: randomUUID(),
  clientId: 'notion-local',
  redirectUri: 'https://www.notion.so/externalintegrationauthcallback',
  scope: 'read',
  expiresAt: T0 + 60_000,
  ...overrides,
});

const aPending = (overrides: Partial<PendingAuthorization> = {}): PendingAuthorization => ({
  id: randomUUID(),
  clientId: 'notion-local',
  notionCode: 'notion-code',
  state: 'notion-state',
  scope: 'read',
  redirectUri: 'https://www.notion.so/externalintegrationauthcallback',
  upstream: { codeVerifier: 'verifier', nonce: 'nonce', state: 'upstream-state' },
  createdAt: T0,
  expiresAt: T0 + 10 * 60_000,
  ...overrides,
});

export const authStateStoreContract = (name: string, store: () => AuthStateStore): void => {
  describe(`${name} (AuthStateStore contract)`, () => {
    describe('authorization codes', () => {
      it('redeems a fresh code once, recording when', async () => {
        const code = aCode();
        await store().putCode(code);
        expect(await store().redeemCode(code.codeHash, T0 + 1000)).toEqual({
          outcome: 'redeemed',
          code: { ...code, consumedAt: T0 + 1000 },
        });
      });

      it('lets exactly one of 20 concurrent redemptions win; the others are replays', async () => {
        const code = aCode();
        await store().putCode(code);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store().redeemCode(code.codeHash, T0 + 1000 + i)),
        );
        const outcomes = results.map((r) => r.outcome);
        expect(outcomes.filter((o) => o === 'redeemed')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'replayed')).toHaveLength(19);
        const winner = results.find((r) => r.outcome === 'redeemed');
        for (const r of results) {
          if (r.outcome === 'replayed')
            expect(r.code.consumedAt).toBe(winner?.outcome === 'redeemed' && winner.code.consumedAt);
        }
      });

      it('classifies a later replay as replayed, with the code it names (to revoke what it issued)', async () => {
        const code = aCode();
        await store().putCode(code);
        await store().redeemCode(code.codeHash, T0 + 1);
        const replay = await store().redeemCode(code.codeHash, T0 + 2);
        expect(replay).toEqual({ outcome: 'replayed', code: { ...code, consumedAt: T0 + 1 } });
      });

      it('refuses an expired code as expired, and keeps refusing it', async () => {
        const code = aCode({ expiresAt: T0 + 60_000 });
        await store().putCode(code);
        expect(await store().redeemCode(code.codeHash, T0 + 60_000)).toEqual({ outcome: 'expired' });
        expect(await store().redeemCode(code.codeHash, T0 + 60_001)).toEqual({ outcome: 'expired' });
      });

      it('reads a code without spending it: usable, then replayed once redeemed; expired and unknown alike', async () => {
        const code = aCode({ expiresAt: T0 + 60_000 });
        await store().putCode(code);
        expect(await store().readCode(code.codeHash, T0 + 1)).toEqual({ outcome: 'usable', code });
        expect(await store().readCode(code.codeHash, T0 + 2)).toEqual({ outcome: 'usable', code });
        expect(await store().readCode(code.codeHash, T0 + 60_000)).toEqual({ outcome: 'expired' });
        expect((await store().redeemCode(code.codeHash, T0 + 3)).outcome).toBe('redeemed');
        expect(await store().readCode(code.codeHash, T0 + 4)).toEqual({
          outcome: 'replayed',
          code: { ...code, consumedAt: T0 + 3 },
        });
        expect(await store().readCode(`hash-${randomUUID()}`, T0)).toEqual({ outcome: 'unknown' });
      });

      it('answers unknown for a code never issued', async () => {
        expect(await store().redeemCode(`hash-${randomUUID()}`, T0)).toEqual({ outcome: 'unknown' });
      });

      it('recognises a replay after expiry until the retention ends, then forgets the code', async () => {
        const code = aCode();
        await store().putCode(code);
        await store().redeemCode(code.codeHash, T0 + 1);
        const late = await store().redeemCode(code.codeHash, code.expiresAt + 60_000);
        expect(late.outcome).toBe('replayed');
        const gone = await store().redeemCode(code.codeHash, code.expiresAt + CODE_REPLAY_RETENTION_MS + 1000);
        expect(gone).toEqual({ outcome: 'unknown' });
      });

      it('never overwrites an existing code', async () => {
        const code = aCode();
        await store().putCode(code);
        await store().redeemCode(code.codeHash, T0 + 1);
        await expect(store().putCode(code)).rejects.toBeInstanceOf(AlreadyExistsError);
        expect((await store().redeemCode(code.codeHash, T0 + 2)).outcome).toBe('replayed');
      });
    });

    describe('pending authorizations', () => {
      it('stores and reads a pending authorization until it expires', async () => {
        const p = aPending();
        await store().putPending(p);
        expect(await store().getPending(p.id, T0 + 1)).toEqual(p);
        expect(await store().getPending(p.id, p.expiresAt)).toBeUndefined();
        expect(await store().getPending(randomUUID(), T0)).toBeUndefined();
      });

      it('updates one that exists, and only that', async () => {
        const p = aPending();
        await store().putPending(p);
        const withUser = { ...p, user: { subject: 'u-alice', displayName: 'Alice' }, csrfHash: 'csrf' };
        expect(await store().updatePending(withUser)).toBe(true);
        expect(await store().getPending(p.id, T0 + 1)).toEqual(withUser);
        expect(await store().updatePending(aPending())).toBe(false);
      });

      it('hands a pending authorization to exactly one of 20 concurrent takers', async () => {
        const p = aPending();
        await store().putPending(p);
        const taken = await Promise.all(Array.from({ length: 20 }, () => store().takePending(p.id, T0 + 1)));
        const got = taken.filter((t) => t !== undefined);
        expect(got).toEqual([p]);
        expect(await store().getPending(p.id, T0 + 2)).toBeUndefined();
        expect(await store().takePending(p.id, T0 + 3)).toBeUndefined();
      });

      it('does not hand out an expired pending authorization', async () => {
        const p = aPending();
        await store().putPending(p);
        expect(await store().takePending(p.id, p.expiresAt + 1)).toBeUndefined();
      });

      it('takes a signed-in pending authorization for the consent only with its CSRF hash, once, in one write', async () => {
        const p = aPending({ user: { subject: 'u-1', displayName: 'U' }, csrfHash: 'csrf-hash' });
        await store().putPending(p);
        expect(await store().takePendingForConsent(p.id, 'wrong', T0 + 1)).toEqual({ outcome: 'mismatch' });
        expect(await store().getPending(p.id, T0 + 1)).toEqual(p);
        const answers = await Promise.all(
          Array.from({ length: 5 }, () => store().takePendingForConsent(p.id, 'csrf-hash', T0 + 1)),
        );
        expect(answers.filter((a) => a.outcome === 'taken')).toEqual([{ outcome: 'taken', pending: p }]);
        expect(await store().takePendingForConsent(p.id, 'csrf-hash', T0 + 2)).toEqual({ outcome: 'gone' });
        const notSignedIn = aPending({ csrfHash: 'h' });
        await store().putPending(notSignedIn);
        expect(await store().takePendingForConsent(notSignedIn.id, 'h', T0 + 1)).toEqual({ outcome: 'mismatch' });
        expect(await store().takePendingForConsent(notSignedIn.id, 'h', notSignedIn.expiresAt)).toEqual({
          outcome: 'gone',
        });
      });
    });

    describe('markers', () => {
      it('stores a marker until it expires', async () => {
        const key = `refused:${randomUUID()}`;
        await store().putMarker(key, 'yes', T0 + 1000);
        expect(await store().getMarker(key, T0)).toBe('yes');
        expect(await store().getMarker(key, T0 + 1000)).toBeUndefined();
      });

      it('puts a marker if absent exactly once under concurrency, and again once it expired', async () => {
        const key = `webhook:${randomUUID()}`;
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store().putMarkerIfAbsent(key, `v${i}`, T0 + 1000, T0)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = `v${results.indexOf(true)}`;
        expect(await store().getMarker(key, T0 + 1)).toBe(winner);
        expect(await store().putMarkerIfAbsent(key, 'late', T0 + 5000, T0 + 999)).toBe(false);
        expect(await store().putMarkerIfAbsent(key, 'next', T0 + 5000, T0 + 1000)).toBe(true);
        expect(await store().getMarker(key, T0 + 1001)).toBe('next');
      });
    });
  });
};

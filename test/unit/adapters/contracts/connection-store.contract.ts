/**
 * The ConnectionStore contract, run against the in-memory adapter (unit tier)
 * and the DynamoDB adapter on dynalite (integration tier).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  AlreadyExistsError,
  type Connection,
  type ConnectionStore,
  type NotionTokenStore,
  type UpstreamTokenStore,
} from '#core/ports.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

export const aConnection = (overrides: Partial<Connection> = {}): Connection => ({
  id: randomUUID(),
  subject: `u-${randomUUID()}`,
  displayName: 'Alice Example',
  clientId: 'notion-local',
  scope: 'read',
  notion: { workspaceId: 'ws-1', workspaceName: 'Acme', workspaceIcon: null, botId: 'bot-1' },
  notionTokenCiphertext: 'v1.local.kid.notion',
  notionRefreshTokenCiphertext: 'v1.local.kid.refresh',
  upstreamTokenCiphertext: 'v1.local.kid.upstream',
  status: 'active',
  tokenGeneration: 0,
  previousRefreshTokenHashes: [],
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
});

export const connectionStoreContract = (name: string, store: () => ConnectionStore): void => {
  describe(`${name} (ConnectionStore contract)`, () => {
    it('creates a connection and reads back exactly what was stored', async () => {
      const c = aConnection({ refreshTokenHash: 'h0' });
      await store().create(c);
      expect(await store().get(c.id)).toEqual(c);
    });

    it('refuses to create a connection whose id exists', async () => {
      const c = aConnection();
      await store().create(c);
      await expect(store().create({ ...c, displayName: 'Mallory' })).rejects.toBeInstanceOf(AlreadyExistsError);
      expect((await store().get(c.id))?.displayName).toBe('Alice Example');
    });

    it('answers undefined for an unknown id', async () => {
      expect(await store().get(randomUUID())).toBeUndefined();
    });

    it('lists the connections of one subject by creation time, and only those', async () => {
      const subject = `u-${randomUUID()}`;
      const later = aConnection({ subject, createdAt: T0 + 2000 });
      const earlier = aConnection({ subject, createdAt: T0 + 1000 });
      await store().create(later);
      await store().create(earlier);
      await store().create(aConnection());
      const listed = await store().listBySubject(subject, T0);
      expect(listed.map((c) => c.id)).toEqual([earlier.id, later.id]);
    });

    describe('refresh-token swap', () => {
      it('sets the first refresh hash only when none is stored', async () => {
        const c = aConnection();
        await store().create(c);
        const first = await store().swapRefreshToken(c.id, { expectedHash: null, newHash: 'h1', now: T0 + 1 });
        expect(first.outcome).toBe('swapped');
        expect(first.connection?.refreshTokenHash).toBe('h1');
        expect(first.connection?.previousRefreshTokenHashes).toEqual([]);
        const again = await store().swapRefreshToken(c.id, { expectedHash: null, newHash: 'h2', now: T0 + 2 });
        expect(again.outcome).toBe('conflict');
        expect(again.connection?.refreshTokenHash).toBe('h1');
      });

      it('lets the first hash set for a code be replaced for that same code only, and never a rotated one', async () => {
        const c = aConnection();
        await store().create(c);
        const first = { expectedHash: null, now: T0 + 1, forCode: 'code-a' };
        expect((await store().swapRefreshToken(c.id, { ...first, newHash: 'h1' })).outcome).toBe('swapped');
        // An exchange of the same code that did not finish is retried: its hash replaces the undelivered one.
        const retried = await store().swapRefreshToken(c.id, { ...first, newHash: 'h2', now: T0 + 2 });
        expect(retried.outcome).toBe('swapped');
        expect(retried.connection?.refreshTokenHash).toBe('h2');
        expect(retried.connection?.previousRefreshTokenHashes).toEqual([]);
        // Another code, or no code, never replaces it.
        const other = await store().swapRefreshToken(c.id, { ...first, newHash: 'h3', forCode: 'code-b' });
        expect(other.outcome).toBe('conflict');
        expect((await store().swapRefreshToken(c.id, { expectedHash: null, newHash: 'h4', now: T0 + 3 })).outcome).toBe(
          'conflict',
        );
        // Once rotated, the first hash is gone: the code cannot bring one back.
        expect((await store().swapRefreshToken(c.id, { expectedHash: 'h2', newHash: 'h5', now: T0 + 4 })).outcome).toBe(
          'swapped',
        );
        expect((await store().swapRefreshToken(c.id, { ...first, newHash: 'h6', now: T0 + 5 })).outcome).toBe(
          'conflict',
        );
        expect((await store().get(c.id))?.refreshTokenHash).toBe('h5');
      });

      it('rotates the current hash and remembers the old one; a stale hash conflicts', async () => {
        const c = aConnection({ refreshTokenHash: 'h1' });
        await store().create(c);
        const swapped = await store().swapRefreshToken(c.id, { expectedHash: 'h1', newHash: 'h2', now: T0 + 5 });
        expect(swapped).toEqual({
          outcome: 'swapped',
          connection: { ...c, refreshTokenHash: 'h2', previousRefreshTokenHashes: ['h1'], updatedAt: T0 + 5 },
        });
        const stale = await store().swapRefreshToken(c.id, { expectedHash: 'h1', newHash: 'h3', now: T0 + 6 });
        expect(stale.outcome).toBe('conflict');
        expect(stale.connection?.refreshTokenHash).toBe('h2');
        expect(stale.connection?.previousRefreshTokenHashes).toContain('h1');
        expect((await store().get(c.id))?.refreshTokenHash).toBe('h2');
      });

      it('lets exactly one of 20 concurrent rotations of the same token win', async () => {
        const c = aConnection({ refreshTokenHash: 'start' });
        await store().create(c);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store().swapRefreshToken(c.id, { expectedHash: 'start', newHash: `n${i}`, now: T0 + 10 }),
          ),
        );
        const winners = results.filter((r) => r.outcome === 'swapped');
        expect(winners).toHaveLength(1);
        const stored = await store().get(c.id);
        expect(stored?.refreshTokenHash).toBe(winners[0]?.connection?.refreshTokenHash);
        expect(stored?.previousRefreshTokenHashes).toEqual(['start']);
      });

      it('conflicts for an unknown connection and for one that has ended', async () => {
        const unknown = await store().swapRefreshToken(randomUUID(), { expectedHash: 'x', newHash: 'y', now: T0 });
        expect(unknown).toEqual({ outcome: 'conflict', connection: undefined });
        const c = aConnection({ refreshTokenHash: 'h1' });
        await store().create(c);
        await store().end(c.id, { status: 'revoked', reason: 'test', now: T0 + 1 });
        const ended = await store().swapRefreshToken(c.id, { expectedHash: 'h1', newHash: 'h2', now: T0 + 2 });
        expect(ended.outcome).toBe('conflict');
        expect(ended.connection?.status).toBe('revoked');
      });

      it('keeps a bounded list that always holds the latest 20 rotated hashes', async () => {
        const c = aConnection({ refreshTokenHash: 'r0' });
        await store().create(c);
        for (let i = 1; i <= 45; i++) {
          const r = await store().swapRefreshToken(c.id, { expectedHash: `r${i - 1}`, newHash: `r${i}`, now: T0 + i });
          expect(r.outcome).toBe('swapped');
          const prev = r.connection?.previousRefreshTokenHashes ?? [];
          expect(prev.length).toBeLessThanOrEqual(40);
          expect(prev[prev.length - 1]).toBe(`r${i - 1}`);
        }
        const prev = (await store().get(c.id))?.previousRefreshTokenHashes ?? [];
        const latest20 = Array.from({ length: 20 }, (_, k) => `r${25 + k}`);
        expect(prev.slice(-20)).toEqual(latest20);
        expect(prev.length).toBeLessThanOrEqual(40);
      });
    });

    describe('a connection whose code is not yet redeemed (ADR 0160)', () => {
      const LAPSES = T0 + 120_000;
      const unredeemed = (overrides: Partial<Connection> = {}) => aConnection({ expiresAt: LAPSES, ...overrides });

      it('reads back its expiry, and is listed by subject until it lapses, then left out', async () => {
        const c = unredeemed();
        const redeemed = aConnection({ subject: c.subject, refreshTokenHash: 'h', createdAt: T0 + 1 });
        await store().create(c);
        await store().create(redeemed);
        expect(await store().get(c.id)).toEqual(c);
        expect((await store().listBySubject(c.subject, LAPSES - 1)).map((x) => x.id)).toEqual([c.id, redeemed.id]);
        expect((await store().listBySubject(c.subject, LAPSES)).map((x) => x.id)).toEqual([redeemed.id]);
        expect((await store().listBySubject(c.subject, LAPSES + 86_400_000)).map((x) => x.id)).toEqual([redeemed.id]);
      });

      it('loses its expiry with its first refresh token, and is never left out afterwards', async () => {
        const c = unredeemed();
        await store().create(c);
        const first = await store().swapRefreshToken(c.id, {
          expectedHash: null,
          newHash: 'h1',
          now: LAPSES - 1,
          forCode: 'code-hash',
        });
        expect(first.outcome).toBe('swapped');
        expect(first.connection).not.toHaveProperty('expiresAt');
        expect(await store().get(c.id)).not.toHaveProperty('expiresAt');
        // The retry of an exchange cut short (ADR 0087) and a rotation still work after the old expiry.
        const retry = await store().swapRefreshToken(c.id, {
          expectedHash: null,
          newHash: 'h1b',
          now: LAPSES + 1,
          forCode: 'code-hash',
        });
        expect(retry.outcome).toBe('swapped');
        const rotated = await store().swapRefreshToken(c.id, { expectedHash: 'h1b', newHash: 'h2', now: LAPSES + 2 });
        expect(rotated.outcome).toBe('swapped');
        expect((await store().listBySubject(c.subject, LAPSES + 86_400_000)).map((x) => x.id)).toEqual([c.id]);
      });

      it('gets no refresh token once lapsed: the swap conflicts and changes nothing', async () => {
        const c = unredeemed();
        await store().create(c);
        for (const swap of [
          { expectedHash: null, newHash: 'h1', now: LAPSES, forCode: 'code-hash' },
          { expectedHash: null, newHash: 'h1', now: LAPSES + 60_000 },
        ]) {
          const late = await store().swapRefreshToken(c.id, swap);
          expect(late.outcome).toBe('conflict');
        }
        expect(await store().get(c.id)).toEqual(c);
      });

      it('keeps its expiry when it ends, so the ended record lapses too', async () => {
        const c = unredeemed();
        await store().create(c);
        await store().end(c.id, { status: 'revoked', reason: 'superseded', now: T0 + 5 });
        const ended = await store().get(c.id);
        expect(ended).toMatchObject({ status: 'revoked', expiresAt: LAPSES });
        expect(ended).not.toHaveProperty('notionTokenCiphertext');
        expect(await store().listBySubject(c.subject, LAPSES)).toEqual([]);
      });
    });

    describe('end', () => {
      it('ends a connection: status, reason, stored tokens removed, generation bumped; returns the state before', async () => {
        const c = aConnection({ refreshTokenHash: 'h1', tokenGeneration: 3 });
        await store().create(c);
        const before = await store().end(c.id, { status: 'revoked', reason: 'refresh token reused', now: T0 + 9 });
        expect(before).toEqual(c);
        const after = await store().get(c.id);
        expect(after).toMatchObject({
          status: 'revoked',
          revokedReason: 'refresh token reused',
          revokedAt: T0 + 9,
          updatedAt: T0 + 9,
          tokenGeneration: 4,
        });
        expect(after?.notionTokenCiphertext).toBeUndefined();
        expect(after?.notionRefreshTokenCiphertext).toBeUndefined();
        expect(after?.upstreamTokenCiphertext).toBeUndefined();
        expect(after?.refreshTokenHash).toBeUndefined();
      });

      it('is idempotent: a repeated or concurrent end changes nothing more', async () => {
        const c = aConnection();
        await store().create(c);
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store().end(c.id, { status: i % 2 ? 'revoked' : 'disconnected', reason: `r${i}`, now: T0 + i }),
          ),
        );
        const once = await store().get(c.id);
        expect(once?.tokenGeneration).toBe(1);
        const again = await store().end(c.id, { status: 'disconnected', reason: 'later', now: T0 + 100 });
        expect(again).toEqual(once);
        expect(await store().get(c.id)).toEqual(once);
      });

      it('answers undefined for an unknown connection', async () => {
        expect(await store().end(randomUUID(), { status: 'revoked', reason: 'x', now: T0 })).toBeUndefined();
      });
    });
  });
};

/** The conditional writes that keep upstream tokens valid (docs/adr/0127). */
export const upstreamTokenStoreContract = (name: string, store: () => ConnectionStore & UpstreamTokenStore): void => {
  describe(`${name} (UpstreamTokenStore contract)`, () => {
    it('one claim wins at a version; it holds until it expires', async () => {
      const c = aConnection();
      await store().create(c);
      const claims = await Promise.all(
        Array.from({ length: 6 }, () =>
          store().claimUpstreamRefresh(c.id, { version: 0, now: T0, until: T0 + 10_000 }),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await store().get(c.id))?.upstreamRefreshUntil).toBe(T0 + 10_000);
      expect(await store().claimUpstreamRefresh(c.id, { version: 0, now: T0 + 9_999, until: T0 + 20_000 })).toBe(false);
      expect(await store().claimUpstreamRefresh(c.id, { version: 0, now: T0 + 10_001, until: T0 + 20_000 })).toBe(true);
    });

    it('saves tokens only at the version read: version + 1, claim cleared; a stale save changes nothing', async () => {
      const c = aConnection();
      await store().create(c);
      await store().claimUpstreamRefresh(c.id, { version: 0, now: T0, until: T0 + 10_000 });
      expect(await store().saveUpstreamTokens(c.id, { version: 0, ciphertext: 'v1.new', now: T0 + 5 })).toBe(true);
      const saved = await store().get(c.id);
      expect(saved).toMatchObject({ upstreamTokenCiphertext: 'v1.new', upstreamTokenVersion: 1, updatedAt: T0 + 5 });
      expect(saved?.upstreamRefreshUntil).toBeUndefined();
      expect(await store().saveUpstreamTokens(c.id, { version: 0, ciphertext: 'v1.stale', now: T0 + 6 })).toBe(false);
      expect(await store().claimUpstreamRefresh(c.id, { version: 0, now: T0 + 7, until: T0 + 8 })).toBe(false);
      expect((await store().get(c.id))?.upstreamTokenCiphertext).toBe('v1.new');
      expect(await store().claimUpstreamRefresh(c.id, { version: 1, now: T0 + 7, until: T0 + 8 })).toBe(true);
    });

    it('releases only its own claim', async () => {
      const c = aConnection();
      await store().create(c);
      await store().claimUpstreamRefresh(c.id, { version: 0, now: T0, until: T0 + 10_000 });
      await store().releaseUpstreamRefresh(c.id, { version: 0, until: T0 + 1 });
      expect((await store().get(c.id))?.upstreamRefreshUntil).toBe(T0 + 10_000);
      await store().releaseUpstreamRefresh(c.id, { version: 0, until: T0 + 10_000 });
      expect((await store().get(c.id))?.upstreamRefreshUntil).toBeUndefined();
    });

    it('marks a refused refresh: tokens gone, still active, nothing more to claim', async () => {
      const c = aConnection();
      await store().create(c);
      expect(await store().requireUpstreamLogin(c.id, { version: 0, now: T0 + 3 })).toBe(true);
      const marked = await store().get(c.id);
      expect(marked).toMatchObject({ status: 'active', upstreamLoginRequiredAt: T0 + 3 });
      expect(marked?.upstreamTokenCiphertext).toBeUndefined();
      expect(await store().claimUpstreamRefresh(c.id, { version: 0, now: T0 + 4, until: T0 + 5 })).toBe(false);
    });

    it('does nothing for an ended connection', async () => {
      const c = aConnection();
      await store().create(c);
      await store().end(c.id, { status: 'revoked', reason: 'x', now: T0 });
      expect(await store().claimUpstreamRefresh(c.id, { version: 0, now: T0, until: T0 + 1 })).toBe(false);
      expect(await store().saveUpstreamTokens(c.id, { version: 0, ciphertext: 'x', now: T0 })).toBe(false);
    });
  });
};

/** The conditional writes that spend a Notion refresh token once (docs/adr/0151). */
export const notionTokenStoreContract = (name: string, store: () => ConnectionStore & NotionTokenStore): void => {
  describe(`${name} (NotionTokenStore contract)`, () => {
    it('one of several concurrent claims wins at a version; it holds until it expires', async () => {
      const c = aConnection();
      await store().create(c);
      const claims = await Promise.all(
        Array.from({ length: 6 }, () => store().claimNotionRefresh(c.id, { version: 0, now: T0, until: T0 + 10_000 })),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await store().get(c.id))?.notionRefreshUntil).toBe(T0 + 10_000);
      expect(await store().claimNotionRefresh(c.id, { version: 0, now: T0 + 9_999, until: T0 + 20_000 })).toBe(false);
      expect(await store().claimNotionRefresh(c.id, { version: 0, now: T0 + 10_001, until: T0 + 20_000 })).toBe(true);
    });

    it('saves both tokens only at the version read: version + 1, claim cleared; a stale save changes nothing', async () => {
      const c = aConnection();
      await store().create(c);
      await store().claimNotionRefresh(c.id, { version: 0, now: T0, until: T0 + 10_000 });
      const save = {
        version: 0,
        until: T0 + 10_000,
        tokenCiphertext: 'v1.access2',
        refreshTokenCiphertext: 'v1.refresh2',
        now: T0 + 5,
      };
      // Only the claim taken until `until` may save: one that ran out and was taken again may not.
      expect(await store().saveNotionTokens(c.id, { ...save, until: T0 + 9_000 })).toBe(false);
      expect(await store().saveNotionTokens(c.id, save)).toBe(true);
      const saved = await store().get(c.id);
      expect(saved).toMatchObject({
        notionTokenCiphertext: 'v1.access2',
        notionRefreshTokenCiphertext: 'v1.refresh2',
        notionTokenVersion: 1,
        updatedAt: T0 + 5,
      });
      expect(saved?.notionRefreshUntil).toBeUndefined();
      expect(await store().saveNotionTokens(c.id, { ...save, tokenCiphertext: 'v1.stale', now: T0 + 6 })).toBe(false);
      expect(await store().claimNotionRefresh(c.id, { version: 0, now: T0 + 7, until: T0 + 8 })).toBe(false);
      expect((await store().get(c.id))?.notionTokenCiphertext).toBe('v1.access2');
      expect(await store().claimNotionRefresh(c.id, { version: 1, now: T0 + 7, until: T0 + 8 })).toBe(true);
    });

    it('keeps the stored refresh token when Notion did not rotate it', async () => {
      const c = aConnection();
      await store().create(c);
      await store().claimNotionRefresh(c.id, { version: 0, now: T0, until: T0 + 10_000 });
      const save = { version: 0, until: T0 + 10_000, tokenCiphertext: 'v1.access2', now: T0 + 5 };
      expect(await store().saveNotionTokens(c.id, save)).toBe(true);
      expect(await store().get(c.id)).toMatchObject({
        notionTokenCiphertext: 'v1.access2',
        notionRefreshTokenCiphertext: c.notionRefreshTokenCiphertext,
        notionTokenVersion: 1,
      });
    });

    it('releases only its own claim', async () => {
      const c = aConnection();
      await store().create(c);
      await store().claimNotionRefresh(c.id, { version: 0, now: T0, until: T0 + 10_000 });
      await store().releaseNotionRefresh(c.id, { version: 0, until: T0 + 1 });
      expect((await store().get(c.id))?.notionRefreshUntil).toBe(T0 + 10_000);
      await store().releaseNotionRefresh(c.id, { version: 0, until: T0 + 10_000 });
      expect((await store().get(c.id))?.notionRefreshUntil).toBeUndefined();
    });

    it('claims nothing for a connection without a Notion refresh token, or one that has ended', async () => {
      const { notionRefreshTokenCiphertext: _none, ...withoutRefresh } = aConnection();
      await store().create(withoutRefresh);
      expect(await store().claimNotionRefresh(withoutRefresh.id, { version: 0, now: T0, until: T0 + 1 })).toBe(false);
      const c = aConnection();
      await store().create(c);
      await store().end(c.id, { status: 'disconnected', reason: 'notion_unauthorized', now: T0 });
      expect(await store().claimNotionRefresh(c.id, { version: 0, now: T0, until: T0 + 1 })).toBe(false);
      expect(await store().saveNotionTokens(c.id, { version: 0, until: T0 + 1, tokenCiphertext: 'x', now: T0 })).toBe(
        false,
      );
    });
  });
};

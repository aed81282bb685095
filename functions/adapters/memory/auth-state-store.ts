/** In-memory AuthStateStore with the semantics of the DynamoDB adapter (expiry and TTL included). */
import {
  AlreadyExistsError,
  type AuthorizationCode,
  type AuthStateStore,
  type CodeLookup,
  type CodeRedemption,
  type PendingAuthorization,
} from '#core/ports.js';
import { CODE_REPLAY_RETENTION_MS, ttlPassed, ttlSeconds } from '../dynamo/rules.js';
import { stored } from './clone.js';

interface Entry<T> {
  value: T;
  /** Exact expiry (ms). */
  expiresAtMs: number;
  /** When the item may be gone (epoch seconds, like the TTL attribute). */
  ttl: number;
}

type Usable = Extract<CodeLookup, { outcome: 'usable' }>;
/** A usable code comes with its entry (to mark it consumed); any other answer without. */
type Looked =
  | { readonly found: Usable; readonly entry: Entry<AuthorizationCode> }
  | { readonly found: Exclude<CodeLookup, Usable>; readonly entry?: undefined };

export class MemoryAuthStateStore implements AuthStateStore {
  private readonly codes = new Map<string, Entry<AuthorizationCode>>();
  private readonly pending = new Map<string, Entry<PendingAuthorization>>();
  private readonly markers = new Map<string, Entry<string>>();

  private live<T>(map: Map<string, Entry<T>>, key: string, now: number): Entry<T> | undefined {
    const e = map.get(key);
    if (!e) return undefined;
    if (ttlPassed(e.ttl, now)) {
      map.delete(key);
      return undefined;
    }
    return e;
  }

  async putCode(code: AuthorizationCode): Promise<void> {
    if (this.codes.has(code.codeHash)) throw new AlreadyExistsError('Authorization code already exists');
    this.codes.set(code.codeHash, {
      value: stored(code),
      expiresAtMs: code.expiresAt,
      ttl: ttlSeconds(code.expiresAt + CODE_REPLAY_RETENTION_MS),
    });
  }

  /** A code and what it is, without an await: redeemCode classifies and marks it in one step. */
  private lookup(codeHash: string, now: number): Looked {
    const entry = this.live(this.codes, codeHash, now);
    if (!entry) return { found: { outcome: 'unknown' } };
    const code = stored(entry.value);
    if (code.consumedAt !== undefined) return { found: { outcome: 'replayed', code } };
    if (entry.expiresAtMs <= now) return { found: { outcome: 'expired' } };
    return { found: { outcome: 'usable', code }, entry };
  }

  async readCode(codeHash: string, now: number): Promise<CodeLookup> {
    return this.lookup(codeHash, now).found;
  }

  async redeemCode(codeHash: string, now: number): Promise<CodeRedemption> {
    const looked = this.lookup(codeHash, now);
    if (looked.entry === undefined) return looked.found;
    looked.entry.value = { ...looked.entry.value, consumedAt: now };
    return { outcome: 'redeemed', code: stored(looked.entry.value) };
  }

  async putPending(pending: PendingAuthorization): Promise<void> {
    this.pending.set(pending.id, {
      value: stored(pending),
      expiresAtMs: pending.expiresAt,
      ttl: ttlSeconds(pending.expiresAt),
    });
  }

  async getPending(id: string, now: number): Promise<PendingAuthorization | undefined> {
    const e = this.live(this.pending, id, now);
    return e && e.expiresAtMs > now ? stored(e.value) : undefined;
  }

  async updatePending(pending: PendingAuthorization): Promise<boolean> {
    if (!this.pending.has(pending.id)) return false;
    await this.putPending(pending);
    return true;
  }

  async takePending(id: string, now: number): Promise<PendingAuthorization | undefined> {
    const e = this.pending.get(id);
    if (!e || e.expiresAtMs <= now) return undefined;
    this.pending.delete(id);
    return stored(e.value);
  }

  async takePendingForConsent(
    id: string,
    csrfHash: string,
    now: number,
  ): Promise<{ outcome: 'taken'; pending: PendingAuthorization } | { outcome: 'mismatch' | 'gone' }> {
    const e = this.pending.get(id);
    if (!e || e.expiresAtMs <= now) return { outcome: 'gone' };
    if (!e.value.user || e.value.csrfHash !== csrfHash) return { outcome: 'mismatch' };
    this.pending.delete(id);
    return { outcome: 'taken', pending: stored(e.value) };
  }

  async putMarker(key: string, value: string, expiresAt: number): Promise<void> {
    this.markers.set(key, { value, expiresAtMs: expiresAt, ttl: ttlSeconds(expiresAt) });
  }

  async getMarker(key: string, now: number): Promise<string | undefined> {
    const e = this.live(this.markers, key, now);
    return e && e.expiresAtMs > now ? e.value : undefined;
  }

  async putMarkerIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<boolean> {
    const e = this.markers.get(key);
    if (e && e.expiresAtMs > now) return false;
    await this.putMarker(key, value, expiresAt);
    return true;
  }
}

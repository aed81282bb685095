/** In-memory implementations of every store port, for handler tests and fast unit tests. */
import type { AuthStateStore, ConnectionStore, RateLimitStore, SubscriptionStore } from '#core/ports.js';
import { MemoryAuthStateStore } from './auth-state-store.js';
import { MemoryConnectionStore } from './connection-store.js';
import { MemoryRateLimitStore } from './rate-limit-store.js';
import { MemorySubscriptionStore } from './subscription-store.js';
import { MemoryUpdateQueue } from './update-queue.js';

export { MemoryAuthStateStore } from './auth-state-store.js';
export { MemoryConnectionStore } from './connection-store.js';
export { MemoryRateLimitStore } from './rate-limit-store.js';
export { MemorySubscriptionStore } from './subscription-store.js';
export { MemoryUpdateQueue, type QueuedMessage } from './update-queue.js';

export interface MemoryStores {
  readonly connections: ConnectionStore;
  readonly authState: AuthStateStore;
  readonly subscriptions: SubscriptionStore;
  readonly rateLimits: RateLimitStore;
  readonly updateQueue: MemoryUpdateQueue;
}

/** A fresh, empty set of in-memory stores. */
export const createMemoryStores = (): MemoryStores => ({
  connections: new MemoryConnectionStore(),
  authState: new MemoryAuthStateStore(),
  subscriptions: new MemorySubscriptionStore(),
  rateLimits: new MemoryRateLimitStore(),
  updateQueue: new MemoryUpdateQueue(),
});

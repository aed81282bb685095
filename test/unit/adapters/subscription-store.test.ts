import { beforeEach } from '@jest/globals';
import { MemorySubscriptionStore } from '#adapters/memory/subscription-store.js';
import { subscriptionStoreContract } from './contracts/subscription-store.contract.js';

let store = new MemorySubscriptionStore();
beforeEach(() => {
  store = new MemorySubscriptionStore();
});

subscriptionStoreContract('MemorySubscriptionStore', () => store);

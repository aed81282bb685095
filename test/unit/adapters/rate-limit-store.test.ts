import { beforeEach } from '@jest/globals';
import { MemoryRateLimitStore } from '#adapters/memory/rate-limit-store.js';
import { rateLimitStoreContract } from './contracts/rate-limit-store.contract.js';

let store = new MemoryRateLimitStore();
beforeEach(() => {
  store = new MemoryRateLimitStore();
});

rateLimitStoreContract('MemoryRateLimitStore', () => store);

import { beforeEach } from '@jest/globals';
import { MemoryAuthStateStore } from '#adapters/memory/auth-state-store.js';
import { authStateStoreContract } from './contracts/auth-state-store.contract.js';

let store = new MemoryAuthStateStore();
beforeEach(() => {
  store = new MemoryAuthStateStore();
});

authStateStoreContract('MemoryAuthStateStore', () => store);

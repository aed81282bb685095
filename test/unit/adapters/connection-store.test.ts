import { beforeEach } from '@jest/globals';
import { MemoryConnectionStore } from '#adapters/memory/connection-store.js';
import {
  connectionStoreContract,
  notionTokenStoreContract,
  upstreamTokenStoreContract,
} from './contracts/connection-store.contract.js';

let store = new MemoryConnectionStore();
beforeEach(() => {
  store = new MemoryConnectionStore();
});

connectionStoreContract('MemoryConnectionStore', () => store);
upstreamTokenStoreContract('MemoryConnectionStore', () => store);
notionTokenStoreContract('MemoryConnectionStore', () => store);

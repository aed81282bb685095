import type { DynamoConnectionStore } from '#adapters/dynamo/connection-store.js';
import { useDynamo } from '#test/helpers/ddb.js';
import {
  connectionStoreContract,
  notionTokenStoreContract,
  upstreamTokenStoreContract,
} from '#test/unit/adapters/contracts/connection-store.contract.js';

const ddb = useDynamo();

connectionStoreContract('DynamoConnectionStore on dynalite', () => ddb().stores.connections);
upstreamTokenStoreContract(
  'DynamoConnectionStore on dynalite',
  () => ddb().stores.connections as DynamoConnectionStore,
);
notionTokenStoreContract('DynamoConnectionStore on dynalite', () => ddb().stores.connections as DynamoConnectionStore);

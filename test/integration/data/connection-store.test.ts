import { useDynamo } from '#test/helpers/ddb.js';
import { connectionStoreContract } from '#test/unit/adapters/contracts/connection-store.contract.js';

const ddb = useDynamo();

connectionStoreContract('DynamoConnectionStore on dynalite', () => ddb().stores.connections);

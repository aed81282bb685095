import { useDynamo } from '#test/helpers/ddb.js';
import { authStateStoreContract } from '#test/unit/adapters/contracts/auth-state-store.contract.js';

const ddb = useDynamo();

authStateStoreContract('DynamoAuthStateStore on dynalite', () => ddb().stores.authState);

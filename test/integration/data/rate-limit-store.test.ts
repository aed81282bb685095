import { useDynamo } from '#test/helpers/ddb.js';
import { rateLimitStoreContract } from '#test/unit/adapters/contracts/rate-limit-store.contract.js';

const ddb = useDynamo();

rateLimitStoreContract('DynamoRateLimitStore on dynalite', () => ddb().stores.rateLimits);

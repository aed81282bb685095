import { useDynamo } from '#test/helpers/ddb.js';
import { subscriptionStoreContract } from '#test/unit/adapters/contracts/subscription-store.contract.js';

const ddb = useDynamo();

subscriptionStoreContract('DynamoSubscriptionStore on dynalite', () => ddb().stores.subscriptions);

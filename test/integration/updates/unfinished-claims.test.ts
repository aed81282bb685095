/**
 * The scenarios of a claim its delivery never finished (docs/adr/0137) on the
 * DynamoDB stores (dynalite): the claim, its release with the lease put back,
 * the pause and the pushed markers as the deployed worker writes them.
 */
import { MemoryUpdateQueue } from '#adapters/memory/index.js';
import type { SubscriptionStore } from '#core/ports.js';
import { useDynamo } from '#test/helpers/ddb.js';
import { Harness } from '#test/unit/updates/harness.js';
import { unfinishedClaimScenarios } from '#test/unit/updates/unfinished-claims.js';

const ddb = useDynamo();

unfinishedClaimScenarios(
  'DynamoDB stores',
  () =>
    new Harness({
      stores: {
        ...ddb().stores,
        // An object of this harness's own over the shared store, so that a scenario may replace one of its methods.
        subscriptions: Object.create(ddb().stores.subscriptions) as SubscriptionStore,
        updateQueue: new MemoryUpdateQueue(),
      },
    }),
);

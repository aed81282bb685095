import { DynamoUnfurlReads } from '#adapters/dynamo/unfurl-reads.js';
import { need } from '#shared/config.js';
import { useDynamo } from '#test/helpers/ddb.js';
import { unfurlReadsContract } from '#test/unit/adapters/contracts/unfurl-reads.contract.js';

const ddb = useDynamo();

unfurlReadsContract('DynamoUnfurlReads on dynalite (one BatchGetItem)', () => {
  const { doc, config, stores } = ddb();
  return {
    reads: new DynamoUnfurlReads(
      doc,
      need(config.tables.connections, 'CONNECTIONS_TABLE'),
      need(config.tables.subscriptions, 'SUBSCRIPTIONS_TABLE'),
    ),
    connections: stores.connections,
    subscriptions: stores.subscriptions,
  };
});

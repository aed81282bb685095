/**
 * The service's DynamoDB tables, built from the plain definitions in
 * `lib/data-model.ts` (the local runtime creates the same tables from the same
 * definitions): on-demand capacity, point-in-time recovery, encryption with the
 * AWS-managed key, a TTL attribute and the global secondary indexes listed there.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type Attribute as CdkKey, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type KeyAttribute, TABLES, type TableDefinition } from '../data-model.js';

export interface DataTablesProps {
  /** RETAIN keeps the data when the stack is deleted (production); DESTROY removes it. */
  readonly removalPolicy: RemovalPolicy;
}

const key = (k: KeyAttribute): CdkKey => ({
  name: k.name,
  type: k.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

export class DataTables extends Construct {
  private readonly byId = new Map<string, Table>();

  constructor(scope: Construct, id: string, props: DataTablesProps) {
    super(scope, id);
    for (const definition of TABLES) {
      const table = new Table(this, definition.id, {
        partitionKey: key(definition.partitionKey),
        ...(definition.sortKey ? { sortKey: key(definition.sortKey) } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
        removalPolicy: props.removalPolicy,
        deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      });
      for (const index of definition.globalIndexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: key(index.partitionKey),
          ...(index.sortKey ? { sortKey: key(index.sortKey) } : {}),
        });
      }
      this.byId.set(definition.id, table);
    }
  }

  /** The table built from a definition of `TABLES`. */
  table(definition: TableDefinition): Table {
    const table = this.byId.get(definition.id);
    if (!table) throw new Error(`no table for definition ${definition.id}`);
    return table;
  }

  /** Every table with its definition, in the order of `TABLES`. */
  entries(): ReadonlyArray<readonly [TableDefinition, Table]> {
    return TABLES.map((d) => [d, this.table(d)] as const);
  }
}

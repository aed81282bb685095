/**
 * The snapshot kept on a subscription (the attributes last sent, for
 * stale-while-revalidate) is bounded, so that writing the item stays within a
 * few DynamoDB write units (1 KB each): a larger attribute list is not kept,
 * and the unfurl renders afresh instead of serving it stale.
 */

/** Largest snapshot kept, as UTF-8 bytes of its JSON. */
export const SNAPSHOT_MAX_BYTES = 2_048;

/** `attributes` when small enough to keep, otherwise undefined. */
const encoder = new TextEncoder();

export const boundedSnapshot = <T>(attributes: T): T | undefined =>
  encoder.encode(JSON.stringify(attributes) ?? '').length <= SNAPSHOT_MAX_BYTES ? attributes : undefined;

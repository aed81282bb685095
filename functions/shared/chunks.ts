/**
 * Groups items, in order, into chunks of at most `maxCount` items whose sizes add up to at most `maxSize`
 * (an item larger than `maxSize` alone still gets a chunk of its own): how a queue's batches and messages
 * are cut.
 */
export const chunksWithin = <T>(
  items: readonly T[],
  limits: { readonly maxCount: number; readonly maxSize: number },
  sizeOf: (item: T) => number,
): T[][] => {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = sizeOf(item);
    if (chunk.length > 0 && (chunk.length >= limits.maxCount || size + itemSize > limits.maxSize)) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(item);
    size += itemSize;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
};

/**
 * Copies a value the way a DynamoDB round trip would: a deep copy with
 * `undefined` dropped (DocumentClient's removeUndefinedValues), so callers can
 * never alias what the in-memory store holds.
 */
export const stored = <T>(value: T): T => {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map((v) => stored(v)) as T;
  if (value !== null && typeof value === 'object') {
    // fromEntries keeps a key named `__proto__` as a key, as DynamoDB would.
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, stored(v)]),
    ) as T;
  }
  return value;
};

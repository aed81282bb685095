/**
 * Copies a value the way a DynamoDB round trip would: a deep copy with
 * `undefined` dropped (DocumentClient's removeUndefinedValues), so callers can
 * never alias what the in-memory store holds.
 */
export const stored = <T>(value: T): T => {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map((v) => stored(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = stored(v);
    return out as T;
  }
  return value;
};

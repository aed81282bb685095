/** Canonical JSON and the content hash of an attribute list (what the unfurl stores and the worker compares). */
import { sha256Hex } from '#shared/crypto.js';

/**
 * Own keys in UTF-16 code-unit order (the order `<` gives). Objects here have a
 * handful of keys: an insertion sort in place allocates nothing, where
 * Array#sort takes a work array on every call.
 */
const sortedKeys = (record: Record<string, unknown>): string[] => {
  const keys = Object.keys(record);
  if (keys.length > 16) return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
};

const appendCanonical = (value: unknown, out: { s: string }): void => {
  if (value === null || typeof value !== 'object') {
    out.s += JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    out.s += '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.s += ',';
      appendCanonical(value[i] === undefined ? null : value[i], out);
    }
    out.s += ']';
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(record);
  out.s += '{';
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    if (!first) out.s += ',';
    first = false;
    out.s += `${JSON.stringify(key)}:`;
    appendCanonical(v, out);
  }
  out.s += '}';
};

/**
 * JSON with object keys sorted, so equal content always serialises equally.
 * Written into one string (no intermediate arrays per object): it runs on
 * every unfurl and every push.
 */
export const canonicalJson = (value: unknown): string => {
  const out = { s: '' };
  appendCanonical(value, out);
  return out.s;
};

/** The content hash of an attribute list whose canonical JSON is `json` (see contentHash). */
export const contentHashOfJson = (json: string): string => `v1:${sha256Hex(json)}`;

/** Stable content hash of an attribute list (hex SHA-256 of its canonical JSON, prefixed with the scheme). */
export const contentHash = (attributes: readonly unknown[]): string => contentHashOfJson(canonicalJson(attributes));

/**
 * Which redirect_uri values we accept (docs/protocol.md#decisions):
 * scheme https, host notion.so or www.notion.so, path
 * /externalintegrationauthcallback compared case-insensitively, nothing else
 * (no port, user info, query or fragment); plus the exact strings listed in
 * NOTION_REDIRECT_URIS (no fragment, and none of the response's parameters in
 * their query: lib/setting-parsers.ts). The exact string received is stored,
 * and the token request must repeat it byte for byte.
 */

const NOTION_CALLBACK = /^https:\/\/(?:www\.)?notion\.so\/externalintegrationauthcallback$/i;

/** Longest redirect_uri we consider at all. */
export const MAX_REDIRECT_URI_LENGTH = 2000;

export const isAllowedRedirectUri = (candidate: string, extra: readonly string[]): boolean => {
  if (candidate.length === 0 || candidate.length > MAX_REDIRECT_URI_LENGTH) return false;
  if (NOTION_CALLBACK.test(candidate)) return true;
  return extra.includes(candidate);
};

/**
 * Appends parameters to a validated redirect_uri. Its own query is kept as it is, in its order and
 * encoding (RFC 6749 §3.1.2: it MUST be retained), and the response parameters follow it.
 */
export const withParams = (redirectUri: string, params: Readonly<Record<string, string | undefined>>): string => {
  const url = new URL(redirectUri);
  const added = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) added.append(k, v);
  const own = url.search.slice(1);
  const response = added.toString();
  const query = own === '' ? response : response === '' ? own : `${own}&${response}`;
  // The setter drops one leading `?`: given one, a query that itself starts with `?` stays whole.
  if (query !== '') url.search = `?${query}`;
  return url.toString();
};

/** The origin of a validated redirect_uri (for the consent page's form-action). */
export const originOf = (redirectUri: string): string => new URL(redirectUri).origin;

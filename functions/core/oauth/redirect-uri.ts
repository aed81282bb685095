/**
 * Which redirect_uri values we accept (docs/protocol.md#decisions):
 * scheme https, host notion.so or www.notion.so, path
 * /externalintegrationauthcallback compared case-insensitively, nothing else
 * (no port, user info, query or fragment); plus the exact strings listed in
 * NOTION_REDIRECT_URIS. The exact string received is stored, and the token
 * request must repeat it byte for byte.
 */

const NOTION_CALLBACK = /^https:\/\/(?:www\.)?notion\.so\/externalintegrationauthcallback$/i;

/** Longest redirect_uri we consider at all. */
export const MAX_REDIRECT_URI_LENGTH = 2000;

export const isAllowedRedirectUri = (candidate: string, extra: readonly string[]): boolean => {
  if (candidate.length === 0 || candidate.length > MAX_REDIRECT_URI_LENGTH) return false;
  if (NOTION_CALLBACK.test(candidate)) return true;
  return extra.includes(candidate);
};

/** Appends parameters to a validated redirect_uri, keeping whatever query it already has. */
export const withParams = (redirectUri: string, params: Readonly<Record<string, string | undefined>>): string => {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
};

/** The origin of a validated redirect_uri (for the consent page's form-action). */
export const originOf = (redirectUri: string): string => new URL(redirectUri).origin;

/**
 * Seeding grants without the browser round-trip, for load tests and fuzzers
 * that run against the local system: a connection as consent leaves it, and
 * one of our codes for it exchanged at the token endpoint over HTTP.
 */
import { authStateStore, connectionStore } from '#adapters/dynamo/factory.js';
import type { Connection } from '#core/ports.js';
import { getConfig } from '#shared/config.js';
import { hashSecret, systemRandom } from '#shared/crypto.js';
import type { LocalSystem } from './system.js';

/** Notion's own redirect_uri, as the seeded codes are bound to. */
export const SEED_REDIRECT_URI = 'https://www.notion.so/externalintegrationauthcallback';

/** An active connection of the demo user alice, as consent leaves it. */
export const seededConnection = (id: string, clientId: string, displayName = 'Alice'): Connection => ({
  id,
  subject: 'u-alice',
  displayName,
  clientId,
  scope: 'unfurl',
  notion: { workspaceId: `ws-${id}`, workspaceName: null, workspaceIcon: null, botId: `bot-${id}` },
  status: 'active',
  tokenGeneration: 0,
  previousRefreshTokenHashes: [],
  createdAt: Date.now(),
  updatedAt: Date.now(),
});

export interface SeededGrant {
  readonly code: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

/** Stores a connection and a code for it, and redeems the code at the system's token endpoint. */
export const seedGrant = async (system: LocalSystem, id: string, displayName?: string): Promise<SeededGrant> => {
  const clientId = system.env.OAUTH_CLIENT_ID as string;
  const code = systemRandom.token(32);
  await connectionStore(getConfig()).create(seededConnection(id, clientId, displayName));
  await authStateStore(getConfig()).putCode({
    codeHash: hashSecret(code),
    connectionId: id,
    clientId,
    redirectUri: SEED_REDIRECT_URI,
    scope: 'unfurl',
    expiresAt: Date.now() + 60_000,
  });
  const res = await fetch(`${system.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: SEED_REDIRECT_URI,
      client_id: clientId,
      client_secret: system.env.OAUTH_CLIENT_SECRET as string,
    }),
  });
  const body = (await res.json()) as { access_token?: string; refresh_token?: string };
  if (res.status !== 200 || !body.access_token || !body.refresh_token) {
    throw new Error(`token exchange failed (${res.status})`);
  }
  return { code, accessToken: body.access_token, refreshToken: body.refresh_token };
};

/**
 * Route handler: metadata (see lib/routes.ts):
 * GET /.well-known/oauth-authorization-server (RFC 8414), describing exactly
 * what the authorization and token endpoints support.
 */

import { issuerOf } from '#adapters/config/oauth-settings.js';
import { serverMetadata } from '#core/oauth/metadata.js';
import { getConfig } from '#shared/config.js';
import { httpHandler, json } from '#shared/http.js';

export const handler = httpHandler(async () =>
  json(200, serverMetadata(issuerOf(getConfig())), { 'cache-control': 'public, max-age=3600' }),
);

/**
 * Route handler: metadata (see lib/routes.ts):
 * GET /.well-known/oauth-authorization-server (RFC 8414), describing exactly
 * what the authorization and token endpoints support.
 */

import { issuerOf } from '#adapters/config/oauth-settings.js';
import { serverMetadata } from '#core/oauth/metadata.js';
import type { Config } from '#shared/config.js';
import { httpHandler, json } from '#shared/http.js';

/** The metadata route's one dependency: our issuer. */
export interface MetadataDependencies {
  readonly issuer: string;
}

export const metadataDependencies = (config: Config): MetadataDependencies => ({ issuer: issuerOf(config) });

export const createMetadataHandler = (deps: () => MetadataDependencies) =>
  httpHandler(async () => json(200, serverMetadata(deps().issuer), { 'cache-control': 'public, max-age=3600' }));

/**
 * Lambda entry of metadata: GET /.well-known/oauth-authorization-server (functions/handlers/metadata.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { createMetadataHandler, metadataDependencies } from './handlers/metadata.js';

export const handler = createMetadataHandler(composedAtInit('metadata', metadataDependencies));

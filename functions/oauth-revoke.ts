/**
 * Lambda entry of oauth-revoke: POST /oauth/revoke (functions/handlers/oauth-revoke.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { createRevokeHandler, revokeDependencies } from './handlers/oauth-revoke.js';

export const handler = createRevokeHandler(composedAtInit('oauth-revoke', revokeDependencies));

/**
 * Lambda entry of oauth-authorize: GET /oauth/authorize, GET /oauth/callback, POST /oauth/consent (functions/handlers/oauth-authorize.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { authorizeDependencies, createAuthorizeHandler } from './handlers/oauth-authorize.js';

export const handler = createAuthorizeHandler(composedAtInit('oauth-authorize', authorizeDependencies));

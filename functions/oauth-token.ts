/**
 * Lambda entry of oauth-token: POST /oauth/token (functions/handlers/oauth-token.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { createTokenHandler, tokenDependencies } from './handlers/oauth-token.js';

export const handler = createTokenHandler(composedAtInit('oauth-token', tokenDependencies));

/**
 * Lambda entry of jwks: GET /.well-known/jwks.json (functions/handlers/jwks.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { createJwksHandler, jwksDependencies } from './handlers/jwks.js';

export const handler = createJwksHandler(composedAtInit('jwks', jwksDependencies));

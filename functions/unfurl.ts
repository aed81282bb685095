/**
 * Lambda entry of unfurl: POST /unfurl (functions/handlers/unfurl.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */
import { unfurlDependencies } from '#adapters/config/unfurl-dependencies.js';
import { composedAtInit } from '#shared/composition.js';
import { createUnfurlHandler } from './handlers/unfurl.js';

export const handler = createUnfurlHandler(composedAtInit('unfurl', unfurlDependencies));

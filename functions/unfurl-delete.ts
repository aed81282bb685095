/**
 * Lambda entry of unfurl-delete: DELETE /unfurl, DELETE and POST /deleted-token (functions/handlers/unfurl-delete.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { createUnfurlDeleteHandler, deleteDependencies } from './handlers/unfurl-delete.js';

export const handler = createUnfurlDeleteHandler(composedAtInit('unfurl-delete', deleteDependencies));

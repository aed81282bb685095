/**
 * Lambda entry of changes: POST /changes (functions/handlers/changes.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { changesDependencies, createChangesHandler } from './handlers/changes.js';

export const handler = createChangesHandler(composedAtInit('changes', changesDependencies));

/**
 * Lambda entry of update-worker: the SQS update worker (functions/handlers/update-worker.ts).
 *
 * Its dependencies are built here, once, when the function initializes: a
 * missing or invalid setting fails the init naming the variable
 * (functions/shared/composition.ts).
 */

import { composedAtInit } from '#shared/composition.js';
import { createWorkerHandler, workerFromConfig } from './handlers/update-worker.js';

export const handler = createWorkerHandler(composedAtInit('update-worker', (config) => workerFromConfig(config)));

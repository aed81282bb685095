/**
 * Route handler: metadata (see lib/routes.ts). Not available yet: answers 501.
 */
import { NotImplementedError } from '#shared/errors.js';
import { httpHandler } from '#shared/http.js';

export const handler = httpHandler(async (request) => {
  throw new NotImplementedError(request.routeKey);
});

/**
 * Route handler: unfurl (see lib/routes.ts): POST /unfurl.
 *
 * The Bearer token is checked before anything about the body (RFC 6750 §3.1):
 * its signature, type, issuer, audience and expiry, with no read. A body the
 * shared stack refuses (media type, JSON, size) is refused only once the
 * connection read confirmed the token too. Then one call into the unfurl use
 * case (the connection and rule check, source call and subscription record:
 * functions/core/unfurl/unfurl.ts) and its answer mapped: 200 with the
 * operations of docs/protocol.md#decisions, 401, 400, or 503 when the source
 * gives no answer and there is no snapshot to fall back on.
 */

import { type AccessTokenClaims, bearerClaims, checkConnection } from '#core/oauth/access-token.js';
import { SourceUnavailableResponseError } from '#core/unfurl/errors.js';
import { describeIssues } from '#core/unfurl/rules.js';
import { type UnfurlDependencies, unfurl } from '#core/unfurl/unfurl.js';
import { AppError, BadRequestError } from '#shared/errors.js';
import { httpHandler, json } from '#shared/http.js';
import { countMetric, logger, METRIC } from '#shared/observability.js';
import * as z from '#shared/zod.js';

const bodySchema = z.object({
  uri: z.string().check(z.minLength(1, 'uri must not be empty'), z.maxLength(8192, 'uri is too long')),
});

/** Counts a refused unfurl by its error code (`invalid_token`, …), then lets the error through. */
const counted = <T>(work: Promise<T>): Promise<T> =>
  work.catch((error) => {
    if (error instanceof AppError) countMetric(METRIC.unfurlOutcome, { outcome: error.code ?? 'rejected' });
    throw error;
  });

/** For a body about to be refused only: the connection read the use case would have made, without the uri's stamp. */
const confirmConnection = async (claims: AccessTokenClaims, d: UnfurlDependencies): Promise<void> => {
  checkConnection(claims, (await d.reads.read(claims.connectionId)).connection);
};

export const createUnfurlHandler = (deps: () => UnfurlDependencies) =>
  httpHandler<AccessTokenClaims>(
    async (request, _context, claims) => {
      const parsed = bodySchema.safeParse(request.body);
      const uri = parsed.success ? parsed.data.uri : undefined;
      const answer = await counted(unfurl({ claims, uri }, deps()));
      countMetric(METRIC.unfurlOutcome, { outcome: answer.outcome });
      if (answer.outcome === 'invalid_request') {
        const problems = describeIssues(parsed.error?.issues ?? []);
        throw new BadRequestError(`Body must be JSON {"uri": "..."}: ${problems}`, 'invalid_request');
      }
      if ('reason' in answer) {
        // The source gave no answer: why, at WARN, so that a failing source or adapter shows without DEBUG.
        logger.warn('unfurl', { outcome: answer.outcome, connectionId: answer.connectionId, reason: answer.reason });
      } else logger.info('unfurl', { outcome: answer.outcome, connectionId: answer.connectionId });
      if (answer.outcome === 'unavailable') throw new SourceUnavailableResponseError();
      return json(200, answer.body, { 'cache-control': 'no-store' });
    },
    {
      authenticate: {
        check: (head) => counted(bearerClaims(head.headers.authorization, deps().tokens, deps().clock)),
        confirm: (claims) => counted(confirmConnection(claims, deps())),
      },
    },
  );

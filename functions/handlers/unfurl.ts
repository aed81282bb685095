/**
 * Route handler: unfurl (see lib/routes.ts): POST /unfurl.
 *
 * Parses the `{uri}` body, makes one call into the unfurl use case (token and
 * connection check first, then rule match, source call and subscription
 * record: functions/core/unfurl/unfurl.ts) and maps its answer: 200 with the
 * operations of docs/protocol.md#decisions, 401, 400, or 503 when the source
 * gives no answer and there is no snapshot to fall back on.
 */

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

export const createUnfurlHandler = (deps: () => UnfurlDependencies) =>
  httpHandler(async (request) => {
    const parsed = bodySchema.safeParse(request.body);
    const uri = parsed.success ? parsed.data.uri : undefined;
    const answer = await unfurl({ authorization: request.headers.authorization, uri }, deps()).catch((error) => {
      if (error instanceof AppError) countMetric(METRIC.unfurlOutcome, { outcome: error.code ?? 'rejected' });
      throw error;
    });
    countMetric(METRIC.unfurlOutcome, { outcome: answer.outcome });
    if (answer.outcome === 'invalid_request') {
      const problems = describeIssues(parsed.error?.issues ?? []);
      throw new BadRequestError(`Body must be JSON {"uri": "..."}: ${problems}`, 'invalid_request');
    }
    logger.info('unfurl', { outcome: answer.outcome, connectionId: answer.connectionId });
    if (answer.outcome === 'unavailable') throw new SourceUnavailableResponseError();
    return json(200, answer.body, { 'cache-control': 'no-store' });
  });

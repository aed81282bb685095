/**
 * The runbook's delivery-log table ("Why did a preview not update?") says what each logged outcome
 * means as the worker classifies Notion's answers (functions/core/updates/classify.ts): every outcome
 * the worker can log has its row, named by status and action, and the table names no outcome the
 * worker cannot log.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { classifyAnswer, type NotionAnswer } from '#core/updates/classify.js';

const ROOT = new URL('../../../', import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, ROOT), 'utf8');

/** The `status action` names in the first column of the runbook's delivery-log table. */
const namedOutcomes = (): string[] => {
  const doc = read('docs/runbook.md');
  const start = doc.indexOf('| You see | Meaning |');
  if (start < 0) throw new Error('docs/runbook.md has no delivery-log table');
  const end = doc.indexOf('\n\n', start);
  return doc
    .slice(start, end)
    .split('\n')
    .slice(2)
    .flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string))
    .filter((name) => /^(\d{3}|\dxx|timeout|network|none|skipped) [a-z_-]+$/.test(name));
};

const response = (status: number, extra: Partial<Extract<NotionAnswer, { kind: 'response' }>> = {}): NotionAnswer => ({
  kind: 'response',
  status,
  ...extra,
});

/**
 * Notion's answers an operator meets (docs/protocol.md §6.3, §6.4), each with whether the table may
 * cover it by its status class (`4xx`, `5xx`) or must name its status.
 */
const ANSWERS: ReadonlyArray<readonly [NotionAnswer, 'exact' | 'class']> = [
  [response(200), 'exact'],
  [response(204), 'class'],
  [response(400, { code: 'validation_error' }), 'exact'],
  [response(401, { code: 'unauthorized' }), 'exact'],
  [response(403, { code: 'restricted_resource' }), 'exact'],
  [response(404, { code: 'object_not_found' }), 'exact'],
  [response(408), 'exact'],
  [response(409, { code: 'conflict_error' }), 'exact'],
  [response(413), 'class'],
  [response(422), 'class'],
  [response(425), 'exact'],
  [response(429, { code: 'rate_limited', rateLimitReason: 'public_api_request_rate_limit' }), 'exact'],
  [response(429, { code: 'rate_limited', rateLimitReason: 'public_api_space_request_rate_limit' }), 'exact'],
  [response(429, { code: 'rate_limited', rateLimitReason: 'public_api_request_blocked' }), 'exact'],
  [response(500, { code: 'internal_server_error' }), 'class'],
  [response(502, { code: 'bad_gateway' }), 'class'],
  [response(503, { code: 'service_unavailable', retryAfterSeconds: 30 }), 'class'],
  [response(504, { code: 'gateway_timeout' }), 'class'],
  [response(529, { code: 'service_overload' }), 'exact'],
  [{ kind: 'timeout' }, 'exact'],
  [{ kind: 'network', message: 'ECONNRESET' }, 'exact'],
];

const statusOf = (answer: NotionAnswer): string => (answer.kind === 'response' ? String(answer.status) : answer.kind);
const classOf = (status: string): string => (/^\d{3}$/.test(status) ? `${status[0]}xx` : status);

/**
 * Outcomes logged by other steps than the classification: the Notion token refresh after a 401
 * (functions/core/updates/notion-token.ts), the end of a connection, a push skipped for a login.
 */
const otherOutcomes = (): string[] => {
  const refresh = [...read('functions/core/updates/notion-token.ts').matchAll(/logAnswer\([^;]*'([a-z_]+)'\)/g)].map(
    (m) => `401 ${m[1]}`,
  );
  expect(refresh.length).toBeGreaterThanOrEqual(3);
  return [...refresh, 'none connection_ended', 'skipped needs_reauth'];
};

describe("the runbook's delivery-log table", () => {
  const named = namedOutcomes();

  it.each(
    ANSWERS.map(([answer, match]) => [`${statusOf(answer)} ${classifyAnswer(answer).action}`, answer, match] as const),
  )('says what %s means', (label, answer, match) => {
    const status = statusOf(answer);
    const action = classifyAnswer(answer).action;
    const names = match === 'exact' ? [label] : [label, `${classOf(status)} ${action}`];
    expect(names.filter((n) => named.includes(n))).not.toEqual([]);
  });

  it('has a row for every outcome logged outside the classification', () => {
    expect(otherOutcomes().filter((o) => !named.includes(o))).toEqual([]);
  });

  it('names only outcomes the worker logs', () => {
    const logged = new Set([
      ...ANSWERS.flatMap(([answer]) => {
        const status = statusOf(answer);
        const action = classifyAnswer(answer).action;
        return [`${status} ${action}`, `${classOf(status)} ${action}`];
      }),
      ...otherOutcomes(),
    ]);
    expect(named.filter((n) => !logged.has(n))).toEqual([]);
  });
});

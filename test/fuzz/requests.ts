/**
 * fast-check arbitraries of HTTP requests for each route of lib/routes.ts, and
 * the checks every answer must pass: no 5xx, no stack trace, no secret.
 *
 * Secrets are only ever placed where the protocol puts them (an Authorization
 * header, a `code`, `client_secret`, `refresh_token`… field, the pending
 * cookie), so a secret that reaches a log line is a redaction failure, never a
 * value the fuzzer smuggled under an innocent name.
 */
import fc from 'fast-check';
import { ROUTES, routeKey } from '#lib/routes.js';
import { type HttpEventInput, httpEvent } from '#test/helpers/factories.js';
import { CLIENT_ID, CLIENT_SECRET, NOTION_REDIRECT, type Result, type World } from './world.js';

/** Runs per route: `FUZZ_RUNS`, else 10,000 under `npm run fuzz`, else a small default for `npm test`. */
export const fuzzRuns = (fallback = 150): number => {
  const n = Number.parseInt(process.env.FUZZ_RUNS ?? '', 10);
  if (Number.isFinite(n) && n > 0) return n;
  return process.env.npm_lifecycle_event === 'fuzz' ? 10_000 : fallback;
};

/** The seed of this run: `FUZZ_SEED` to replay one, else a fresh one (printed by the suite). */
export const fuzzSeed = (): number => {
  const n = Number.parseInt(process.env.FUZZ_SEED ?? '', 10);
  return Number.isFinite(n) ? n : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
};

const tamper = (s: string): string => {
  if (s.length < 2) return `${s}x`;
  const i = Math.floor(s.length / 2);
  return `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
};

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'null',
      'undefined',
      '%',
      '%00',
      '\u0000',
      '../../etc/passwd',
      '<script>',
      "' OR 1=1 --",
      '__proto__',
      'constructor',
    ),
  },
);

/** A value for a named field: real credentials where the protocol carries them, near misses, or noise. */
/** Values at and beyond the size limits of keys in DynamoDB (2,048 bytes for a partition key, 1,024 for a sort key). */
const HUGE_ID = '7'.repeat(3000);

const valueFor = (world: World, key: string): fc.Arbitrary<string> => {
  const m = world.minted;
  const known: Record<string, string[]> = {
    client_id: [CLIENT_ID, `${CLIENT_ID}x`],
    client_secret: [CLIENT_SECRET, tamper(CLIENT_SECRET)],
    redirect_uri: [
      NOTION_REDIRECT,
      'https://notion.so/externalIntegrationAuthCallback',
      'https://evil.example/externalintegrationauthcallback',
      'javascript:alert(1)',
      `${NOTION_REDIRECT}/../x`,
    ],
    response_type: ['code', 'token'],
    grant_type: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
    code: [m.code, tamper(m.code), 'ok', 'down', HUGE_ID],
    refresh_token: [m.refreshToken, tamper(m.refreshToken), `${HUGE_ID}.${m.refreshToken.split('.')[1] ?? ''}`],
    access_token: [m.accessToken, tamper(m.accessToken)],
    token: [m.accessToken, m.refreshToken, tamper(m.accessToken), `${HUGE_ID}.x`],
    code_challenge: ['E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
    code_challenge_method: ['S256', 'plain'],
    code_verifier: ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'],
    scope: ['unfurl', 'unfurl user_name'],
    pending: [m.pendingId, tamper(m.pendingId), HUGE_ID],
    csrf: [m.csrf, tamper(m.csrf)],
    decision: ['allow', 'deny'],
    uri: [
      `${world.productBase}/demo/tasks/1`,
      `${world.productBase}/demo/tasks/999999`,
      `${world.productBase}/demo/tasks/-1`,
      `${world.productBase}/demo/tasks/${HUGE_ID}`,
      'http://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
    ],
    resource: ['task:1', 'task:', 'task:1:2', `task:${HUGE_ID}`],
    changed_at: ['2026-01-15T12:00:00Z', 'yesterday', '9999-99-99T99:99:99Z'],
  };
  const candidates = Object.hasOwn(known, key) ? known[key] : undefined;
  return candidates
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...candidates) }, { weight: 1, arbitrary: text })
    : text;
};

const fields = (world: World, keys: readonly string[], maxLength = 8) =>
  fc
    .array(fc.constantFrom(...keys, 'x', '__proto__'), { maxLength })
    .chain((names) => fc.tuple(...names.map((k) => valueFor(world, k).map((v) => [k, v] as const))))
    .map((pairs) => pairs as ReadonlyArray<readonly [string, string]>);

const authorization = (world: World) =>
  fc.oneof(
    fc.constant(`Bearer ${world.minted.accessToken}`),
    fc.constant(`Bearer ${tamper(world.minted.accessToken)}`),
    fc.constant(`bearer ${world.minted.accessToken}`),
    fc.constant(`Bearer ${world.minted.refreshToken}`),
    fc.constant(`Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`),
    fc.constant(`Basic ${Buffer.from(`${CLIENT_ID}:${tamper(CLIENT_SECRET)}`).toString('base64')}`),
    fc.string({ maxLength: 30 }).map((s) => `Bearer ${s}`),
    fc.string({ maxLength: 30 }).map((s) => `Basic ${s}`),
    fc.string({ maxLength: 60 }),
  );

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
);

const BIG = 'a'.repeat(70 * 1024);

/** A body built from the route's fields, in one of several encodings (or plain noise). */
const body = (world: World, keys: readonly string[]) =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fields(world, keys).map((p) => ({
        kind: 'json' as const,
        text: JSON.stringify(Object.fromEntries(p)),
      })),
    },
    {
      weight: 3,
      arbitrary: fields(world, keys).map((p) => ({
        kind: 'form' as const,
        text: new URLSearchParams(p as Array<[string, string]>).toString(),
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .jsonValue({ maxDepth: 3 })
        .map((v) => ({ kind: 'json' as const, text: JSON.stringify(v) ?? 'null' })),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((t) => ({ kind: 'raw' as const, text: t })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const, text: '' }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { kind: 'raw' as const, text: BIG },
        { kind: 'json' as const, text: '{"uri":' },
        { kind: 'json' as const, text: '{"a":'.repeat(50) },
      ),
    },
  );

export interface FuzzRequest {
  readonly event: HttpEventInput & { readonly isBase64Encoded?: boolean };
}

/** What a route reads: its query and body fields, and whether it takes the pending cookie or a signature. */
export interface RouteShape {
  readonly method: string;
  readonly path: string;
  readonly queryKeys: readonly string[];
  readonly bodyKeys: readonly string[];
}

/** Each route's shape, from the fields lib/routes.ts says it reads. */
export const ROUTE_SHAPES: Readonly<Record<string, RouteShape>> = Object.fromEntries(
  ROUTES.map((r) => [
    routeKey(r),
    { method: r.method, path: r.path, queryKeys: r.reads?.query ?? [], bodyKeys: r.reads?.body ?? [] },
  ]),
);

/** Arbitrary requests for one route. */
export const requestsFor = (world: World, routeKey: string): fc.Arbitrary<FuzzRequest> => {
  const shape = ROUTE_SHAPES[routeKey];
  if (!shape) throw new Error(`no fuzz shape for route ${routeKey}`);
  return fc
    .record({
      query: fields(world, shape.queryKeys.length > 0 ? shape.queryKeys : ['x'], 10),
      body: body(world, shape.bodyKeys.length > 0 ? shape.bodyKeys : ['x']),
      contentType: fc.option(contentType, { nil: undefined }),
      authorization: fc.option(authorization(world), { nil: undefined }),
      pendingCookie: fc.option(
        fc.oneof(
          fc.constant(world.minted.pendingCookie),
          fc.constant(`nlp_oauth_pending=${HUGE_ID}`),
          fc.string({ maxLength: 30 }).map((s) => `nlp_oauth_pending=${s}`),
          fc.string({ maxLength: 30 }),
        ),
        { nil: undefined },
      ),
      extraHeaders: fc.dictionary(
        fc.constantFrom(
          'x-forwarded-for',
          'user-agent',
          'accept',
          'origin',
          'content-length',
          'host',
          'x-amzn-trace-id',
          'Content-Type',
        ),
        fc.string({ maxLength: 40 }),
        { maxKeys: 3 },
      ),
      base64: fc.boolean(),
      signed: fc.boolean(),
      webhookId: fc.oneof(
        fc.uuid().map((u) => `msg_${u}`),
        fc.string({ maxLength: 20 }),
      ),
      stale: fc.integer({ min: -900, max: 900 }),
    })
    .map((r): FuzzRequest => {
      const headers: Record<string, string> = { ...r.extraHeaders };
      const ct =
        r.contentType ??
        (r.body.kind === 'json'
          ? 'application/json'
          : r.body.kind === 'form'
            ? 'application/x-www-form-urlencoded'
            : undefined);
      if (ct !== undefined) headers['content-type'] = ct;
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      if (routeKey === 'POST /changes' && r.signed) {
        // Mostly fresh; sometimes outside the tolerance (signed with that time, so the timestamp check decides).
        const at = world.clock.now() + (Math.abs(r.stale) < 100 ? 0 : r.stale * 1000);
        Object.assign(headers, world.sign(r.body.text, r.webhookId, at));
      }
      const text = r.body.kind === 'none' ? undefined : r.body.text;
      return {
        event: {
          method: shape.method,
          path: shape.path,
          routeKey,
          query: new URLSearchParams(r.query as Array<[string, string]>).toString(),
          headers,
          ...(r.pendingCookie !== undefined ? { cookies: [r.pendingCookie] } : {}),
          ...(text !== undefined ? { body: r.base64 ? Buffer.from(text).toString('base64') : text } : {}),
          ...(r.base64 && text !== undefined ? { isBase64Encoded: true } : {}),
        },
      };
    });
};

const STACK = /(\n\s+at\s)|(\bat\s[\w.<>$]+\s\([^)]*:\d+:\d+\))|node:internal|node_modules\/|\/functions\/[\w/-]+\.ts/;

/** The problems with one answer (empty when it is fine). */
export const problemsOf = (result: Result, secretsBefore: ReadonlySet<string>, requestText: string): string[] => {
  const problems: string[] = [];
  if (!Number.isInteger(result.statusCode) || result.statusCode >= 500 || result.statusCode < 200) {
    problems.push(`status ${result.statusCode}`);
  }
  const shown = [result.body ?? '', JSON.stringify(result.headers ?? {}), JSON.stringify(result.cookies ?? [])].join(
    '\n',
  );
  if (STACK.test(shown)) problems.push('a stack trace or source path in the response');
  for (const secret of secretsBefore) {
    // A value the caller sent may come back (e.g. an echoed `state`); anything else is a leak.
    if (secret.length >= 6 && shown.includes(secret) && !requestText.includes(secret)) {
      problems.push(`a secret in the response (${secret.slice(0, 4)}…)`);
    }
  }
  return problems;
};

/** The problems with the captured log lines. */
export const logProblems = (lines: readonly string[], secrets: ReadonlySet<string>): string[] => {
  const problems: string[] = [];
  for (const line of lines) {
    for (const secret of secrets) {
      if (secret.length >= 6 && line.includes(secret))
        problems.push(`a secret in a log line (${secret.slice(0, 4)}…): ${line.slice(0, 2000)}`);
    }
    if (/\n\s+at\s|\\n\s+at\s/.test(line)) problems.push(`a stack trace in a log line: ${line.slice(0, 2000)}`);
  }
  return problems;
};

export { captureOutput } from '#test/helpers/output.js';

/**
 * Sends one fuzzed request to its route's handler in `world`, learns the tokens
 * the answer legitimately carried, and returns the answer with the problems
 * `problemsOf` finds in it (judged against the secrets known before the call).
 */
export const sendChecked = async (
  world: World,
  key: string,
  event: FuzzRequest['event'],
): Promise<{ result: Result; problems: string[] }> => {
  const before = new Set(world.secrets);
  const raw = httpEvent(event);
  const request = { ...raw, isBase64Encoded: event.isBase64Encoded === true };
  const decoded =
    event.isBase64Encoded && typeof raw.body === 'string' ? Buffer.from(raw.body, 'base64').toString('utf8') : '';
  const invoke = world.invoke[key];
  if (!invoke) throw new Error(`no handler for ${key}`);
  const result = await invoke(request);
  world.learn(result);
  return { result, problems: problemsOf(result, before, `${JSON.stringify(request)}\n${decoded}`) };
};

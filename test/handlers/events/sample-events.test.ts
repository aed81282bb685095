/**
 * Every sample event in events/ (what `sam local invoke -e` feeds a function)
 * runs through the exported `handler` of its function against the local system
 * (embedded DynamoDB and SQS, the local OpenID Connect provider), and gets the
 * answer a real request of that shape gets: never a 5xx.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ROUTES, routeKey } from '#lib/routes.js';
import { onMetric } from '#shared/observability.js';
import { lambdaContext } from '#test/helpers/factories.js';
import { useLocalSystem } from '#test/helpers/system.js';
import { EVENTS_DIR, sampleEvents } from '../../../scripts/events.js';

type HttpResult = { statusCode: number; headers?: Record<string, string>; body?: string; cookies?: string[] };
type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const readEvent = (name: string): unknown => JSON.parse(readFileSync(path.join(EVENTS_DIR, `${name}.json`), 'utf8'));
const committedChanges = readEvent('changes') as APIGatewayProxyEventV2;
const committedAt = Number(committedChanges.headers['webhook-timestamp']) * 1000;

describe('events/ (sam local sample events)', () => {
  it('holds what `npm run events -- --out events` generates, and the generator has a sample for every route', () => {
    const samples = sampleEvents({ now: committedAt });
    const files = readdirSync(EVENTS_DIR).filter((f) => f.endsWith('.json') && f !== 'env.json');
    // Every committed file is a current sample (a new route's sample may wait for the next refresh).
    expect(files.filter((f) => !samples.some((s) => `${s.name}.json` === f))).toEqual([]);
    for (const file of files) {
      const sample = samples.find((s) => `${s.name}.json` === file);
      expect(readEvent(file.replace(/\.json$/, ''))).toEqual(JSON.parse(JSON.stringify(sample?.event)));
    }
    const routeKeys = samples.flatMap((s) => ('routeKey' in s.event ? [s.event.routeKey] : []));
    expect(new Set(routeKeys)).toEqual(new Set(ROUTES.map(routeKey)));
  });

  describe('each sample through its handler', () => {
    const system = useLocalSystem({ workerLoop: false });
    const run = async (name: string, now = Date.now()): Promise<unknown> => {
      const { baseUrl, env } = system();
      const sample = sampleEvents({ baseUrl, env, now }).find((s) => s.name === name);
      if (!sample) throw new Error(`no sample ${name}`);
      // The committed file is the same event for the default port.
      const host = new URL(baseUrl).host;
      const committed = JSON.stringify(sampleEvents({ now }).find((s) => s.name === name)?.event);
      const moved = committed
        .replaceAll('127.0.0.1:3000', host)
        .replaceAll('127.0.0.1%3A3000', encodeURIComponent(host));
      expect(JSON.parse(moved)).toEqual(JSON.parse(JSON.stringify(sample.event)));
      // The exported `handler` of the function's entry module (functions/<name>.ts), as the system runs it.
      const handler = await system().handler<Handler>(sample.handler);
      return handler(JSON.parse(JSON.stringify(sample.event)), lambdaContext());
    };
    const http = async (name: string, now?: number) => (await run(name, now)) as HttpResult;
    const body = (r: HttpResult) => JSON.parse(r.body ?? 'null') as Record<string, unknown>;

    it('oauth-authorize: 302 to the upstream login with a pending-authorization cookie', async () => {
      const r = await http('oauth-authorize');
      expect(r.statusCode).toBe(302);
      expect(r.headers?.location?.startsWith(`${system().env.OIDC_ISSUER}/`)).toBe(true);
      expect(r.cookies?.some((c) => c.startsWith('nlp_oauth_pending='))).toBe(true);
    });

    it('oauth-callback: 400 page, the pending authorization is unknown', async () => {
      const r = await http('oauth-callback');
      expect(r.statusCode).toBe(400);
    });

    it('oauth-consent: 400 page, the pending authorization is unknown', async () => {
      const r = await http('oauth-consent');
      expect(r.statusCode).toBe(400);
    });

    it('oauth-token (authorization_code): client authenticated, 400 invalid_grant for an unknown code', async () => {
      const r = await http('oauth-token-authorization-code');
      expect(r.statusCode).toBe(400);
      expect(body(r).error).toBe('invalid_grant');
      expect(r.headers?.['cache-control']).toBe('no-store');
    });

    it('oauth-token (refresh_token): client authenticated, 400 invalid_grant for an unknown refresh token', async () => {
      const seen: string[] = [];
      const off = onMetric((name, dimensions) => seen.push(`${name} ${JSON.stringify(dimensions)}`));
      const r = await http('oauth-token-refresh-token').finally(off);
      expect(seen).toEqual(['TokenError {"error":"invalid_grant"}']);
      expect(r.statusCode).toBe(400);
      expect(body(r).error).toBe('invalid_grant');
    });

    it('unfurl: 401 invalid_token for a token no connection holds (counted as an unfurl outcome)', async () => {
      const seen: string[] = [];
      const off = onMetric((name, dimensions) => seen.push(`${name} ${JSON.stringify(dimensions)}`));
      const r = await http('unfurl').finally(off);
      expect(seen).toEqual(['UnfurlOutcome {"outcome":"invalid_token"}']);
      expect(r.statusCode).toBe(401);
      expect(r.headers?.['www-authenticate']).toContain('invalid_token');
    });

    it('unfurl-delete: 401 invalid_token for a token no connection holds', async () => {
      const r = await http('unfurl-delete');
      expect(r.statusCode).toBe(401);
    });

    it('deleted-token: 200, whatever the tokens', async () => {
      const r = await http('deleted-token');
      expect(r.statusCode).toBe(200);
    });

    it('deleted-token (POST, form body): 200', async () => {
      const r = await http('deleted-token-post');
      expect(r.statusCode).toBe(200);
    });

    it('changes: 202 queued when signed just now with the local default secret; 401 once the signature is stale', async () => {
      const fresh = await http('changes');
      expect(fresh.statusCode).toBe(202);
      expect(body(fresh).status).toBe('queued');
      const stale = await http('changes', Date.now() - 10 * 60_000);
      expect(stale.statusCode).toBe(401);
    });

    it('metadata: 200 RFC 8414 document naming this base URL', async () => {
      const r = await http('metadata');
      expect(r.statusCode).toBe(200);
      expect(body(r).issuer).toBe(system().baseUrl);
      expect(body(r).token_endpoint).toBe(`${system().baseUrl}/oauth/token`);
    });

    it('update-worker: the SQS batch is processed with no failed record', async () => {
      const r = (await run('update-worker')) as { batchItemFailures: unknown[] };
      expect(r).toEqual({ batchItemFailures: [] });
    });

    it('oauth-revoke: 200 for the authenticated client, although the service does not know the token (RFC 7009)', async () => {
      const r = await http('oauth-revoke');
      expect(r.statusCode).toBe(200);
      expect(r.headers?.['cache-control']).toBe('no-store');
    });

    it('jwks: 200 JWK Set of the public service-assertion keys', async () => {
      const r = await http('jwks');
      expect(r.statusCode).toBe(200);
      const keys = body(r).keys as Record<string, unknown>[];
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys)
        expect(Object.keys(key).every((k) => 'kty crv x y kid alg use'.split(' ').includes(k))).toBe(true);
    });

    it.each(
      sampleEvents()
        .filter((s) => 'routeKey' in s.event)
        .map((s) => s.name),
    )('%s: answered without a 5xx', async (name) => {
      expect((await http(name)).statusCode).toBeLessThan(500);
    });
  });
});

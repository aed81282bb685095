/**
 * `npm run smoke` against the local system: every check passes (a signed change
 * included, with the local webhook secret), and when a route is broken the run
 * fails, naming that check in its one-line summary.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ENV } from '#lib/env-names.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { checks, main } from '../../../scripts/smoke.js';

const run = async (args: Record<string, string>): Promise<{ code: number; lines: string[] }> => {
  const lines: string[] = [];
  const code = await main({ values: args, positionals: [] }, (line) => lines.push(line));
  return { code, lines };
};

describe('smoke against npm start', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startLocalSystem({ port: 0, workerLoop: false, log: () => undefined });
  }, 30_000);
  afterAll(async () => {
    await system?.stop();
  });

  it('passes every check and exits 0 with a one-line summary', async () => {
    const { code, lines } = await run({
      'base-url': system.baseUrl,
      'webhook-secret': system.env[ENV.CHANGES_WEBHOOK_SECRET] ?? '',
    });
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(lines.at(-1)).toBe(`smoke: 7 passed, 0 failed at ${system.baseUrl}`);
    expect(code).toBe(0);
  });

  it("a webhook secret that is not the service's fails the signed check and says what to look at", async () => {
    const { code, lines } = await run({
      'base-url': system.baseUrl,
      'webhook-secret': 'whsec_c29tZS1vdGhlci1zZWNyZXQ=',
    });
    expect(code).toBe(1);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([
      "FAIL changes-signed: a signed change answered 401, not 202: is --webhook-secret the service's CHANGES_WEBHOOK_SECRET?",
    ]);
  });
});

describe('smoke against a system with a broken route', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    // The unfurl function answers 500 to everything: what a bad deploy of that one function looks like.
    system = await startLocalSystem({
      port: 0,
      workerLoop: false,
      log: () => undefined,
      wrapHandler: (name, handler) =>
        (name === 'unfurl'
          ? async (_event: APIGatewayProxyEventV2) => ({ statusCode: 500, body: '' })
          : handler) as typeof handler,
    });
  }, 30_000);
  afterAll(async () => {
    await system?.stop();
  });

  it('exits 1 and names the failing check, and only it', async () => {
    const { code, lines } = await run({ 'base-url': system.baseUrl });
    expect(code).toBe(1);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([
      'FAIL unfurl-401: POST /unfurl without a token answered 500, not 401',
    ]);
    expect(lines.at(-1)).toBe(`smoke: 5 passed, 1 failed (unfurl-401) at ${system.baseUrl}`);
  });

  it('a base URL where nothing answers fails every check as a failed request, naming why', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const { code, lines } = await run({ 'base-url': `http://127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(lines[0]).toBe(`FAIL metadata: request failed: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(lines.at(-1)).toMatch(
      /^smoke: 0 passed, 6 failed \(metadata, jwks, token-errors, unfurl-401, changes-unsigned, deleted-token\)/,
    );
  });
});

describe('the jwks check', () => {
  const jwks = checks().find((c) => c.name === 'jwks');
  const answering = (body: unknown, status = 200): typeof fetch =>
    (async () =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })) as typeof fetch;

  it('fails a key set that publishes a private key, or has no keys, and passes a public one', async () => {
    const pub = { kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1', alg: 'EdDSA' };
    await expect(jwks?.run('https://x.test', answering({ keys: [pub] }))).resolves.toMatch(/^1 public key/);
    await expect(jwks?.run('https://x.test', answering({ keys: [{ ...pub, d: 'secret' }] }))).rejects.toThrow(
      'the JWKS publishes private key members (d)',
    );
    await expect(jwks?.run('https://x.test', answering({ keys: [] }))).rejects.toThrow('the JWKS has no keys');
    await expect(jwks?.run('https://x.test', answering({}, 500))).rejects.toThrow('answered 500, not 200');
  });
});

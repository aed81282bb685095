/**
 * The local server runs many invocations at once in one process, as a Lambda
 * environment with several concurrent invocations does. Each handler's log
 * lines carry its own invocation's keys (route, request id, function name),
 * never those of a request served at the same time: an unfurl, whose product
 * call makes the product fetch the service's JWK Set from the same server,
 * logs `POST /unfurl`, not the nested `GET /.well-known/jwks.json`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HANDLERS, ROUTES } from '#lib/routes.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import { logger } from '#shared/observability.js';
import { runLogLevel } from '#test/helpers/output.js';
import { demoTaskUrl, openDriver } from '#test/helpers/playground.js';
import { useLocalSystem } from '#test/helpers/system.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON log lines, inspected field by field
type JsonLine = Record<string, any>;

const written: string[] = [];
let restore: () => void = () => undefined;

beforeAll(() => {
  const out = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('{')) {
      written.push(text);
      return true;
    }
    return (out as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  restore = () => {
    process.stdout.write = out;
  };
});

afterAll(() => {
  restore();
  logger.setLogLevel(runLogLevel());
});

const jsonLines = (): JsonLine[] =>
  written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonLine);

/** The handler a route key names (lib/routes.ts). */
const handlerOfRoute = new Map(ROUTES.map((r) => [`${r.method} ${r.path}`, r.handler]));

describe('log lines of concurrent invocations in the local system', () => {
  const system = useLocalSystem({ env: { LOG_LEVEL: 'INFO' } });

  it('carry the keys of their own invocation', async () => {
    logger.setLogLevel('INFO');
    const sim = simulatorFor(system().baseUrl);
    if (!sim) throw new Error('no simulator mounted');
    const driver = await openDriver(system());
    expect((await driver.paste(demoTaskUrl(system(), 1))).state).toBe('card');
    const sessionId = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(
      driver.jar.header(new URL(`${system().baseUrl}/`)) ?? '',
    )?.[1] as string;
    const accessToken = sim.session(sessionId)?.grant?.accessToken;
    if (!accessToken) throw new Error('the simulator holds no grant');

    // Unfurls of several tasks (the product fetches the JWK Set for the first of each), interleaved with
    // metadata and JWK Set requests, all in flight at once.
    const unfurl = (id: number) =>
      fetch(`${system().baseUrl}/unfurl`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uri: demoTaskUrl(system(), id) }),
      });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => [
        unfurl((i % 4) + 1),
        fetch(`${system().baseUrl}/.well-known/jwks.json`),
        fetch(`${system().baseUrl}/.well-known/oauth-authorization-server`),
      ]).flat(),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));

    const lines = jsonLines().filter((l) => typeof l.route === 'string' && typeof l.function_name === 'string');
    const unfurlLines = lines.filter((l) => l.message === 'unfurl');
    expect(unfurlLines.length).toBeGreaterThanOrEqual(8);
    for (const line of unfurlLines) expect(line.route).toBe('POST /unfurl');
    // Every line: its route is served by the function that logged it.
    for (const line of lines) {
      const handler = handlerOfRoute.get(line.route);
      expect(handler !== undefined && handler in HANDLERS).toBe(true);
      expect(line.function_name).toBe(`notion-link-preview-local-${handler}`);
    }
    // One line per unfurl, each with its own request id and invocation id.
    expect(new Set(unfurlLines.map((l) => l.requestId)).size).toBe(unfurlLines.length);
    expect(new Set(unfurlLines.map((l) => l.function_request_id)).size).toBe(unfurlLines.length);
  }, 60_000);
});

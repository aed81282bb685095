/**
 * After a full flow on the local system (Notion's OAuth round trip through the
 * local IdP and consent, an unfurl, a pushed update, a token refresh), no
 * table holds any token in plaintext: not ours (authorization codes, access
 * and refresh tokens), not Notion's, not the upstream provider's. Nor does
 * any log line.
 *
 * Every token is collected where it travels: a wrapper around `fetch` records
 * each request and response of the run (the simulated Notion calling the
 * service, the service calling Notion's API and the IdP, the browser's
 * redirects), and every value of a token-carrying field is a secret to look for.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import type { LocalSystem } from '#local/system.js';
import { logger } from '#shared/observability.js';
import { captureOutput } from '#test/fuzz/requests.js';
import { runLogLevel } from '#test/helpers/output.js';
import { editDemoTask, openDriver } from '#test/helpers/playground.js';
import { startTestSystem } from '#test/helpers/system.js';

const TOKEN_FIELDS = new Set(['access_token', 'refresh_token', 'id_token', 'code']);

/** Where each secret was first seen, by value. */
const secrets = new Map<string, string>();
const note = (value: unknown, where: string) => {
  if (typeof value === 'string' && value.length >= 8 && !secrets.has(value)) secrets.set(value, where);
};

const harvestText = (text: string, where: string) => {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
            if (TOKEN_FIELDS.has(k)) note(x, `${where} ${k}`);
            walk(x);
          }
        }
      };
      walk(JSON.parse(t));
      return;
    } catch {
      /* not JSON */
    }
  }
  if (/^[\w.~%-]+=[^\s]*$/.test(t)) harvestUrl(`http://x/?${t}`, where);
};

const harvestUrl = (url: string, where: string) => {
  try {
    for (const [k, v] of new URL(url).searchParams) if (TOKEN_FIELDS.has(k)) note(v, `${where} ${k}`);
  } catch {
    /* not a URL */
  }
};

const harvestHeaders = (headers: Headers | Record<string, string> | undefined, where: string) => {
  if (!headers) return;
  const get = (name: string) =>
    headers instanceof Headers ? headers.get(name) : (headers as Record<string, string>)[name];
  const auth = get('authorization');
  if (auth?.startsWith('Bearer ')) note(auth.slice(7), `${where} bearer`);
  const location = get('location');
  if (location) harvestUrl(location, `${where} location`);
};

let system: LocalSystem;
let output: ReturnType<typeof captureOutput>;
const realFetch = globalThis.fetch;

beforeAll(async () => {
  globalThis.fetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    harvestUrl(url, `request ${url}`);
    harvestHeaders(init?.headers as Record<string, string> | undefined, `request ${url}`);
    if (typeof init?.body === 'string') harvestText(init.body, `request ${url}`);
    else if (init?.body instanceof URLSearchParams) harvestText(init.body.toString(), `request ${url}`);
    const response = await realFetch(input, init);
    harvestHeaders(response.headers, `response ${url}`);
    harvestText(await response.clone().text(), `response ${url}`);
    return response;
  };
  system = await startTestSystem({ env: { LOG_LEVEL: 'DEBUG' } });
  logger.setLogLevel('DEBUG');
  output = captureOutput();
}, 30_000);

afterAll(async () => {
  output?.stop();
  globalThis.fetch = realFetch;
  logger.setLogLevel(runLogLevel());
  await system?.stop();
});

const scanTable = async (doc: DynamoDBDocumentClient, table: string): Promise<unknown[]> => {
  const items: unknown[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
};

describe('no plaintext token at rest', () => {
  it('after sign-in, unfurl, pushed update and refresh, no table item and no log line holds a token', async () => {
    const sim = simulatorFor(system.baseUrl);
    if (!sim) throw new Error('the local system did not mount the Notion simulator');
    const driver = await openDriver(system);
    const preview = await driver.paste(`${system.baseUrl}/demo/tasks/1`);
    expect(preview.state).toBe('card');

    // A pushed update: an edit in the demo product reaches the card.
    await editDemoTask(system, 1, 'Scanned for plaintext');
    await driver.waitFor((s) => JSON.stringify(s.previews).includes('Scanned for plaintext'), 15_000);

    // A refresh of our access token (the simulator treats it as about to expire).
    sim.configure({ client: { refreshMarginSeconds: 24 * 3600 } });
    try {
      await driver.refresh(preview.id);
    } finally {
      sim.configure({ client: { refreshMarginSeconds: 0 } });
    }
    expect((await driver.state()).grant?.refreshCount).toBe(1);

    // The run saw every kind of token it must look for.
    const where = [...secrets.values()].join('\n');
    expect(where).toMatch(/\/oauth\/token refresh_token/); // ours, rotated
    expect(where).toMatch(/\/oauth\/token access_token/); // ours
    expect(where).toMatch(/\/notion\/v1\/oauth\/token access_token/); // Notion's
    expect(where).toMatch(/\/idp\/.*(access_token|id_token)/); // the upstream provider's
    expect(where).toMatch(/location code/); // our authorization code
    expect(secrets.size).toBeGreaterThanOrEqual(8);

    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: system.env.DYNAMODB_ENDPOINT as string,
        region: system.env.AWS_REGION ?? 'us-east-1',
      }),
    );
    const tables = ['CONNECTIONS_TABLE', 'AUTH_STATE_TABLE', 'SUBSCRIPTIONS_TABLE', 'RATE_LIMITS_TABLE'].map(
      (name) => system.env[name] as string,
    );
    let scanned = 0;
    let everything = '';
    const leaks: string[] = [];
    for (const table of tables) {
      for (const item of await scanTable(doc, table)) {
        scanned += 1;
        const text = JSON.stringify(item);
        everything += text;
        for (const [secret, seen] of secrets) {
          const b64 = Buffer.from(secret).toString('base64url');
          if (text.includes(secret) || text.includes(b64)) leaks.push(`${table}: a token (${seen})`);
        }
      }
    }
    doc.destroy();
    expect(scanned).toBeGreaterThan(3);
    // The scan reads what the flow stored (the subscription's uri, the connection's ciphertexts).
    expect(everything).toContain(`${system.baseUrl}/demo/tasks/1`);
    expect(everything).toMatch(/Ciphertext/);
    expect(leaks).toEqual([]);

    const logLeaks = output.lines.flatMap((line) =>
      [...secrets].filter(([s]) => line.includes(s)).map(([, seen]) => `a log line holds a token (${seen})`),
    );
    expect(output.lines.length).toBeGreaterThan(10);
    expect(logLeaks).toEqual([]);
  }, 40_000);
});

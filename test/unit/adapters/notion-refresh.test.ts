/**
 * The refresh grant at Notion's token endpoint (functions/adapters/notion/notion-api.ts): the request it
 * sends, and how Notion's answers map to refreshed / refused / unavailable (docs/adr/0151).
 */
import { describe, expect, it } from '@jest/globals';
import { createNotionApi } from '#adapters/notion/notion-api.js';
import { NotionExchangeError } from '#core/oauth/ports.js';

interface Sent {
  readonly url: string;
  readonly init: RequestInit;
}

const apiAnswering = (answer: () => Response | Promise<Response>, sent: Sent[] = []) =>
  createNotionApi({
    baseUrl: 'http://127.0.0.1:9/notion',
    version: '2022-06-28',
    timeoutMs: 1_000,
    credentials: async () => ({ clientId: 'client-id', clientSecret: 'client-secret' }),
    fetch: (async (url: string, init: RequestInit) => {
      sent.push({ url, init });
      return answer();
    }) as unknown as typeof fetch,
  });

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('Notion refresh grant', () => {
  it.each([
    [429, { 'retry-after': '120' }, {}, 120],
    [503, { 'retry-after': '30' }, {}, 30],
    [429, {}, { object: 'error', status: 429, code: 'rate_limited', additional_data: { retry_after: 45 } }, 45],
  ])('a %i with Retry-After %j %j carries it in the unavailable error', async (status, headers, body, seconds) => {
    const api = apiAnswering(
      () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } }),
    );
    const error = await api.refresh('r').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotionExchangeError);
    expect((error as NotionExchangeError).kind).toBe('unavailable');
    expect((error as NotionExchangeError).details).toMatchObject({ status, retryAfterSeconds: seconds });
  });
  it('posts the refresh grant with Basic auth, Notion-Version and a JSON body, and returns both new tokens', async () => {
    const sent: Sent[] = [];
    const api = apiAnswering(() => json(200, { access_token: 'ntn_new', refresh_token: 'ntn_r2', bot_id: 'b' }), sent);
    await expect(api.refresh('ntn_r1')).resolves.toEqual({
      outcome: 'refreshed',
      accessToken: 'ntn_new',
      refreshToken: 'ntn_r2',
    });
    expect(sent).toHaveLength(1);
    const [{ url, init }] = sent as [Sent];
    expect(url).toBe('http://127.0.0.1:9/notion/v1/oauth/token');
    expect(init.method).toBe('POST');
    const headers = init.headers as Record<string, string>;
    expect(headers.authorization).toBe(`Basic ${Buffer.from('client-id:client-secret').toString('base64')}`);
    expect(headers['notion-version']).toBe('2022-06-28');
    expect(headers['content-type']).toBe('application/json');
    expect(JSON.parse(String(init.body))).toEqual({ grant_type: 'refresh_token', refresh_token: 'ntn_r1' });
  });

  it('a null refresh_token means not rotated: the answer carries none', async () => {
    const api = apiAnswering(() => json(200, { access_token: 'ntn_new', refresh_token: null }));
    await expect(api.refresh('ntn_r1')).resolves.toEqual({ outcome: 'refreshed', accessToken: 'ntn_new' });
  });

  it.each([
    [400, { object: 'error', status: 400, code: 'invalid_grant', message: 'Invalid refresh token.' }, 'invalid_grant'],
    [400, { error: 'invalid_grant', error_description: 'expired' }, 'invalid_grant'],
    [401, { object: 'error', status: 401, code: 'unauthorized', message: 'API token is invalid.' }, 'unauthorized'],
  ])('%i %j is a refusal', async (status, body, code) => {
    await expect(apiAnswering(() => json(status, body)).refresh('r')).resolves.toEqual({
      outcome: 'refused',
      status,
      code,
    });
  });

  it.each([
    [429, { object: 'error', status: 429, code: 'rate_limited', message: 'slow down' }],
    [500, { object: 'error', status: 500, code: 'internal_server_error', message: 'oops' }],
    [503, 'not json'],
    [400, { object: 'error', status: 400, code: 'validation_error', message: 'bad body' }],
    [200, { token_type: 'bearer' }],
  ])('%i %j is unavailable (no answer about the refresh token)', async (status, body) => {
    const error = await apiAnswering(() => json(status, body))
      .refresh('r')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotionExchangeError);
    expect((error as NotionExchangeError).kind).toBe('unavailable');
  });

  it('a network failure is unavailable', async () => {
    const error = await apiAnswering(() => {
      throw new TypeError('fetch failed');
    })
      .refresh('r')
      .catch((e: unknown) => e);
    expect((error as NotionExchangeError).kind).toBe('unavailable');
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { type DemoTaskJson, demoApiAudience, demoProductAdapter } from '#adapters/sources/demo-product.js';
import { exampleCustomAdapter } from '#adapters/sources/example-custom.js';
import { fillTemplate, httpJsonAdapter, parseHttpJsonMapping, pick, requestUrl } from '#adapters/sources/http-json.js';
import { sourceAdapterFromConfig } from '#adapters/sources/registry.js';
import { noCredentials } from '#core/sources/credentials.js';
import { type FetchFunction, SourceUnavailableError, type UpstreamCredentials } from '#core/sources/source-adapter.js';
import { tokensFromPlaintext } from '#core/sources/stored-tokens.js';
import { validateAttributes } from '#core/unfurl/attributes.js';
import { attributesOf } from '#core/unfurl/render.js';
import { demoRules, matchUri, parseIntegration } from '#core/unfurl/rules.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';
import { testAssertions } from '#test/helpers/assertions.js';

const BASE = 'http://127.0.0.1:3000/demo';
const signer = await testAssertions();
const SIGNER = signer.assertions;
const identity = { subject: 'u-bob', displayName: 'Bob', connectionId: 'c1' };
const ctx = () => ({ signal: new AbortController().signal, deadline: Date.now() + 1000 });
const rules = demoRules('http://127.0.0.1:3000');
const match = (id: string) => matchUri(rules, `http://127.0.0.1:3000/demo/tasks/${id}`)!;

const task: DemoTaskJson = {
  id: '1',
  title: 'Ship it',
  url: `${BASE}/tasks/1`,
  status: { name: 'In progress', color: '#1a73e8' },
  assignee: { subject: 'u-bob', name: 'Bob Baker' },
  due: '2026-01-01',
  updatedAt: '2026-01-02T03:04:05.000Z',
  priority: 'high',
  description: 'Body text',
  embed: { kind: 'image', url: `${BASE}/assets/tasks/1.svg` },
};

interface Call {
  url: string;
  headers: Record<string, string>;
}

const fakeFetch =
  (answer: (url: string) => Response | Promise<Response>, calls: Call[] = []): FetchFunction =>
  async (url, init) => {
    calls.push({ url, headers: { ...(init?.headers as Record<string, string>) } });
    return answer(url);
  };

const jsonResponse = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('demo product adapter', () => {
  it('asks the API as the user with a signed service assertion and maps every field', async () => {
    const calls: Call[] = [];
    const adapter = demoProductAdapter({
      baseUrl: BASE,
      assertions: SIGNER,
      fetch: fakeFetch(() => jsonResponse(200, task), calls),
    });
    const out = await adapter.resolve(match('1'), identity, noCredentials, ctx());
    expect(out.outcome).toBe('found');
    expect(calls[0]?.url).toBe(`${BASE}/api/tasks/1`);
    const token = calls[0]?.headers.authorization?.replace(/^Bearer /, '') ?? '';
    const { payload, protectedHeader } = await jwtVerify(token, signer.verifyKeys, {
      issuer: signer.issuer,
      audience: demoApiAudience(BASE),
    });
    expect(payload.sub).toBe('u-bob');
    expect(protectedHeader.alg).toBe('EdDSA');
    if (out.outcome !== 'found') return;
    const attributes = attributesOf(out.model, 'Demo');
    expect(validateAttributes(attributes).ok).toBe(true);
    const ids = attributes.map((a) => a.id);
    expect(ids).toEqual([
      'title',
      'dev',
      'identifier',
      'status',
      'due',
      'updated',
      'assignee',
      'priority',
      'description',
      'embed',
    ]);
    expect(JSON.stringify(attributes)).toContain('"color":{"r":26,"g":115,"b":232}');
  });

  it.each([
    [403, 'forbidden'],
    [404, 'not_found'],
    [410, 'gone'],
  ])('maps HTTP %i to %s', async (status, outcome) => {
    const adapter = demoProductAdapter({
      baseUrl: BASE,
      assertions: SIGNER,
      fetch: fakeFetch(() => jsonResponse(status, { error: 'x' })),
    });
    expect(await adapter.resolve(match('3'), identity, noCredentials, ctx())).toEqual({ outcome });
  });

  it('treats 401 (assertion refused), 5xx, bad JSON, odd shapes and network errors as "no answer"', async () => {
    const answers: Array<() => Response | Promise<Response>> = [
      () => jsonResponse(401, {}),
      () => jsonResponse(502, {}),
      () => new Response('not json', { status: 200 }),
      () => jsonResponse(200, { id: 1 }),
      () => Promise.reject(new TypeError('fetch failed')),
    ];
    for (const answer of answers) {
      const adapter = demoProductAdapter({ baseUrl: BASE, assertions: SIGNER, fetch: fakeFetch(answer) });
      await expect(adapter.resolve(match('1'), identity, noCredentials, ctx())).rejects.toBeInstanceOf(
        SourceUnavailableError,
      );
    }
  });

  it('never fetches for a resource key it does not own', async () => {
    const calls: Call[] = [];
    const adapter = demoProductAdapter({
      baseUrl: BASE,
      assertions: SIGNER,
      fetch: fakeFetch(() => jsonResponse(200, task), calls),
    });
    const foreign = { ...match('1'), resourceKey: 'task:../../admin' };
    expect(await adapter.resolve(foreign, identity, noCredentials, ctx())).toEqual({ outcome: 'not_found' });
    expect(calls).toHaveLength(0);
  });

  it('the custom example personalises the preview', async () => {
    const adapter = exampleCustomAdapter({
      baseUrl: BASE,
      assertions: SIGNER,
      fetch: fakeFetch(() => jsonResponse(200, task)),
      now: () => Date.UTC(2026, 5, 1),
    });
    const out = await adapter.resolve(match('1'), identity, noCredentials, ctx());
    expect(out.outcome).toBe('found');
    const text = JSON.stringify(out);
    expect(text).toContain('Assigned to you');
    expect(text).toContain('Overdue');
  });
});

describe('generic HTTP JSON adapter', () => {
  const acme = parseIntegration({
    domain: 'acme.com',
    rules: [
      {
        name: 'item',
        pattern: '^https://acme\\.com/items/(?<itemNo>[^/?#]+)$',
        sampleUrls: ['https://acme.com/items/1'],
        resource: 'item:$<itemNo>',
      },
    ],
  });
  const mapping = parseHttpJsonMapping({
    request: { path: '/v1/items/$<itemNo>', headers: { 'x-client': 'notion' } },
    title: 'name',
    dev: 'Acme Inc',
    attributes: [
      { id: 'state', name: 'State', kind: 'enum', value: 'state.label', color: 'state.colour' },
      { id: 'due', name: 'Due', kind: 'date', value: 'due_on' },
      { id: 'updated', name: 'Updated', kind: 'datetime', value: 'updated_at', section: 'primary' },
      { id: 'owner', name: 'Owner', kind: 'plain_text', section: 'avatar', value: 'owner.name' },
      {
        id: 'summary',
        name: 'Summary',
        kind: 'plain_text',
        section: 'body',
        template: '{count} items by {owner.name}',
      },
      { id: 'tint', name: 'Tint', kind: 'color', value: 'state.colour', section: 'background' },
      { id: 'cover', name: 'Cover', kind: 'image', value: 'images.0.url' },
      { id: 'clip', name: 'Clip', kind: 'video', value: 'video_url' },
    ],
  });
  const item = {
    name: 'Widget',
    state: { label: 'Open', colour: '#00ff00' },
    due_on: '2026-03-01',
    updated_at: '2026-03-01T10:00:00Z',
    owner: { name: 'Dana' },
    count: 3,
    images: [{ url: 'https://cdn.acme.com/w.png' }],
  };
  const token: UpstreamCredentials = { accessToken: async () => 'upstream-token' };

  it('calls the API under SOURCE_BASE_URL with the user token and maps fields declaratively', async () => {
    const calls: Call[] = [];
    const adapter = httpJsonAdapter({
      baseUrl: 'https://api.acme.com/base',
      mapping,
      fetch: fakeFetch(() => jsonResponse(200, item), calls),
    });
    const out = await adapter.resolve(matchUri(acme, 'https://acme.com/items/7')!, identity, token, ctx());
    expect(calls[0]?.url).toBe('https://api.acme.com/base/v1/items/7');
    expect(calls[0]?.headers.authorization).toBe('Bearer upstream-token');
    expect(calls[0]?.headers['x-client']).toBe('notion');
    expect(out.outcome).toBe('found');
    if (out.outcome !== 'found') return;
    const attributes = attributesOf(out.model, 'ignored');
    expect(validateAttributes(attributes).ok).toBe(true);
    expect(attributes.map((a) => a.id)).toEqual([
      'title',
      'dev',
      'state',
      'due',
      'updated',
      'owner',
      'summary',
      'tint',
      'cover',
    ]);
    expect(JSON.stringify(attributes)).toContain('3 items by Dana');
    expect(JSON.stringify(attributes)).toContain('Acme Inc');
  });

  it('needs_auth without an upstream token, and maps statuses', async () => {
    const adapter = httpJsonAdapter({
      baseUrl: 'https://api.acme.com',
      mapping,
      fetch: fakeFetch(() => jsonResponse(401, {})),
    });
    const m = matchUri(acme, 'https://acme.com/items/7')!;
    expect(await adapter.resolve(m, identity, noCredentials, ctx())).toEqual({ outcome: 'needs_auth' });
    expect(await adapter.resolve(m, identity, token, ctx())).toEqual({ outcome: 'needs_auth' });
    const missing = httpJsonAdapter({
      baseUrl: 'https://api.acme.com',
      mapping,
      fetch: fakeFetch(() => jsonResponse(200, { other: 1 })),
    });
    await expect(missing.resolve(m, identity, token, ctx())).rejects.toBeInstanceOf(SourceUnavailableError);
  });

  it('never leaves SOURCE_BASE_URL, whatever the matched groups contain', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const url = requestUrl('https://api.acme.com/base', '/v1/items/$<itemNo>', {
          ...matchUri(acme, 'https://acme.com/items/1')!,
          groups: { itemNo: value },
        });
        if (url !== undefined) {
          const u = new URL(url);
          expect(u.origin).toBe('https://api.acme.com');
          expect(u.pathname.startsWith('/base/v1/items/')).toBe(true);
        }
      }),
    );
    expect(
      requestUrl('https://api.acme.com/base', '/$<x>', {
        ...matchUri(acme, 'https://acme.com/items/1')!,
        groups: { x: '../../etc' },
      }),
    ).toBe('https://api.acme.com/base/..%2F..%2Fetc');
  });

  it('never lets a group move the request to another path under SOURCE_BASE_URL', async () => {
    const at = (groups: Record<string, string>, path = '/v1/items/$<slug>/summary') =>
      requestUrl('https://api.acme.com/base', path, { ...matchUri(acme, 'https://acme.com/items/1')!, groups });
    // The URL parser removes `.` and `..` segments (and `%2e` spelled ones) with the segment before.
    for (const slug of ['..', '.', '']) expect(at({ slug })).toBeUndefined();
    expect(at({ a: '.', b: '.' }, '/v1/items/$<a>$<b>')).toBeUndefined();
    expect(at({ p: '..', slug: '..' }, '/v1/projects/$<p>/items/$<slug>')).toBeUndefined();
    // Percent signs of a group are encoded: `%2e%2e` in a link stays a name, not a dot segment.
    expect(at({ slug: '%2e%2e' })).toBe('https://api.acme.com/base/v1/items/%252e%252e/summary');
    expect(at({ slug: '...' })).toBe('https://api.acme.com/base/v1/items/.../summary');
    expect(at({ slug: 'a.b' })).toBe('https://api.acme.com/base/v1/items/a.b/summary');
    // A group in the query may be empty or a dot: it names no path.
    expect(at({ slug: '..' }, '/v1/items?slug=$<slug>')).toBe('https://api.acme.com/base/v1/items?slug=..');

    // End to end: a rule that lets `..` through, and nothing is fetched for it.
    const loose = parseIntegration({
      domain: 'acme.com',
      rules: [
        {
          name: 'item',
          pattern: '^https://acme\\.com/items/(?<slug>[^/?#]+)$',
          sampleUrls: ['https://acme.com/items/a'],
          resource: 'item:$<slug>',
        },
      ],
    });
    const fetched: string[] = [];
    const adapter = httpJsonAdapter({
      baseUrl: 'https://api.acme.com',
      mapping: parseHttpJsonMapping({ request: { path: '/v1/items/$<slug>/summary' }, title: 'name' }),
      fetch: fakeFetch((url) => {
        fetched.push(url);
        return jsonResponse(200, { name: 'x' });
      }),
    });
    const token = { accessToken: async () => 'upstream-token' };
    const m = matchUri(loose, 'https://acme.com/items/..')!;
    expect(m.groups.slug).toBe('..');
    expect(await adapter.resolve(m, identity, token, ctx())).toEqual({ outcome: 'not_found' });
    expect(fetched).toEqual([]);
  });

  it('rejects mappings that could not render', () => {
    expect(() =>
      parseHttpJsonMapping({
        request: { path: '/x' },
        title: 't',
        attributes: [{ id: 'a', name: 'A', kind: 'enum', value: 'v', section: 'body' }],
      }),
    ).toThrow(ConfigError);
    expect(() =>
      parseHttpJsonMapping({
        request: { path: '/x' },
        title: 't',
        attributes: [{ id: 'title', name: 'A', kind: 'plain_text', value: 'v' }],
      }),
    ).toThrow(/reserved/);
    expect(() => parseHttpJsonMapping({ request: { path: 'x' }, title: 't' })).toThrow(ConfigError);
    expect(() => parseHttpJsonMapping('{')).toThrow(/not valid JSON/);
  });

  it('picks dotted paths and fills templates without touching prototypes', () => {
    expect(pick({ a: { b: [{ c: 1 }] } }, 'a.b.0.c')).toBe(1);
    expect(pick({}, 'constructor')).toBeUndefined();
    expect(pick({}, '__proto__.x')).toBeUndefined();
    expect(fillTemplate('{a} and {missing}', { a: true })).toBe('true and ');
  });
});

describe('adapter registry and credentials', () => {
  it('builds the adapter SOURCE_ADAPTER names, and fails by name otherwise', () => {
    const env = { PUBLIC_BASE_URL: 'http://127.0.0.1:3000', TOKEN_SIGNING_KEY: 'unit-test-signing-key-of-some-length' };
    expect(sourceAdapterFromConfig({ config: parseConfig(env) }).name).toBe('demo');
    expect(sourceAdapterFromConfig({ config: parseConfig({ ...env, SOURCE_ADAPTER: 'example' }) }).name).toBe(
      'example',
    );
    expect(() => sourceAdapterFromConfig({ config: parseConfig({ ...env, SOURCE_ADAPTER: 'nope' }) })).toThrow(
      /unknown adapter "nope"/,
    );
    expect(() => sourceAdapterFromConfig({ config: parseConfig({ ...env, SOURCE_ADAPTER: 'http' }) })).toThrow(
      /SOURCE_BASE_URL/,
    );
    expect(() => sourceAdapterFromConfig({ config: parseConfig({ SOURCE_ADAPTER: 'demo' }) })).toThrow(
      /SOURCE_BASE_URL/,
    );
    const http = sourceAdapterFromConfig({
      config: parseConfig({
        SOURCE_ADAPTER: 'http',
        SOURCE_BASE_URL: 'https://api.acme.com',
        SOURCE_HTTP_MAPPING: '{"request":{"path":"/i"},"title":"name"}',
      }),
    });
    expect(http.name).toBe('http');
  });

  it('refuses an http mapping whose path names a group a rule does not capture, naming both', () => {
    const rules = (group: string) =>
      JSON.stringify({
        domain: 'acme.example',
        rules: [
          {
            name: 'item',
            pattern: `^https://acme\\.example/items/(?<${group}>\\d+)$`,
            sampleUrls: ['https://acme.example/items/1'],
            resource: `item:$<${group}>`,
            placeholder: [
              { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'Item', section: 'title' } } },
              {
                id: 'dev',
                name: 'Dev',
                type: 'inline',
                inline: { plain_text: { value: 'Acme', section: 'secondary' } },
              },
            ],
          },
        ],
      });
    const build = (env: Record<string, string>) =>
      sourceAdapterFromConfig({
        config: parseConfig({
          SOURCE_ADAPTER: 'http',
          SOURCE_BASE_URL: 'https://api.acme.example',
          SOURCE_HTTP_MAPPING: '{"request":{"path":"/api/items/$<itemNo>"},"title":"name"}',
          ...env,
        }),
      });
    expect(() => build({ UNFURL_RULES: rules('no') })).toThrow(
      new ConfigError(
        'SOURCE_HTTP_MAPPING: request.path uses $<itemNo>, which rule "item" of UNFURL_RULES does not capture (it captures $<no>)',
      ),
    );
    expect(build({ UNFURL_RULES: rules('itemNo') }).name).toBe('http');
    // Without UNFURL_RULES the demo rules apply: they capture $<taskId>.
    expect(() => build({ PUBLIC_BASE_URL: 'http://127.0.0.1:3000' })).toThrow(
      /does not capture \(it captures \$<taskId>\)/,
    );
  });

  it('reads the upstream access token from the stored JSON', () => {
    expect(tokensFromPlaintext('{"accessToken":"abc","refreshToken":"r"}')?.accessToken).toBe('abc');
    expect(tokensFromPlaintext('{"access_token":"abc"}')?.accessToken).toBe('abc');
    expect(tokensFromPlaintext('bare-token')?.accessToken).toBe('bare-token');
    expect(tokensFromPlaintext('{"x":1}')).toBeUndefined();
  });
});

describe('readJson', () => {
  it('stops reading a body past the limit', async () => {
    const { readJson } = await import('#core/sources/source-adapter.js');
    await expect(readJson(new Response('{"a":1}'))).resolves.toEqual({ a: 1 });
    await expect(readJson(new Response(`"${'x'.repeat(300_000)}"`))).rejects.toThrow(/oversized/);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
    });
    await expect(readJson(new Response(endless), 1024 * 1024)).rejects.toThrow(/oversized/);
    expect(pulled).toBeLessThan(40);
  });
});

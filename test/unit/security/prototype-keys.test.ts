/**
 * Every lookup keyed by a value from outside (requests, the product's data,
 * change events, UNFURL_RULES, SOURCE_HTTP_MAPPING, form fields, cookies,
 * headers, attribute ids) treats the names Object.prototype carries
 * (`constructor`, `toString`, `__proto__`, …) as ordinary unknown names: no
 * TypeError, no inherited value used, no key turned into a prototype.
 */

import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { stored } from '#adapters/memory/clone.js';
import { type DemoTaskJson, demoProductAdapter, taskPreview } from '#adapters/sources/demo-product.js';
import { fillTemplate, httpJsonAdapter, parseHttpJsonMapping, pick, requestUrl } from '#adapters/sources/http-json.js';
import { parseChangeBody } from '#core/changes/event.js';
import { type FetchFunction, SourceUnavailableError } from '#core/sources/source-adapter.js';
import { validateAttributes } from '#core/unfurl/attributes.js';
import { attributesOf } from '#core/unfurl/render.js';
import { demoRules, matchUri, parseIntegration, substitute, substituteDeep } from '#core/unfurl/rules.js';
import { validateAttributes as simulatorValidate, toCard } from '#local/notion-simulator/attributes.js';
import { fillForm, parseForms } from '#local/notion-simulator/driver.js';
import { matchLink } from '#local/notion-simulator/link-rules.js';
import { collectHeaders, fromLambdaResult, queryParameters } from '#local/server.js';
import { toSqsRecord } from '#local/worker-loop.js';
import { parseCookies } from '#shared/cookies.js';
import { toHttpRequest } from '#shared/http.js';
import { redact } from '#shared/redact.js';
import { testAssertions } from '#test/helpers/assertions.js';
import { redriveDeadLetters } from '../../../scripts/redrive.js';

/** Every name an ordinary object inherits, and `__proto__`. */
const NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__'])];

/** Runs `check` for every name (each one first, as examples), then for random mixes of them. */
const forEveryName = (check: (name: string) => void | Promise<void>, async = false) => {
  const arb = fc.constantFrom(...NAMES);
  const examples = NAMES.map((n) => [n] as [string]);
  return async
    ? fc.assert(
        fc.asyncProperty(arb, async (n) => {
          await check(n);
        }),
        { examples },
      )
    : fc.assert(
        fc.property(arb, (n) => {
          check(n);
        }),
        { examples },
      );
};

/** An object with an own (enumerable, data) property `name`, as JSON.parse makes it. */
const withOwn = (name: string, value: unknown, rest: Record<string, unknown> = {}): Record<string, unknown> =>
  JSON.parse(
    `{${[...Object.entries(rest), [name, value] as const].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
  );

const ctx = () => ({ signal: new AbortController().signal, deadline: Date.now() + 1000 });
const identity = { subject: 'u-bob', displayName: 'Bob', connectionId: 'c1' };
const jsonResponse = (body: unknown) =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const answering =
  (body: unknown, urls: string[] = []): FetchFunction =>
  async (url) => {
    urls.push(url);
    return jsonResponse(body);
  };

const BASE = 'http://127.0.0.1:3000/demo';
const TASK: DemoTaskJson = {
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
const GREY = { r: 0x9a, g: 0xa0, b: 0xa6 };

describe('the demo card: task status, priority, assignee and embed named like a prototype property', () => {
  it('renders as for any unknown value: the default colour, no embed, the names as text', () => {
    forEveryName((name) => {
      const task = {
        ...TASK,
        status: { name, color: '#1a73e8' },
        assignee: { subject: name, name },
        priority: name,
        embed: { kind: name, url: TASK.embed?.url },
      } as unknown as DemoTaskJson;
      const model = taskPreview(task);
      const attributes = attributesOf(model, 'Demo Tasks');
      expect(validateAttributes(attributes).ok).toBe(true);
      const byId = new Map(attributes.map((a) => [a.id, a]));
      expect(byId.get('priority')).toMatchObject({ inline: { color: { value: GREY } } });
      expect(byId.get('status')).toMatchObject({ inline: { enum: { value: name } } });
      expect(byId.get('assignee')).toMatchObject({ inline: { plain_text: { value: name } } });
      expect(byId.has('embed')).toBe(false);
    });
  });

  it('comes through the demo adapter from the product API without a failure', async () => {
    const match = matchUri(demoRules('http://127.0.0.1:3000'), `${BASE}/tasks/1`);
    if (!match) throw new Error('no match');
    await forEveryName(async (name) => {
      const adapter = demoProductAdapter({
        baseUrl: BASE,
        assertions: (await testAssertions()).assertions,
        fetch: answering({ ...TASK, priority: name, status: { name, color: '#000000' } }),
      });
      const out = await adapter.resolve(match, identity, { accessToken: async () => undefined }, ctx());
      expect(out.outcome).toBe('found');
    }, true);
  });
});

describe('the HTTP JSON adapter: field paths, enum values and request placeholders named like that', () => {
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
  const match = matchUri(acme, 'https://acme.com/items/7');
  if (!match) throw new Error('no match');
  const token = { accessToken: async () => 'upstream-token' };

  it('reads no inherited value through a field path or a template', () => {
    forEveryName((name) => {
      expect(pick({}, name)).toBeUndefined();
      expect(pick({ a: {} }, `a.${name}`)).toBeUndefined();
      expect(pick(withOwn(name, 'own'), name)).toBe('own');
      expect(fillTemplate(`[{${name}}]`, {})).toBe('[]');
    });
  });

  it('fills a request placeholder that names no group with nothing', () => {
    forEveryName((name) => {
      expect(requestUrl('https://api.acme.com/base', `/v1/items/$<itemNo>?of=$<${name}>`, match)).toBe(
        'https://api.acme.com/base/v1/items/7?of=',
      );
      // In the path, nothing is an empty segment: another resource than the mapping's, never fetched.
      expect(requestUrl('https://api.acme.com/base', `/v1/items/$<itemNo>/$<${name}>`, match)).toBeUndefined();
    });
  });

  it('maps an answer whose paths and enum values carry such names as for any unknown field', async () => {
    await forEveryName(async (name) => {
      const mapping = parseHttpJsonMapping({
        request: { path: `/v1/items?of=$<${name}>` },
        title: 'name',
        attributes: [
          { id: 'state', name: 'State', kind: 'enum', value: 'state' },
          { id: 'missing', name: 'Missing', kind: 'plain_text', value: name },
          { id: 'nested', name: 'Nested', kind: 'plain_text', value: `owner.${name}` },
          { id: 'colour', name: 'Colour', kind: 'color', value: name },
        ],
      });
      const urls: string[] = [];
      const adapter = httpJsonAdapter({
        baseUrl: 'https://api.acme.com',
        mapping,
        fetch: answering({ name: 'Widget', state: name, owner: {} }, urls),
      });
      const out = await adapter.resolve(match, identity, token, ctx());
      expect(urls).toEqual(['https://api.acme.com/v1/items?of=']);
      expect(out.outcome).toBe('found');
      if (out.outcome !== 'found') return;
      const attributes = attributesOf(out.model, 'Acme');
      expect(attributes.map((a) => a.id)).toEqual(['title', 'dev', 'state']);
      expect(attributes[2]).toMatchObject({ inline: { enum: { value: name } } });

      const titled = httpJsonAdapter({
        baseUrl: 'https://api.acme.com',
        mapping: parseHttpJsonMapping({ request: { path: '/x' }, title: name }),
        fetch: answering({ name: 'Widget' }),
      });
      await expect(titled.resolve(match, identity, token, ctx())).rejects.toBeInstanceOf(SourceUnavailableError);
    }, true);
  });
});

describe('unfurl rules (UNFURL_RULES): rule names, placeholders and pattern groups named like that', () => {
  it('substitutes a reference to a group that did not match with nothing', () => {
    forEveryName((name) => {
      expect(substitute(`task:$<${name}>`, {})).toBe('task:');
      expect(substituteDeep({ [`$<${name}>`]: `#$<${name}>` }, {})).toEqual({ [`$<${name}>`]: '#' });
    });
  });

  it('captures a group of that name and keeps a placeholder key of that name', () => {
    forEveryName((name) => {
      const integration = parseIntegration({
        domain: 'acme.com',
        rules: [
          {
            name,
            pattern: `^https://acme\\.com/items/(?<${name}>\\d+)$`,
            sampleUrls: ['https://acme.com/items/1'],
            placeholder: [withOwn(name, `#$<${name}>`, { id: 'title' })],
            resource: `item:$<${name}>`,
          },
          {
            name: 'other',
            pattern: '^https://acme\\.com/other/(?<id>\\d+)$',
            sampleUrls: ['https://acme.com/other/1'],
            resource: `other:$<id>$<${name}>`,
          },
        ],
      });
      const m = matchUri(integration, 'https://acme.com/items/42');
      expect(m?.rule.name).toBe(name);
      expect(m?.resourceKey).toBe('item:42');
      expect(Object.hasOwn(m?.groups ?? {}, name)).toBe(true);
      const placeholder = substituteDeep(m?.rule.placeholder, m?.groups ?? {}) as Record<string, unknown>[];
      expect(Object.getPrototypeOf(placeholder[0])).toBe(Object.prototype);
      expect(Object.hasOwn(placeholder[0] ?? {}, name)).toBe(true);
      expect(placeholder[0]?.[name]).toBe('#42');
      expect(matchUri(integration, 'https://acme.com/other/7')?.resourceKey).toBe('other:7');
    });
  });

  it('the simulator matches links the same way', () => {
    forEveryName((name) => {
      const rules = {
        domain: 'acme.com',
        rules: [
          {
            name,
            pattern: `^https://acme\\.com/items/(?<${name}>\\d+)$`,
            placeholder: [withOwn(name, `#$<${name}>`, { id: 'title' })],
          },
        ],
      };
      const m = matchLink(rules, 'https://acme.com/items/42');
      expect(m?.groups[name]).toBe('42');
      if (!m) throw new Error('no match');
      const first = (m.placeholder as Record<string, unknown>[])[0] ?? {};
      expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
      expect(Object.hasOwn(first, name)).toBe(true);
      expect(first[name]).toBe('#42');
    });
  });
});

describe('request parameters: query, form fields, cookies and headers named like that', () => {
  const event = (name: string, withName: boolean) => ({
    version: '2.0',
    routeKey: 'POST /x',
    rawPath: '/x',
    rawQueryString: withName ? `${encodeURIComponent(name)}=q` : 'other=1',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(withName ? withOwn(name.toLowerCase(), 'h') : {}),
    } as Record<string, string>,
    cookies: withName ? [`${name}=c`] : ['other=1'],
    body: withName ? `${encodeURIComponent(name)}=f` : 'other=1',
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/x', sourceIp: '127.0.0.1' }, requestId: 'r' },
  });

  it('are read as sent, and absent ones are undefined (the handlers’ request)', () => {
    forEveryName((name) => {
      const absent = toHttpRequest(event(name, false) as never, { accept: ['form'] });
      expect(absent.query[name]).toBeUndefined();
      expect((absent.body as Record<string, string>)[name]).toBeUndefined();
      expect(absent.cookies[name]).toBeUndefined();
      expect(absent.headers[name.toLowerCase()]).toBeUndefined();
      const present = toHttpRequest(event(name, true) as never, { accept: ['form'] });
      expect(present.query[name]).toBe('q');
      expect(present.repeatedQuery).toEqual([]);
      expect((present.body as Record<string, string>)[name]).toBe('f');
      expect(present.cookies[name]).toBe('c');
      expect(present.headers[name.toLowerCase()]).toBe('h');
      expect(parseCookies(`other=1; ${name}=c`)[name]).toBe('c');
    });
  });

  it('are carried as sent by the local HTTP adapter', () => {
    forEveryName((name) => {
      const lower = name.toLowerCase();
      const { headers } = collectHeaders([name, 'a', name, 'b', 'x-other', '1']);
      expect(Object.hasOwn(headers, lower)).toBe(true);
      expect(headers[lower]).toBe('a,b');
      expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
      const query = queryParameters(`${encodeURIComponent(name)}=1&${encodeURIComponent(name)}=2`);
      expect(Object.hasOwn(query ?? {}, name)).toBe(true);
      expect(query?.[name]).toBe('1,2');
      const response = fromLambdaResult({ statusCode: 200, headers: withOwn(lower, 'v'), body: '' });
      expect(response.headers[lower]).toEqual(['v']);
    });
  });

  it('are ordinary fields of a form the simulator’s browser fills in', () => {
    forEveryName((name) => {
      const html = `<form method="post" action="/login"><input name="${name}" value="preset"><input name="login" ${name}="x"><button type="submit">Go</button></form>`;
      const [form] = parseForms(html, new URL('http://127.0.0.1/'));
      if (!form) throw new Error('no form');
      expect(form.fields).toEqual([
        [name, 'preset'],
        ['login', ''],
      ]);
      expect(fillForm(form, { login: 'alice' }).toString()).toBe(
        new URLSearchParams([
          [name, 'preset'],
          ['login', 'alice'],
        ]).toString(),
      );
      expect(fillForm(form, withOwn(name, 'mine') as Record<string, string>).get(name)).toBe('mine');
    });
  });
});

describe('change events, queue messages and logs with fields named like that', () => {
  it('a change event naming such a field is valid; one carrying such a key is refused by name', () => {
    forEveryName((name) => {
      const ok = parseChangeBody({ resource: 'task:1', changed_at: '2026-01-01T00:00:00Z', fields: [name] });
      expect(ok).toEqual({
        ok: true,
        value: { resource: 'task:1', changed_at: '2026-01-01T00:00:00Z', fields: [name] },
      });
      const extra = parseChangeBody(withOwn(name, 1, { resource: 'task:1', changed_at: '2026-01-01T00:00:00Z' }));
      expect(extra.ok).toBe(false);
      if (!extra.ok) expect(extra.problem).toContain(`"${name}"`);
    });
  });

  it('a dead letter whose reason is such a name is counted under that name', async () => {
    await forEveryName(async (name) => {
      let served = false;
      const sqs = {
        send: async (command: { constructor: { name: string } }) => {
          if (command.constructor.name !== 'ReceiveMessageCommand' || served) return { Messages: [] };
          served = true;
          const body = (reason: string) =>
            JSON.stringify({ type: 'dead-letter', reason, message: { type: 'change', id: 'i', resource: 'task:1' } });
          return {
            Messages: [
              { Body: body(name), ReceiptHandle: 'r1' },
              { Body: body(name), ReceiptHandle: 'r2' },
            ],
          };
        },
      };
      const report = await redriveDeadLetters({
        sqs: sqs as never,
        deadLetterQueueUrl: 'http://127.0.0.1/dlq',
        queueUrl: 'http://127.0.0.1/q',
      });
      expect(report.replayed).toBe(2);
      expect(Object.entries(report.reasons)).toEqual([[name, 2]]);
    }, true);
  });

  it('a queue message attribute of that name reaches the worker as an attribute', () => {
    forEveryName((name) => {
      const message: Message = {
        MessageId: 'm',
        Body: '{}',
        MessageAttributes: withOwn(name, { DataType: 'String', StringValue: 'v' }) as Message['MessageAttributes'],
      };
      const record = toSqsRecord(message, 'arn:aws:sqs:us-east-1:000000000000:q');
      expect(Object.getPrototypeOf(record.messageAttributes)).toBe(Object.prototype);
      expect(Object.hasOwn(record.messageAttributes, name)).toBe(true);
      expect(record.messageAttributes[name]?.stringValue).toBe('v');
    });
  });

  it('a logged or stored object keeps a key of that name as a key', () => {
    forEveryName((name) => {
      const value = withOwn(name, { inner: 'x' }, { plain: 1 });
      for (const copy of [redact(value), stored(value)] as Record<string, unknown>[]) {
        expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
        expect(Object.hasOwn(copy, name)).toBe(true);
        expect(copy[name]).toEqual({ inner: 'x' });
      }
    });
  });
});

describe('the simulator: attribute ids, names, types, kinds and sections named like that', () => {
  const title = { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'T', section: 'title' } } };
  const dev = { id: 'dev', name: 'Dev', type: 'inline', inline: { plain_text: { value: 'D', section: 'secondary' } } };
  const options = { requireTitleAndDev: true, enforceLimits: true };

  it('renders an attribute with such an id or name, and refuses such a type, kind or section with a reason', () => {
    forEveryName((name) => {
      const named = { id: name, name, type: 'inline', inline: { plain_text: { value: name, section: 'body' } } };
      const ok = simulatorValidate([title, dev, named], options);
      expect(ok.ok).toBe(true);
      if (ok.ok) expect(toCard(ok.items).sections.body.map((i) => [i.id, i.text])).toEqual([[name, name]]);

      const bad = [
        { id: 'a', name: 'A', type: name, inline: {} },
        withOwn(name, {}, { id: 'a', name: 'A' }),
        { id: 'a', name: 'A', type: 'inline', inline: withOwn(name, { value: 'v', section: 'body' }) },
        { id: 'a', name: 'A', type: 'inline', inline: { plain_text: { value: 'v', section: name } } },
        { id: 'a', name: 'A', type: 'embed', embed: withOwn(name, { section: 'embed' }, { src_url: 'https://a.b/c' }) },
      ];
      for (const attribute of bad) {
        const result = simulatorValidate([title, dev, attribute], options);
        expect(result.ok).toBe(false);
      }
      // The service's own validation agrees.
      for (const attribute of bad) expect(validateAttributes([attribute]).ok).toBe(false);
    });
  });
});

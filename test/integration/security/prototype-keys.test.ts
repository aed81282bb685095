/**
 * The demo product over real HTTP on 127.0.0.1: a task edit whose form fields
 * (status, priority, assignee) or whose viewer cookie carry a name
 * Object.prototype has is refused like any unknown value, and the task keeps
 * rendering (its page, its card and its JSON for the demo adapter).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { demoProductAdapter } from '#adapters/sources/demo-product.js';
import { noCredentials } from '#core/sources/credentials.js';
import { demoRules, matchUri } from '#core/unfurl/rules.js';
import { DemoProduct } from '#local/demo-product/app.js';
import { testAssertions } from '#test/helpers/assertions.js';

const NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__'])];
const signer = await testAssertions();
let server: Server;
let base: string;
let product: DemoProduct;

beforeAll(async () => {
  server = createServer((req, res) => {
    product.handle(req, res).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  product = new DemoProduct({
    baseUrl: `${base}/demo`,
    serviceIssuer: signer.issuer,
    serviceKeys: signer.verifyKeys,
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const resolveTask1 = () => {
  const adapter = demoProductAdapter({ baseUrl: `${base}/demo`, assertions: signer.assertions });
  const match = matchUri(demoRules(base), `${base}/demo/tasks/1`);
  if (!match) throw new Error('no match');
  const ctx = { signal: AbortSignal.timeout(2000), deadline: Date.now() + 2000 };
  return adapter.resolve(match, { subject: 'u-alice', displayName: 'Alice', connectionId: 'c' }, noCredentials, ctx);
};

describe('demo product edits with prototype names', () => {
  it('ignores a status, priority or assignee named like a prototype property, and keeps rendering', async () => {
    const before = await resolveTask1();
    expect(before.outcome).toBe('found');
    for (const name of NAMES) {
      const edit = await fetch(`${base}/demo/tasks/1`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${name}=u-bob; demo_user=u-alice` },
        body: new URLSearchParams({ status: name, priority: name, assignee: name }).toString(),
        redirect: 'manual',
      });
      expect([edit.status, name]).toEqual([303, name]);
      const page = await fetch(`${base}/demo/tasks/1`, { headers: { cookie: `${name}=x` } });
      expect([page.status, name]).toEqual([200, name]);
      const card = await fetch(`${base}/demo/tasks/1/card`);
      expect([card.status, name]).toEqual([200, name]);
    }
    const after = await resolveTask1();
    expect(after).toEqual(before);
    expect(product.store.list().find((t) => t.id === '1')?.status).toBe('in_progress');
  });
});

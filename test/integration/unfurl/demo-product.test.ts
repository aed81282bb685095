/**
 * The demo product over real HTTP on 127.0.0.1, with the demo source adapter as
 * its client: access rules by subject, service assertions, edits and the
 * task-change hook.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { demoApiAudience, demoProductAdapter } from '#adapters/sources/demo-product.js';
import type { ServiceAssertions } from '#core/sources/assertions.js';
import { noCredentials } from '#core/sources/credentials.js';
import { SourceUnavailableError } from '#core/sources/source-adapter.js';
import { demoRules, matchUri } from '#core/unfurl/rules.js';
import { DemoProduct, type TaskChange } from '#local/demo-product/app.js';
import { testAssertions } from '#test/helpers/assertions.js';

const signer = await testAssertions();
/** The same issuer and kid scheme, another key: what a forger could sign. */
const forger = await testAssertions({ material: 'not-the-signing-key-material-at-all-0123456789' });
let server: Server;
let base: string;
let product: DemoProduct;
const changes: TaskChange[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    product.handle(req, res).catch(() => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  product = new DemoProduct({
    baseUrl: `${base}/demo`,
    serviceIssuer: signer.issuer,
    serviceKeys: signer.verifyKeys,
  });
  product.onTaskChange((c) => {
    changes.push(c);
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const who = (subject: string) => ({ subject, displayName: subject, connectionId: 'c' });
const ctx = () => ({ signal: AbortSignal.timeout(2000), deadline: Date.now() + 2000 });
const resolveAs = (subject: string, id: string, assertions: ServiceAssertions = signer.assertions) => {
  const adapter = demoProductAdapter({ baseUrl: `${base}/demo`, assertions });
  const match = matchUri(demoRules(base), `${base}/demo/tasks/${id}`);
  if (!match) throw new Error('no match');
  return adapter.resolve(match, who(subject), noCredentials, ctx());
};

describe('demo product API with the demo adapter', () => {
  it('applies per-user access rules by subject', async () => {
    expect((await resolveAs('u-bob', '1')).outcome).toBe('found');
    expect((await resolveAs('u-alice', '3')).outcome).toBe('found');
    expect(await resolveAs('u-bob', '3')).toEqual({ outcome: 'forbidden' });
    expect(await resolveAs('u-carol', '5')).toMatchObject({ outcome: 'found' });
    expect(await resolveAs('u-alice', '5')).toEqual({ outcome: 'forbidden' });
    expect(await resolveAs('u-alice', '4')).toEqual({ outcome: 'gone' });
    expect(await resolveAs('u-alice', '999')).toEqual({ outcome: 'not_found' });
  });

  it('refuses a missing, forged or foreign-audience assertion with 401', async () => {
    await expect(resolveAs('u-alice', '1', forger.assertions)).rejects.toBeInstanceOf(SourceUnavailableError);
    expect((await fetch(`${base}/demo/api/tasks/1`)).status).toBe(401);
    const sign = (aud: string, sub: string) => signer.assertions.sign(sub, aud);
    const get = async (token: string) =>
      (await fetch(`${base}/demo/api/tasks/1`, { headers: { authorization: `Bearer ${token}` } })).status;
    expect(await get(await sign('https://elsewhere.test/api', 'u-alice'))).toBe(401);
    expect(await get(await sign(demoApiAudience(`${base}/demo`), 'u-mallory'))).toBe(401);
    expect(await get(await sign(demoApiAudience(`${base}/demo`), 'u-alice'))).toBe(200);
  });

  it('edits through the form change the task, reach the change hook and show in the next preview', async () => {
    const cookie = (await fetch(`${base}/demo/as/alice`, { redirect: 'manual' })).headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const r = await fetch(`${base}/demo/tasks/1`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ title: 'Renamed <b>task</b>', status: 'done', due: 'not-a-date' }).toString(),
    });
    expect(r.status).toBe(303);
    expect(changes.at(-1)).toMatchObject({
      resource: 'task:1',
      taskId: '1',
      url: `${base}/demo/tasks/1`,
      fields: ['title', 'status'],
      editor: 'u-alice',
    });
    const page = await (await fetch(`${base}/demo/tasks/1`, { headers: { cookie } })).text();
    expect(page).toContain('Renamed &#60;b&#62;task&#60;&#47;b&#62;');
    expect(page).not.toContain('<b>task</b>');
    const out = await resolveAs('u-bob', '1');
    expect(out.outcome === 'found' && out.model.title).toBe('Renamed <b>task</b>');
    const log = (await (await fetch(`${base}/demo/api/changes`)).json()) as { changes: TaskChange[] };
    expect(log.changes.at(-1)?.fields).toEqual(['title', 'status']);
  });

  it('refuses cross-origin edits and edits of tasks the user may not see', async () => {
    const before = changes.length;
    const cross = await fetch(`${base}/demo/tasks/2`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.test' },
      body: 'title=pwned',
    });
    expect(cross.status).toBe(403);
    // A sandboxed frame or a data: page of another site posts with `Origin: null`.
    const sandboxed = await fetch(`${base}/demo/tasks/2`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
      body: 'title=pwned',
    });
    expect(sandboxed.status).toBe(403);
    const bobCookie = (await fetch(`${base}/demo/as/bob`, { redirect: 'manual' })).headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const hidden = await fetch(`${base}/demo/tasks/3`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: bobCookie },
      body: 'title=mine',
    });
    expect(hidden.status).toBe(403);
    expect(changes.length).toBe(before);
  });

  it('refuses a cross-origin post that switches the outage, and takes a same-origin one', async () => {
    const outage = (origin: string | undefined, mode: string) =>
      fetch(`${base}/demo/outage`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(origin === undefined ? {} : { origin }),
        },
        body: `mode=${mode}`,
      });
    const stats = async () => ((await (await fetch(`${base}/demo/api/stats`)).json()) as { outage: string }).outage;
    expect((await outage('https://evil.test', 'down')).status).toBe(403);
    expect((await outage('null', 'down')).status).toBe(403);
    expect(await stats()).toBe('up');
    expect((await outage(base, 'slow')).status).toBe(303);
    expect(await stats()).toBe('slow');
    expect((await outage(undefined, 'up')).status).toBe(303);
    expect(await stats()).toBe('up');
  });

  it('serves embeds of public tasks only', async () => {
    expect((await fetch(`${base}/demo/assets/tasks/1.svg`)).headers.get('content-type')).toBe('image/svg+xml');
    expect((await fetch(`${base}/demo/assets/tasks/3.svg`)).status).toBe(404);
    expect((await fetch(`${base}/demo/tasks/2/card`)).status).toBe(200);
    expect((await fetch(`${base}/demo/tasks/3/card`)).status).toBe(404);
    const pdf = Buffer.from(await (await fetch(`${base}/demo/assets/plan.pdf`)).arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const wav = Buffer.from(await (await fetch(`${base}/demo/assets/chime.wav`)).arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
  });
});

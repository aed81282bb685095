/**
 * The playground as one person uses it, against the whole local system:
 * each browser session sees only its own protocol log, a user who declined
 * can connect again at once, a pushed update brings a new picture along with
 * the new text, and a PDF embed is served from the playground as a checked PDF.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NotionDriver } from '#local/notion-simulator/driver.js';
import type { LogEntry } from '#local/notion-simulator/protocol-log.js';
import type { NotionSimulator } from '#local/notion-simulator/simulator.js';
import { SESSION_COOKIE } from '#local/notion-simulator/simulator.js';
import type { LocalSystem } from '#local/system.js';
import {
  demoTaskUrl,
  editDemoTask,
  openDriver,
  pushPdfEmbed,
  startSystemWithSimulator,
} from '#test/helpers/playground.js';
import { createWebhookPublisher } from '../../../functions/publish/index.js';

let system: LocalSystem;
let sim: NotionSimulator;

beforeAll(async () => {
  ({ system, sim } = await startSystemWithSimulator());
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const taskUrl = (id: number) => demoTaskUrl(system, id);
const cookieOf = (driver: NotionDriver) => driver.jar.header(new URL(`${system.baseUrl}/`)) ?? '';
const sessionIdOf = (driver: NotionDriver) => new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(cookieOf(driver))?.[1] ?? '';

/** The protocol log a browser session is shown when it opens the playground (the `log-reset` event). */
const browserLog = async (cookie: string): Promise<LogEntry[]> => {
  const abort = new AbortController();
  const res = await fetch(`${system.baseUrl}/playground/events`, { headers: { cookie }, signal: abort.signal });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const m = /event: log-reset\ndata: (.*)\n\n/.exec(text);
      if (m) return JSON.parse(m[1] as string) as LogEntry[];
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended before its log');
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    abort.abort();
  }
};

const publish = (resource: string) =>
  createWebhookPublisher({
    url: `${system.baseUrl}/changes`,
    secret: system.env.CHANGES_WEBHOOK_SECRET as string,
  }).publish({ resource, fields: ['title'] });

describe('each browser session sees its own protocol log', () => {
  it('two users’ logs are disjoint; token exchanges and the worker’s PATCH go to the session they concern', async () => {
    const alice = await openDriver(system);
    const bob = await openDriver(system, { login: 'bob', password: 'bob-password', decision: 'allow' });
    expect((await alice.paste(taskUrl(1))).state).toBe('card');
    expect((await bob.paste(taskUrl(2))).state).toBe('card');
    const aliceId = sessionIdOf(alice);
    const bobId = sessionIdOf(bob);

    // The worker pushes task 1 to alice's connection only.
    const title = `Log owner ${Date.now()}`;
    await editDemoTask(system, 1, title);
    await publish('task:1');
    await alice.waitFor((s) => s.previews.some((p) => p.card?.title === title), 15_000);
    await sim.waitForLog((e) => e.method === 'PATCH' && e.sessionId === aliceId && e.status === 200);

    const aliceLog = await browserLog(cookieOf(alice));
    const bobLog = await browserLog(cookieOf(bob));
    const aliceSeqs = new Set(aliceLog.map((e) => e.seq));
    expect(bobLog.filter((e) => aliceSeqs.has(e.seq))).toEqual([]);
    expect(aliceLog.every((e) => e.sessionId === aliceId)).toBe(true);
    expect(bobLog.every((e) => e.sessionId === bobId)).toBe(true);

    // Notion's /v1/oauth/token receipt (the service exchanging Notion's code) is in its user's log only.
    const exchange = (log: LogEntry[]) =>
      log.filter((e) => e.direction === 'to-notion' && e.url?.endsWith('/v1/oauth/token') === true);
    expect(exchange(aliceLog)).toHaveLength(1);
    expect(exchange(bobLog)).toHaveLength(1);
    expect(exchange(aliceLog)[0]?.seq).not.toBe(exchange(bobLog)[0]?.seq);
    // The worker's PATCH to alice's connection is alice's, not bob's.
    expect(aliceLog.some((e) => e.method === 'PATCH' && e.status === 200)).toBe(true);
    expect(bobLog.some((e) => e.method === 'PATCH')).toBe(false);
  }, 30_000);

  it('a push with a token Notion already revoked is shown to the user it belonged to', async () => {
    const { connectionId, accessToken, sessionId } = sim.createConnection({ key: `u-revoked-${Date.now()}` });
    sim.revokeConnection(connectionId);
    const res = await fetch(`${system.baseUrl}/notion/v1/external/object`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json',
        'notion-version': '2021-08-16',
      },
      body: JSON.stringify({ uri: taskUrl(1), operations: [] }),
    });
    expect(res.status).toBe(401);
    const entry = await sim.waitForLog((e) => e.method === 'PATCH' && e.status === 401 && e.sessionId === sessionId);
    expect(entry.sessionId).toBe(sessionId);
    const other = await openDriver(system);
    expect((await browserLog(cookieOf(other))).some((e) => e.seq === entry.seq)).toBe(false);
  }, 20_000);
});

describe('Deny is not sticky', () => {
  it('a user who pressed Deny connects at once by pressing Connect again', async () => {
    const carol = await openDriver(system, { login: 'carol', password: 'carol-password', decision: 'deny' });
    const preview = await carol.paste(taskUrl(1));
    expect(preview.state).toBe('needs-auth');
    let state = await carol.state();
    expect(state.connected).toBe(false);
    expect(state.declined).toBe(true);
    expect(state.lastAuthError).toContain('access_denied');

    // Pressing Connect again, and this time allowing: asked again, connected, card shown.
    await carol.signIn({ decision: 'allow' });
    state = await carol.state();
    expect(state.connected).toBe(true);
    expect(state.declined).toBe(false);
    expect(state.previews.find((p) => p.id === preview.id)?.state).toBe('card');
  }, 30_000);

  it('another browser of the same user is asked too, not refused', async () => {
    const first = await openDriver(system, { login: 'bob', password: 'bob-password', decision: 'deny' });
    await first.paste(taskUrl(2));
    expect((await first.state()).declined).toBe(true);
    const second = await openDriver(system, { login: 'bob', password: 'bob-password', decision: 'allow' });
    expect((await second.paste(taskUrl(2))).state).toBe('card');
  }, 30_000);
});

describe('pushed updates bring their media along', () => {
  it('the image URL changes with the task, and the new URL serves the new title', async () => {
    const alice = await openDriver(system);
    const preview = await alice.paste(taskUrl(1));
    const imageOf = (p: { card?: { sections: { embed?: readonly { kind: string; src?: string }[] } } }) =>
      p.card?.sections.embed?.find((i) => i.kind === 'image')?.src;
    const before = imageOf(preview);
    expect(before).toMatch(/\/demo\/assets\/tasks\/1\.svg\?v=[\w-]{12}$/);

    const title = `New picture ${Date.now()}`;
    await editDemoTask(system, 1, title);
    await publish('task:1');
    const state = await alice.waitFor(
      (s) => s.previews.some((p) => p.id === preview.id && p.card?.title === title),
      15_000,
    );
    const after = imageOf(state.previews.find((p) => p.id === preview.id) as (typeof state.previews)[number]);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const svg = await (await fetch(after as string)).text();
    expect(svg).toContain(title.slice(0, 40));
  }, 30_000);

  it('an edit the picture does not show keeps its URL (no needless reload)', async () => {
    const { taskMediaVersion } = await import('#local/demo-product/tasks.js');
    const task = {
      id: '1',
      title: 'T',
      status: 'todo' as const,
      assignee: null,
      due: null,
      priority: 'low' as const,
      description: 'd',
      embed: null,
      visibleTo: 'everyone' as const,
      archived: false,
      updatedAt: 0,
    };
    const v = taskMediaVersion(task);
    expect(taskMediaVersion({ ...task, priority: 'high', assignee: 'u-bob', updatedAt: 5 })).toBe(v);
    expect(taskMediaVersion({ ...task, title: 'U' })).not.toBe(v);
    expect(taskMediaVersion({ ...task, status: 'done' })).not.toBe(v);
  });
});

describe('PDF embeds', () => {
  it('are served from the playground as a checked PDF, only for a PDF the session’s preview shows', async () => {
    const bob = await openDriver(system, { login: 'bob', password: 'bob-password', decision: 'allow' });
    const preview = await bob.paste(taskUrl(5));
    expect(preview.state).toBe('card');
    const src = preview.card?.sections.embed?.find((i) => i.kind === 'pdf')?.src as string;
    expect(src).toBe(`${system.baseUrl}/demo/assets/plan.pdf`);
    const pdfUrl = (id: string, s: string) =>
      `${system.baseUrl}/playground/previews/${id}/pdf?src=${encodeURIComponent(s)}`;

    const res = await fetch(pdfUrl(preview.id, src), { headers: { cookie: cookieOf(bob) } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(
      Buffer.from(await res.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');

    // Not an open proxy: another URL, or another session, gets nothing fetched.
    const other = await fetch(pdfUrl(preview.id, `${system.baseUrl}/demo/tasks/2/card`), {
      headers: { cookie: cookieOf(bob) },
    });
    expect(other.status).toBe(404);
    const alice = await openDriver(system);
    expect((await fetch(pdfUrl(preview.id, src), { headers: { cookie: cookieOf(alice) } })).status).toBe(404);
  }, 30_000);

  it('refuses to serve a "pdf" that is an HTML page', async () => {
    const { connectionId, accessToken, sessionId } = sim.createConnection({ key: `u-pdf-${Date.now()}` });
    const uri = `${taskUrl(2)}#html-as-pdf`;
    const preview = sim.addPreview(connectionId, uri);
    const html = `${system.baseUrl}/demo/tasks/2/card`;
    const patch = await pushPdfEmbed(system, { accessToken, uri, title: 'HTML', src: html });
    expect(patch.status).toBe(200);
    const res = await fetch(`${system.baseUrl}/playground/previews/${preview.id}/pdf?src=${encodeURIComponent(html)}`, {
      headers: { cookie: `${SESSION_COOKIE}=${sessionId}` },
    });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toContain('not application/pdf');
  }, 20_000);
});

/**
 * The playground in a real browser (Debian's chromium through playwright-core):
 * paste a link, see the placeholder, connect, sign in at the local IdP, allow
 * on the service's consent page, and see the card rendered from the service's
 * answer. Saves screenshots under test/e2e/artifacts/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { NotionSimulator } from '#local/notion-simulator/simulator.js';
import type { LocalSystem } from '#local/system.js';
import { demoTaskUrl, editDemoTask, pushPdfEmbed, startSystemWithSimulator } from '#test/helpers/playground.js';
import { createWebhookPublisher } from '../../functions/publish/index.js';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let system: LocalSystem;
let sim: NotionSimulator;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  ({ system, sim } = await startSystemWithSimulator());
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

const taskUrl = (id: number) => demoTaskUrl(system, id);
const editTask = (id: number, title: string) => editDemoTask(system, id, title);

describe('playground in a browser', () => {
  it('goes from placeholder through sign-in and consent to the card', async () => {
    await page.goto(`${system.baseUrl}/`);
    await page.fill('#link', taskUrl(1));
    await page.click('#paste-button');
    await expect(page.locator('[data-testid=placeholder-card] .card-title').textContent()).resolves.toBe('Task #1');
    await page
      .locator('[data-preview-id]')
      .first()
      .screenshot({ path: join(ARTIFACTS, 'placeholder.png') });
    await page.click('[data-action=connect]');

    // The local IdP's login form, then the service's consent page.
    await page.waitForSelector('input[name=login]');
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', 'alice-password');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    const allow = page.locator('button[name=decision][value=allow]');
    if (await allow.count()) await Promise.all([page.waitForURL(`${system.baseUrl}/`), allow.click()]);

    await page.waitForURL(`${system.baseUrl}/`);
    const card = page.locator('[data-testid=card]').first();
    await card.waitFor();
    const title = await card.locator('.card-title').textContent();
    expect(title).toBeTruthy();
    expect(title).not.toBe('Task #1');
    await expect(page.locator('#connection-status').textContent()).resolves.toBe('Connected');
    // One unfurl for one paste: the sign-in's return unfurls it, and the page it lands on is no revisit.
    expect(page.url()).toBe(`${system.baseUrl}/`);
    const state = (await page.evaluate(() => fetch('/playground/state').then((r) => r.json()))) as {
      previews: Array<{ unfurls: number }>;
    };
    expect(state.previews.map((p) => p.unfurls)).toEqual([1]);
    await card.screenshot({ path: join(ARTIFACTS, 'card.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png'), fullPage: true });

    // The mention form of the same preview.
    await page.click('[data-action=toggle-form]');
    await expect(page.locator('[data-testid=mention] .mention-title').textContent()).resolves.toBe(title);
    await page
      .locator('[data-testid=mention]')
      .first()
      .screenshot({ path: join(ARTIFACTS, 'mention.png') });
    await page.click('[data-action=toggle-form]');

    // The protocol log shows both directions with tokens redacted.
    const log = (await page.locator('#log').textContent()) ?? '';
    expect(log).toContain('Notion → service');
    expect(log).toContain('service → Notion');
    await page
      .locator('#log li details')
      .first()
      .evaluate((d) => ((d as HTMLDetailsElement).open = true));
    const session = [...sim.log.all()].reverse().find((e) => e.summary.startsWith('Token request'));
    expect(session).toBeDefined();
    const html = await page.content();
    for (const s of [system.env.OAUTH_CLIENT_SECRET, system.env.NOTION_CLIENT_SECRET])
      expect(html).not.toContain(s as string);
  }, 30_000);

  it('shows an update the service pushes without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const imageSrc = () => page.locator('[data-testid=card] [data-section=embed] img').first().getAttribute('src');
    const before = await imageSrc();
    expect(before).toMatch(/\/demo\/assets\/tasks\/1\.svg\?v=/);
    const title = `Pushed ${Date.now()}`;
    await editTask(1, title);
    const publisher = createWebhookPublisher({
      url: `${system.baseUrl}/changes`,
      secret: system.env.CHANGES_WEBHOOK_SECRET as string,
    });
    await publisher.publish({ resource: 'task:1', fields: ['title'] });
    await page.waitForFunction(
      (text) => [...document.querySelectorAll('[data-testid=card] .card-title')].some((n) => n.textContent === text),
      title,
      { timeout: 15_000 },
    );
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // The picture follows the text: a new URL, loaded, drawn from the new title.
    const after = await imageSrc();
    expect(after).not.toBe(before);
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid=card] [data-section=embed] img') as HTMLImageElement | null)?.complete,
    );
    expect(await (await fetch(after as string)).text()).toContain(title);
    await page
      .locator('[data-testid=card]')
      .first()
      .screenshot({ path: join(ARTIFACTS, 'card-updated.png') });
  }, 25_000);

  it('renders the service’s data as text, never as markup', async () => {
    // Rename the task in the demo product to markup, then revisit the page.
    const markup = '<img src=x onerror="document.title=\'pwned\'"><b>bold</b>';
    await editTask(1, markup);
    await page.reload();
    await page.waitForFunction(
      (text) => [...document.querySelectorAll('[data-testid=card] .card-title')].some((n) => n.textContent === text),
      markup,
    );
    expect(await page.locator('[data-testid=card] img[src=x]').count()).toBe(0);
    expect(await page.locator('[data-testid=card] b').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');
  }, 20_000);

  it('renders image, audio and sandboxed iframe embeds in the embed section', async () => {
    for (const id of [2, 6]) {
      await page.fill('#link', taskUrl(id));
      await page.click('#paste-button');
    }
    const embed = (id: number, tag: string) =>
      page.locator(`[data-preview-id]:has(.uri[title="${taskUrl(id)}"]) [data-section=embed] ${tag}`).first();
    await embed(1, 'img').waitFor({ state: 'attached' });
    await embed(6, 'audio').waitFor({ state: 'attached' });
    await embed(2, 'iframe').waitFor({ state: 'attached' });
    expect(await embed(6, 'audio').getAttribute('src')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/demo\//);
    // An html embed may run script but never with this page's origin.
    expect(await embed(2, 'iframe').getAttribute('sandbox')).toBe('allow-scripts allow-forms allow-popups');
    await page.screenshot({ path: join(ARTIFACTS, 'embeds.png'), fullPage: true });
  }, 20_000);

  it('renders a pdf embed in Chromium’s PDF viewer (served checked, so without a sandbox)', async () => {
    // Task 5's PDF is bob's and carol's; alice's connection gets a pdf embed pushed for task 6 instead.
    const uri = taskUrl(6);
    const connection = sim.connectionByExternalKey('u-alice');
    expect(connection).toBeDefined();
    const pdf = `${system.baseUrl}/demo/assets/plan.pdf`;
    const res = await pushPdfEmbed(system, {
      accessToken: connection?.accessToken ?? '',
      uri,
      title: 'Plan',
      src: pdf,
    });
    expect(res.status).toBe(200);
    const frame = page.locator(`[data-preview-id]:has(.uri[title="${uri}"]) [data-section=embed] iframe.pdf`).first();
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBeNull();
    expect(await frame.getAttribute('data-src')).toBe(pdf);
    await frame.scrollIntoViewIfNeeded();
    // Chromium's viewer runs as its own extension frame; a blocked plugin shows chrome-error instead.
    const viewer = async () => page.frames().some((f) => f.url().startsWith('chrome-extension://'));
    const deadline = Date.now() + 10_000;
    while (!(await viewer()) && Date.now() < deadline) await page.waitForTimeout(100);
    expect(await viewer()).toBe(true);
    expect(page.frames().some((f) => f.url().startsWith('chrome-error://'))).toBe(false);
    await page.waitForTimeout(2000); // the viewer draws the page after it attached
    await frame.screenshot({ path: join(ARTIFACTS, 'pdf-embed.png') });
  }, 20_000);

  it('removes a preview and disconnects', async () => {
    const before = await page.locator('[data-preview-id]').count();
    await page.locator('[data-action=remove]').first().click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-preview-id]').length === n - 1, before);
    await page.fill('#link', taskUrl(2));
    await page.click('#paste-button');
    await page.locator('[data-testid=card]').first().waitFor();
    await page.click('#disconnect');
    await page.waitForFunction(() => document.getElementById('connection-status')?.textContent === 'Not connected');
    await expect(page.locator('.stale-note').first().textContent()).resolves.toContain('no longer updates');
  }, 20_000);

  it('met no Content-Security-Policy violation and no script error', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

/**
 * The 2,000-character text limit as the service and the simulator count it together
 * (docs/protocol.md#decisions, ADR 0148): a task description of 1,500 emoji is 1,500 code points
 * but 3,000 UTF-16 units. The service trims it to 2,000 units (1,000 emoji) and the simulator,
 * which counts JavaScript string length, renders it, on the first unfurl and on a pushed update.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Preview } from '#local/notion-simulator/world.js';
import type { LocalSystem } from '#local/system.js';
import { demoTaskUrl, editDemoTask, openDriver, startSystemWithSimulator } from '#test/helpers/playground.js';

let system: LocalSystem;

beforeAll(async () => {
  ({ system } = await startSystemWithSimulator());
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const description = (preview: Preview | undefined): string | undefined =>
  preview?.card?.items.find((i) => i.id === 'description')?.text;

describe('long emoji text through the service and the simulator', () => {
  it('unfurls a 1,500-emoji description as a card with the first 1,000, and pushes an edit of it', async () => {
    await editDemoTask(system, 2, { description: '😀'.repeat(1500) });
    const driver = await openDriver(system);
    const preview = await driver.paste(demoTaskUrl(system, 2));
    expect(preview.validationError).toBeUndefined();
    expect(preview.state).toBe('card');
    expect(description(preview)).toBe('😀'.repeat(1000));

    // An edit is pushed with PATCH /v1/external/object: the simulator accepts it (no 400 validation_error).
    // One ASCII letter first puts a surrogate pair across the limit: the service keeps the pair whole.
    await editDemoTask(system, 2, { description: `a${'😃'.repeat(1500)}` });
    const updated = await driver.waitFor((s) => {
      const p = s.previews.find((x) => x.id === preview.id);
      return p?.validationError !== undefined || description(p)?.startsWith('a') === true;
    }, 15_000);
    const pushed = updated.previews.find((p) => p.id === preview.id);
    expect(pushed?.validationError).toBeUndefined();
    expect(description(pushed)).toBe(`a${'😃'.repeat(999)}`);
    expect(pushed?.updates).toBeGreaterThan(0);
  }, 30_000);
});

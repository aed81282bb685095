/**
 * Deferred pushes go back on the queue as `push` messages: at most one page of targets each, and
 * never more than SQS takes in one message, however long and non-ASCII the links are.
 */
import { describe, expect, it } from '@jest/globals';
import { MemoryUpdateQueue } from '#adapters/memory/update-queue.js';
import { newBatch } from '#core/updates/batch.js';
import { defer, pushChunks, sendDeferred } from '#core/updates/defer.js';
import { DEFAULT_WORKER_SETTINGS } from '#core/updates/deps.js';
import type { PushMessage, PushTarget } from '#core/updates/messages.js';

const settings = DEFAULT_WORKER_SETTINGS;
const item = { resource: 'task:1', window: 'w'.repeat(2_000) };

const sendAll = async (targets: readonly PushTarget[]): Promise<PushMessage[]> => {
  const queue = new MemoryUpdateQueue();
  const state = newBatch({ messageId: 'm', receiveCount: 1 }, { tokenFirst: false });
  for (const target of targets) defer(state, target, 5_000);
  await sendDeferred({ queue, settings }, state, item);
  expect(queue.messages.every((m) => m.delaySeconds === 5)).toBe(true);
  return queue.events<PushMessage>();
};

describe('deferred pushes as queue messages', () => {
  it('short links: a page of targets per message, in order', async () => {
    const targets = Array.from({ length: 120 }, (_, i) => ({
      connectionId: `c${i}`,
      uri: `https://acme.example/t/${i}`,
    }));
    const messages = await sendAll(targets);
    expect(messages.map((m) => m.targets.length)).toEqual([50, 50, 20]);
    expect(messages.flatMap((m) => m.targets)).toEqual(targets);
  });

  it('a page of the longest non-ASCII links is split so each message stays within 256 KiB', async () => {
    // 2,000 UTF-16 units each: BMP characters (3 bytes in UTF-8) and emoji (escaped for SQS as 12 bytes).
    const targets = Array.from({ length: 50 }, (_, i) => ({
      connectionId: `${'é'.repeat(1_990)}${String(i).padStart(10, '0')}`,
      uri: `https://acme.example/${i % 2 ? '€'.repeat(1_970) : '😀'.repeat(985)}`,
      attempt: 2,
      limited: 1,
    }));
    const messages = await sendAll(targets);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.flatMap((m) => m.targets)).toEqual(targets);
  });

  it('pushChunks never leaves a target out or makes an empty message', () => {
    const targets = Array.from({ length: 7 }, (_, i) => ({ connectionId: 'c', uri: 'u'.repeat(1 + i * 300) }));
    for (const size of [1, 2, 3, 50]) {
      const chunks = pushChunks(targets, size);
      expect(chunks.flat()).toEqual(targets);
      expect(chunks.every((c) => c.length > 0 && c.length <= size)).toBe(true);
    }
  });
});

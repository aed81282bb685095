/**
 * The service's HTTP clients read an answer's body only up to a size: an oversized or endless body is
 * cut off, not buffered, and the answer still counts by its status.
 */
import { describe, expect, it } from '@jest/globals';
import { createExternalObjectClient } from '#adapters/notion/external-object.js';
import { readBoundedText } from '#shared/bounded-body.js';

/** A body of `chunks` chunks of 16 KiB (endless when undefined), counting what was pulled. */
const streamed = (chunks?: number): { body: ReadableStream<Uint8Array>; pulled: () => number } => {
  let pulled = 0;
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (chunks !== undefined && pulled >= chunks) return controller.close();
      pulled++;
      controller.enqueue(chunk);
    },
  });
  return { body, pulled: () => pulled };
};

describe('readBoundedText', () => {
  it('reads a body within the limit, multi-byte characters split across chunks included', async () => {
    const bytes = new TextEncoder().encode('{"é":"😀"}');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    expect(await readBoundedText(new Response(body), 100)).toEqual({ kind: 'text', text: '{"é":"😀"}' });
    expect(await readBoundedText(new Response(null, { status: 204 }), 100)).toEqual({ kind: 'text', text: '' });
  });

  it('stops at the limit: an endless body is cancelled after about the limit', async () => {
    const { body, pulled } = streamed();
    expect(await readBoundedText(new Response(body), 64 * 1024)).toEqual({ kind: 'too_large' });
    expect(pulled()).toBeLessThanOrEqual(64 / 16 + 2);
  });

  it('refuses a declared content-length over the limit before reading', async () => {
    const { body, pulled } = streamed(100);
    const response = new Response(body, { headers: { 'content-length': String(100 * 16 * 1024) } });
    expect(await readBoundedText(response, 64 * 1024)).toEqual({ kind: 'too_large' });
    expect(pulled()).toBeLessThanOrEqual(1);
  });
});

describe("Notion's answer to a push", () => {
  it('an endless error body is cut off and the answer still counts by its status and Retry-After', async () => {
    const { body, pulled } = streamed();
    const client = createExternalObjectClient({
      baseUrl: 'https://api.notion.example',
      notionVersion: '2022-06-28',
      timeoutMs: 60_000,
      fetch: async () => new Response(body, { status: 429, headers: { 'retry-after': '7' } }),
    });
    const answer = await client.patch('token', { uri: 'https://acme.example/t/1', operations: [] });
    expect(answer).toEqual({ kind: 'response', status: 429, retryAfterSeconds: 7 });
    expect(pulled()).toBeLessThanOrEqual(64 / 16 + 2);
  });
});

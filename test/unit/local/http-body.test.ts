import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { BodyTooLargeError, readBody } from '#local/http-body.js';
import { filesMatching } from '#test/helpers/source-tree.js';

/** A request stream of the given chunks, with the given headers. */
const requestOf = (chunks: readonly string[], headers: Record<string, string> = {}): IncomingMessage =>
  Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers }) as unknown as IncomingMessage;

describe('readBody', () => {
  it('reads a body up to the limit, as sent', async () => {
    expect((await readBody(requestOf(['a=1', '&b=', 'é']), 9)).toString('utf8')).toBe('a=1&b=é');
    expect(await readBody(requestOf([]), 0)).toEqual(Buffer.alloc(0));
  });

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const req = requestOf(['x'], { 'content-length': '100' });
    await expect(readBody(req, 99)).rejects.toThrow(BodyTooLargeError);
    expect(req.readableFlowing).toBeNull();
  });

  it('refuses a body that grows over the limit without a declared length', async () => {
    const error = await readBody(requestOf(Array.from({ length: 10 }, () => 'x'.repeat(10))), 50).catch((e) => e);
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect((error as BodyTooLargeError).limit).toBe(50);
  });

  it('passes on a stream error', async () => {
    const req = Object.assign(
      new Readable({
        read() {
          this.destroy(new Error('reset'));
        },
      }),
      { headers: {} },
    ) as unknown as IncomingMessage;
    await expect(readBody(req, 10)).rejects.toThrow('reset');
  });

  it('is defined once in the tree, and every local part uses it', () => {
    expect(filesMatching(/\b(const|function)\s+readBody\b|\bclass\s+BodyTooLargeError\b/)).toEqual([
      'local/http-body.ts',
    ]);
    // Nobody collects a request's chunks by hand any more.
    expect(filesMatching(/for await \(const \w+ of req\)|req\.on\('data'/)).toEqual(['local/http-body.ts']);
    expect(filesMatching(/from '(#local|\.|\.\.)\/http-body\.js'/)).toEqual([
      'local/demo-product/app.ts',
      'local/idp/mount.ts',
      'local/notion-simulator/api.ts',
      'local/notion-simulator/simulator.ts',
      'local/server.ts',
    ]);
  });
});

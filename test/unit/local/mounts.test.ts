import { describe, expect, it } from '@jest/globals';
import type { LocalMount } from '#local/mount.js';
import { isMissingModule, type MountEntry, startMounts } from '#local/mounts.js';

const context = { baseUrl: 'http://127.0.0.1:3000', env: {} };

const mount = (name: string, closed: string[]): LocalMount => ({
  name,
  prefix: `/${name}`,
  handle: async () => undefined,
  close: async () => {
    closed.push(name);
  },
});

const missing = (specifier: string, code = 'ERR_MODULE_NOT_FOUND') =>
  Object.assign(
    new Error(`Cannot find module '/repo/local/${specifier.replace('./', '')}' imported from /repo/local/mounts.ts`),
    { code },
  );

describe('mount list', () => {
  it('recognises only the entry module itself as missing', () => {
    expect(isMissingModule(missing('./idp/mount.ts'), './idp/mount.js')).toBe(true);
    expect(
      isMissingModule(
        Object.assign(new Error("Cannot find module './idp/mount.js' from 'local/mounts.ts'"), {
          code: 'MODULE_NOT_FOUND',
        }),
        './idp/mount.js',
      ),
    ).toBe(true);
    // A dependency of the module is missing: that is a real error.
    expect(isMissingModule(missing('./idp/helpers.ts'), './idp/mount.js')).toBe(false);
    expect(isMissingModule(new Error("Cannot find module '/repo/local/idp/mount.ts'"), './idp/mount.js')).toBe(false);
    expect(isMissingModule(new SyntaxError('Unexpected token'), './idp/mount.js')).toBe(false);
  });

  it('skips a missing part with a warning and starts the others', async () => {
    const closed: string[] = [];
    const warnings: string[] = [];
    const entries: MountEntry[] = [
      {
        name: 'idp',
        prefix: '/idp',
        module: './idp/mount.js',
        load: async () => Promise.reject(missing('./idp/mount.ts')),
      },
      { name: 'demo', prefix: '/demo', module: './demo/mount.js', load: async () => async () => mount('demo', closed) },
    ];
    const { mounts, skipped } = await startMounts(entries, context, (w) => warnings.push(w));
    expect(mounts.map((m) => m.name)).toEqual(['demo']);
    expect(skipped.map((s) => s.name)).toEqual(['idp']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('./idp/mount.js');
  });

  it('fails loudly on any other error and closes what already started', async () => {
    const closed: string[] = [];
    const entries: MountEntry[] = [
      { name: 'a', prefix: '/a', module: './a.js', load: async () => async () => mount('a', closed) },
      { name: 'b', prefix: '/b', module: './b.js', load: async () => async () => Promise.reject(new Error('boom')) },
    ];
    await expect(startMounts(entries, context, () => undefined)).rejects.toThrow('boom');
    expect(closed).toEqual(['a']);
  });

  it('fails when a module exports no factory', async () => {
    const entries = [
      { name: 'x', prefix: '/x', module: './x.js', load: async () => undefined },
    ] as unknown as MountEntry[];
    await expect(startMounts(entries, context, () => undefined)).rejects.toThrow(TypeError);
  });
});

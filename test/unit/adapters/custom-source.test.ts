/**
 * A source adapter of a team's own: its declaration (defineSourceAdapter),
 * how a module's exports name it, its registration next to the built-in ones,
 * and the stack's checks of the `source` prop against what it declares.
 */
import { describe, expect, it } from '@jest/globals';
import {
  createSourceAdapter,
  defineSourceAdapter,
  isSourceAdapterDefinition,
  type SourceAdapterDefinition,
  sourceAdapterOfModule,
} from '#adapters/sources/define.js';
import { registerSourceAdapter, sourceAdapterFromConfig, sourceDefinition } from '#adapters/sources/registry.js';
import { type CustomSourceProps, checkCustomSource, withCustomSource } from '#lib/custom-source.js';
import { readStageConfig } from '#lib/stage-config.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const acme = defineSourceAdapter({
  name: 'acme',
  description: 'Acme tickets',
  settings: {
    ACME_API_URL: { description: 'Base URL.', required: true, context: 'acmeApiUrl' },
    ACME_TOKEN_SECRET_ARN: { description: 'Secret of the token.' },
  },
  needs: {
    secrets: ['ACME_TOKEN_SECRET_ARN'],
    grants: { attachments: { actions: ['s3:GetObject'], description: 'Reads attachments.' } },
  },
  create: ({ settings }) => ({
    name: 'acme',
    resolve: async () => ({ outcome: 'found', model: { title: settings.ACME_API_URL ?? '', attributes: [] } }),
  }),
});

describe('defineSourceAdapter and a module of its own', () => {
  it('marks the declaration, and refuses a name SOURCE_ADAPTER could not carry', () => {
    expect(isSourceAdapterDefinition(acme)).toBe(true);
    expect(isSourceAdapterDefinition({ ...acme })).toBe(false);
    expect(() => defineSourceAdapter({ ...acme, name: 'Acme Tickets' })).toThrow(ConfigError);
  });

  it("takes the module's default export, else its one declared export, and names the module otherwise", () => {
    expect(sourceAdapterOfModule({ default: acme, other: 1 }, 'a.ts')).toBe(acme);
    expect(sourceAdapterOfModule({ acme, helper: () => 1 }, 'a.ts')).toBe(acme);
    expect(() => sourceAdapterOfModule({ helper: () => 1 }, 'src/a.ts')).toThrow(
      /src\/a\.ts exports no source adapter/,
    );
    expect(() => sourceAdapterOfModule({ a: acme, b: defineSourceAdapter({ ...acme, name: 'b' }) }, 'a.ts')).toThrow(
      /2 source adapters/,
    );
  });
});

describe('createSourceAdapter', () => {
  const config = parseConfig({ PUBLIC_BASE_URL: 'http://x.test' });
  const environment = { ACME_API_URL: 'https://acme.test' };

  it('fails the init, naming the adapter, when the factory returns no adapter (bundles run unchecked)', () => {
    const made = (create: unknown) =>
      createSourceAdapter({ ...acme, create } as unknown as SourceAdapterDefinition, { config, environment });
    expect(() => made(async () => ({ name: 'acme', resolve: async () => ({ outcome: 'not_found' }) }))).toThrow(
      new ConfigError('source adapter acme: create must return the adapter itself, not a promise'),
    );
    for (const wrong of [undefined, {}, { name: 'acme', resolve: 'x' }, () => undefined]) {
      expect(() => made(() => wrong)).toThrow(
        /source adapter acme: create must return an object with a resolve function/,
      );
    }
    expect(made(acme.create).resolve).toBeInstanceOf(Function);
  });
});

describe('registerSourceAdapter', () => {
  it('makes the adapter selectable by SOURCE_ADAPTER until it is removed again', async () => {
    const config = parseConfig({ PUBLIC_BASE_URL: 'http://x.test', SOURCE_ADAPTER: 'acme' });
    expect(() => sourceAdapterFromConfig({ config })).toThrow(/unknown adapter "acme"/);
    const unregister = registerSourceAdapter(acme);
    try {
      expect(sourceDefinition('acme')).toBe(acme);
      const adapter = sourceAdapterFromConfig({ config, environment: { ACME_API_URL: 'https://acme.test' } });
      await expect(adapter.resolve({} as never, {} as never, {} as never, {} as never)).resolves.toMatchObject({
        model: { title: 'https://acme.test' },
      });
      expect(() => sourceAdapterFromConfig({ config, environment: {} })).toThrow(/ACME_API_URL/);
    } finally {
      unregister();
    }
    expect(sourceDefinition('acme')).toBeUndefined();
  });

  it('refuses the name of a built-in adapter', () => {
    expect(() => registerSourceAdapter(defineSourceAdapter({ ...acme, name: 'demo' }))).toThrow(/already registered/);
    expect(sourceDefinition('demo')?.description).toMatch(/demo task tracker/);
  });
});

describe("the stack's source prop", () => {
  const props = (over: Partial<CustomSourceProps> = {}): CustomSourceProps => ({
    entry: '/repo/src/acme.ts',
    definition: acme,
    settings: { ACME_API_URL: 'https://acme.example' },
    secrets: { ACME_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-AbCdEf' },
    grants: { attachments: ['arn:aws:s3:::acme/*'] },
    ...over,
  });
  const noContext = () => undefined;

  it('accepts what the declaration asks for, with a required setting from props or from its context key', () => {
    expect(() => checkCustomSource(props(), noContext)).not.toThrow();
    expect(() =>
      checkCustomSource(props({ settings: {} }), (key) => (key === 'acmeApiUrl' ? 'https://acme.example' : undefined)),
    ).not.toThrow();
  });

  it.each([
    [{ settings: {} }, /needs setting ACME_API_URL \(context "acmeApiUrl"\)/],
    [{ settings: { ACME_API_URL: 'x', NOPE: 'y' } }, /declares no setting NOPE/],
    [{ settings: { ACME_API_URL: 'x', ACME_TOKEN_SECRET_ARN: 'arn' } }, /ACME_TOKEN_SECRET_ARN is a secret/],
    [{ secrets: {} }, /needs the secret of ACME_TOKEN_SECRET_ARN/],
    [{ grants: {} }, /needs the resources of grant "attachments"/],
    [{ grants: { attachments: ['a'], buckets: ['b'] } }, /declares no grant "buckets"/],
  ] as const)('refuses %j', (over, message) => {
    expect(() => checkCustomSource(props(over as Partial<CustomSourceProps>), noContext)).toThrow(message);
  });

  it('refuses an adapter setting that shadows a setting of the service', () => {
    const shadow = defineSourceAdapter({
      name: 'shadow',
      description: 'x',
      settings: { SOURCE_BASE_URL: { description: 'x' } },
      create: acme.create as never,
    });
    expect(() =>
      checkCustomSource(props({ definition: shadow, settings: {}, secrets: {}, grants: {} }), noContext),
    ).toThrow(/SOURCE_BASE_URL is a setting of the service/);
  });

  it('selects the adapter by its declared name, and refuses context naming another', () => {
    const entry = new URL(import.meta.url).pathname;
    expect(
      withCustomSource(
        readStageConfig(() => undefined),
        props({ entry }),
      ).sourceAdapter,
    ).toBe('acme');
    expect(() =>
      withCustomSource(
        readStageConfig((k) => (k === 'sourceAdapter' ? 'http' : undefined)),
        props({ entry }),
      ),
    ).toThrow(/declares "acme"/);
    expect(() =>
      withCustomSource(
        readStageConfig(() => undefined),
        props({ entry: '/no/such/file.ts' }),
      ),
    ).toThrow(/not found/);
  });
});

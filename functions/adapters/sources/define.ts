/**
 * The shape of a source adapter module: one module declares the adapter's
 * name, its own settings, what it needs at deploy time and how it is built.
 * The registry (./registry.ts) lists the built-in ones; the stack reads the
 * declarations (the settings' CDK context keys, secrets and grants); the
 * settings documents (`npm run settings`) list their settings.
 *
 * A team's own adapter is the same: one module in its own repository whose
 * default export is a `defineSourceAdapter(...)` (imported from
 * `notion-link-preview/source`), named by SOURCE_ADAPTER_MODULE locally and by
 * the stack's `source` prop when deployed (docs/connect-your-product.md).
 *
 *   export const acmeSource = defineSourceAdapter({
 *     name: 'acme',
 *     description: 'Acme tickets over its REST API',
 *     settings: { ACME_API_TOKEN: { description: 'Token of the Acme API.', secret: true, required: true } },
 *     create: ({ settings, config }) => acmeAdapter(config.unfurl.sourceBaseUrl, settings.ACME_API_TOKEN),
 *   });
 */
import type { ServiceAssertions } from '#core/sources/assertions.js';
import type { FetchFunction, SourceAdapter } from '#core/sources/source-adapter.js';
import type { Config, SecretRef } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

/** What a function gives an adapter to build itself with. */
export interface SourceAdapterEnvironment {
  readonly config: Config;
  /** Reads a secret given by value (local) or by Secrets Manager ARN (AWS), cached; handlers pass theirs. */
  readonly loadSecret?: (ref: SecretRef) => Promise<string>;
  /**
   * Signs service assertions: short-lived JWTs asserting the user's subject to the product, verified with
   * GET /.well-known/jwks.json (docs/adr/0128). Built from TOKEN_SIGNING_KEY on first use when not given.
   */
  readonly serviceAssertions?: ServiceAssertions;
  readonly fetch?: FetchFunction;
  readonly now?: () => number;
  /** Where the adapter's own settings are read (default: the process environment). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

/** A setting of an adapter's own (an environment variable), documented with the others. */
export interface AdapterSetting {
  /** One line, as in `.env.example`. */
  readonly description: string;
  /** The adapter cannot be built without it: a missing value fails the function's init, naming it. */
  readonly required?: boolean;
  /** Never printed. */
  readonly secret?: boolean;
  /** The CDK context key whose value the stack gives the functions that call the source. */
  readonly context?: string;
  /** The value `.env.example` shows. */
  readonly example?: string;
}

/** What the functions that call the source need at deploy time, beyond its settings. */
export interface SourceAdapterNeeds<S extends string = string> {
  /**
   * Its settings whose value is the ARN of a Secrets Manager secret: the stack's `source.secrets` gives the
   * secret, the functions may read it (GetSecretValue) and get its ARN in that setting.
   */
  readonly secrets?: readonly S[];
  /**
   * IAM permissions by a name of its choosing: the actions here, the resources in the stack's
   * `source.grants` under the same name.
   */
  readonly grants?: Readonly<Record<string, { readonly actions: readonly string[]; readonly description: string }>>;
}

export interface SourceAdapterDefinition<S extends string = string> {
  /** The SOURCE_ADAPTER value that selects it. */
  readonly name: string;
  readonly description: string;
  /** Settings of its own, beyond the shared SOURCE_* settings of lib/settings.ts. */
  readonly settings?: Readonly<Record<S, AdapterSetting>>;
  /** Secrets and grants the stack gives the functions that call it. */
  readonly needs?: SourceAdapterNeeds<NoInfer<S>>;
  readonly create: (
    env: SourceAdapterEnvironment & { readonly settings: Readonly<Record<S, string | undefined>> },
  ) => SourceAdapter;
}

/** Marks a declaration, so a module's exports can be told apart (Symbol.for: any copy of this package agrees). */
const DECLARED = Symbol.for('notion-link-preview.source-adapter');

/** Types a source adapter module's declaration (a team's own adapter uses the same helper). */
export const defineSourceAdapter = <S extends string = never>(
  definition: SourceAdapterDefinition<S>,
): SourceAdapterDefinition<S> => {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(definition.name)) {
    throw new ConfigError(`source adapter name "${definition.name}": lower-case letters, digits and hyphens`);
  }
  return Object.defineProperty({ ...definition }, DECLARED, { value: true, enumerable: false });
};

/** Whether a value is a declaration made with defineSourceAdapter. */
export const isSourceAdapterDefinition = (value: unknown): value is SourceAdapterDefinition =>
  typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DECLARED] === true;

/**
 * The declaration a source adapter module exports: its default export, or else its one named export made
 * with defineSourceAdapter. `where` names the module in the error.
 */
export const sourceAdapterOfModule = (namespace: Readonly<Record<string, unknown>>, where: string) => {
  if (isSourceAdapterDefinition(namespace.default)) return namespace.default;
  const named = Object.values(namespace).filter(isSourceAdapterDefinition);
  if (named.length === 1) return named[0] as SourceAdapterDefinition;
  throw new ConfigError(
    named.length === 0
      ? `${where} exports no source adapter: export default defineSourceAdapter({ … })`
      : `${where} exports ${named.length} source adapters: make the one to use its default export`,
  );
};

/** Builds the adapter of a declaration: its own settings read and checked, then its factory. */
export const createSourceAdapter = (
  definition: SourceAdapterDefinition,
  env: SourceAdapterEnvironment,
): SourceAdapter => {
  const environment = env.environment ?? process.env;
  const settings: Record<string, string | undefined> = Object.create(null);
  for (const [name, setting] of Object.entries(definition.settings ?? {})) {
    const value = environment[name]?.trim();
    if ((value === undefined || value === '') && setting.required) {
      throw new ConfigError(`Missing required setting ${name} (source adapter ${definition.name})`);
    }
    settings[name] = value === '' ? undefined : value;
  }
  const adapter: unknown = definition.create({ ...env, settings });
  // Bundles and tsx run without a type check: a factory that returns no adapter fails the init, not every unfurl.
  if (typeof (adapter as { then?: unknown } | null)?.then === 'function') {
    throw new ConfigError(`source adapter ${definition.name}: create must return the adapter itself, not a promise`);
  }
  if (typeof (adapter as { resolve?: unknown } | null)?.resolve !== 'function') {
    throw new ConfigError(`source adapter ${definition.name}: create must return an object with a resolve function`);
  }
  return adapter as SourceAdapter;
};

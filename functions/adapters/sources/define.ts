/**
 * The shape of a source adapter module: one module declares the adapter's
 * name, its own settings and how it is built. The registry (./registry.ts)
 * lists the built-in ones; the stack reads the declarations (the settings'
 * CDK context keys); the settings documents (`npm run settings`) list their
 * settings.
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

export interface SourceAdapterDefinition<S extends string = string> {
  /** The SOURCE_ADAPTER value that selects it. */
  readonly name: string;
  readonly description: string;
  /** Settings of its own, beyond the shared SOURCE_* settings of lib/settings.ts. */
  readonly settings?: Readonly<Record<S, AdapterSetting>>;
  readonly create: (
    env: SourceAdapterEnvironment & { readonly settings: Readonly<Record<S, string | undefined>> },
  ) => SourceAdapter;
}

/** Types a source adapter module's declaration (a team's own adapter uses the same helper). */
export const defineSourceAdapter = <S extends string = never>(
  definition: SourceAdapterDefinition<S>,
): SourceAdapterDefinition<S> => definition;

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
  return definition.create({ ...env, settings });
};

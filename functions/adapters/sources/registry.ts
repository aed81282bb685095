/**
 * The source adapters a deployment can choose with SOURCE_ADAPTER:
 *
 *   demo     the local demo task tracker (default); SOURCE_BASE_URL defaults to PUBLIC_BASE_URL/demo
 *   http     the generic HTTP JSON adapter (SOURCE_BASE_URL + SOURCE_HTTP_MAPPING)
 *   example  the custom-code example (example-custom.ts)
 *
 * Each adapter is one module declaring itself with defineSourceAdapter
 * (./define.ts); a built-in one is registered by adding it to BUILT_IN_SOURCES
 * (a static import keeps it in the Lambda bundle). A team's own module is
 * registered with registerSourceAdapter before the handler composes: by the
 * entry the stack generates for the functions that call the source
 * (lib/source-entries.ts), and by the local system for SOURCE_ADAPTER_MODULE.
 */

import { serviceAssertionsFromConfig } from '#adapters/config/service-assertions.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import type { ServiceAssertions } from '#core/sources/assertions.js';
import type { SourceAdapter } from '#core/sources/source-adapter.js';
import { ENV } from '#lib/env-names.js';
import { ConfigError } from '#shared/errors.js';
import { createSourceAdapter, type SourceAdapterDefinition, type SourceAdapterEnvironment } from './define.js';
import { demoSource } from './demo-product.js';
import { exampleSource } from './example-custom.js';
import { httpSource } from './http-json.js';

export type { SourceAdapterEnvironment } from './define.js';

/** The built-in source adapters, each declared in its own module. */
export const BUILT_IN_SOURCES: readonly SourceAdapterDefinition[] = [demoSource, exampleSource, httpSource];

const byName = new Map<string, SourceAdapterDefinition>(BUILT_IN_SOURCES.map((d) => [d.name, d]));

/**
 * Makes a team's own adapter selectable by its name; returns the function that removes it again. A name
 * taken by a built-in adapter is refused.
 */
export const registerSourceAdapter = (definition: SourceAdapterDefinition): (() => void) => {
  const taken = byName.get(definition.name);
  if (taken && taken !== definition) {
    throw new ConfigError(`source adapter "${definition.name}" is already registered: choose another name`);
  }
  byName.set(definition.name, definition);
  return () => {
    if (byName.get(definition.name) === definition && !BUILT_IN_SOURCES.includes(definition)) {
      byName.delete(definition.name);
    }
  };
};

/** The declaration SOURCE_ADAPTER names (default: demo); undefined for an unknown name. */
export const sourceDefinition = (name = 'demo'): SourceAdapterDefinition | undefined => byName.get(name);

/** The adapter named by SOURCE_ADAPTER; throws a ConfigError for an unknown name or a missing setting. */
export const sourceAdapterFromConfig = (env: SourceAdapterEnvironment): SourceAdapter => {
  const name = env.config.unfurl.sourceAdapter;
  const definition = byName.get(name);
  if (!definition) {
    throw new ConfigError(`${ENV.SOURCE_ADAPTER}: unknown adapter "${name}" (known: ${[...byName.keys()].join(', ')})`);
  }
  return createSourceAdapter(definition, { ...env, serviceAssertions: env.serviceAssertions ?? lazyAssertions(env) });
};

/** Service assertions built from the configuration when an adapter first signs one (TOKEN_SIGNING_KEY). */
const lazyAssertions = (env: SourceAdapterEnvironment): ServiceAssertions => {
  let built: ServiceAssertions | undefined;
  const get = () => {
    built ??= serviceAssertionsFromConfig(env.config, env.loadSecret ?? loadSecret, env.now);
    return built;
  };
  return {
    get issuer() {
      return get().issuer;
    },
    sign: (subject, audience) => get().sign(subject, audience),
  };
};

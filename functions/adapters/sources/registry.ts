/**
 * The source adapters a deployment can choose with SOURCE_ADAPTER:
 *
 *   demo     the local demo task tracker (default); SOURCE_BASE_URL defaults to PUBLIC_BASE_URL/demo
 *   http     the generic HTTP JSON adapter (SOURCE_BASE_URL + SOURCE_HTTP_MAPPING)
 *   example  the custom-code example (example-custom.ts)
 *
 * Each adapter is one module declaring itself with defineSourceAdapter
 * (./define.ts); a built-in one is registered by adding it to BUILT_IN_SOURCES
 * (a static import keeps it in the Lambda bundle).
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

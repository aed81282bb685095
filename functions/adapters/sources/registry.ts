/**
 * The source adapters a deployment can choose with SOURCE_ADAPTER:
 *
 *   demo     the local demo task tracker (default); SOURCE_BASE_URL defaults to PUBLIC_BASE_URL/demo
 *   http     the generic HTTP JSON adapter (SOURCE_BASE_URL + SOURCE_HTTP_MAPPING)
 *   example  the custom-code example (example-custom.ts)
 *
 * A custom adapter is registered by adding one line to SOURCE_ADAPTERS (a
 * static import keeps it in the Lambda bundle).
 */

import type { FetchFunction, SourceAdapter } from '#core/sources/source-adapter.js';
import { ENV } from '#lib/env-names.js';
import type { Config, SecretRef } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';
import { type DemoAdapterOptions, demoProductAdapter } from './demo-product.js';
import { exampleCustomAdapter } from './example-custom.js';
import { httpJsonAdapter, parseHttpJsonMapping } from './http-json.js';

export interface SourceAdapterEnvironment {
  readonly config: Config;
  /** Reads a Secrets Manager secret (SOURCE_SERVICE_SECRET_ARN); handlers pass the adapter's loader. */
  readonly loadSecret?: (ref: SecretRef) => Promise<string>;
  readonly fetch?: FetchFunction;
  readonly now?: () => number;
}

export type SourceAdapterFactory = (env: SourceAdapterEnvironment) => SourceAdapter;

const demoOptions = ({ config, fetch, now, loadSecret }: SourceAdapterEnvironment): DemoAdapterOptions => {
  const baseUrl = config.unfurl.sourceBaseUrl ?? (config.publicBaseUrl ? `${config.publicBaseUrl}/demo` : undefined);
  if (!baseUrl) throw new ConfigError(`Missing required setting ${ENV.SOURCE_BASE_URL} (or ${ENV.PUBLIC_BASE_URL})`);
  const ref = config.unfurl.sourceServiceSecretRef;
  if (!ref) {
    throw new ConfigError(
      `Missing required setting ${ENV.SOURCE_SERVICE_SECRET} (or ${ENV.SOURCE_SERVICE_SECRET_ARN})`,
    );
  }
  let serviceSecret: DemoAdapterOptions['serviceSecret'];
  if ('value' in ref) serviceSecret = ref.value;
  else if (loadSecret) serviceSecret = () => loadSecret(ref);
  else throw new ConfigError(`${ENV.SOURCE_SERVICE_SECRET_ARN} is set but no secret loader was given`);
  return { baseUrl, serviceSecret, ...(fetch ? { fetch } : {}), ...(now ? { now } : {}) };
};

export const SOURCE_ADAPTERS: Readonly<Record<string, SourceAdapterFactory>> = {
  demo: (env) => demoProductAdapter(demoOptions(env)),
  example: (env) => exampleCustomAdapter(demoOptions(env)),
  http: ({ config, fetch }) => {
    const baseUrl = config.unfurl.sourceBaseUrl;
    if (!baseUrl) throw new ConfigError(`Missing required setting ${ENV.SOURCE_BASE_URL}`);
    if (!config.unfurl.httpMapping) throw new ConfigError(`Missing required setting ${ENV.SOURCE_HTTP_MAPPING}`);
    return httpJsonAdapter({
      baseUrl,
      mapping: parseHttpJsonMapping(config.unfurl.httpMapping),
      ...(fetch ? { fetch } : {}),
    });
  },
};

/** The adapter named by SOURCE_ADAPTER; throws a ConfigError for an unknown name. */
export const sourceAdapterFromConfig = (env: SourceAdapterEnvironment): SourceAdapter => {
  const name = env.config.unfurl.sourceAdapter;
  const factory = Object.hasOwn(SOURCE_ADAPTERS, name) ? SOURCE_ADAPTERS[name] : undefined;
  if (!factory) {
    throw new ConfigError(
      `${ENV.SOURCE_ADAPTER}: unknown adapter "${name}" (known: ${Object.keys(SOURCE_ADAPTERS).join(', ')})`,
    );
  }
  return factory(env);
};

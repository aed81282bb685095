/**
 * Resolves a SecretRef: a value is returned as is; an ARN is read from Secrets
 * Manager and cached for five minutes, so a rotated secret is picked up
 * without a redeploy.
 *
 * The SDK client is imported dynamically, and only when an ARN is configured.
 * `@aws-sdk/*` is external to the bundles, so this `import()` stays a real
 * dynamic import in the deployed code: handlers do not pay for loading the
 * Secrets Manager client at cold start unless they read a secret. (Importing
 * a bundled helper that itself imports the client would not be lazy: the
 * bundler hoists the external import to the top of the bundle.)
 */
import type { SecretRef } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const MAX_AGE_MS = 300_000;

type Client = import('@aws-sdk/client-secrets-manager').SecretsManagerClient;
let client: Promise<{ client: Client; sdk: typeof import('@aws-sdk/client-secrets-manager') }> | undefined;
const cache = new Map<string, { readonly value: Promise<string>; readonly until: number }>();

const sdkClient = () => {
  client ??= import('@aws-sdk/client-secrets-manager').then((sdk) => ({
    sdk,
    client: new sdk.SecretsManagerClient({}),
  }));
  return client;
};

const fetchSecret = async (secretArn: string): Promise<string> => {
  const { sdk, client: c } = await sdkClient();
  const out = await c.send(new sdk.GetSecretValueCommand({ SecretId: secretArn }));
  const value = out.SecretString;
  if (typeof value !== 'string' || value === '') throw new ConfigError('A configured secret is empty or binary');
  return value;
};

export const loadSecret = async (ref: SecretRef): Promise<string> => {
  if ('value' in ref) return ref.value;
  const now = Date.now();
  const hit = cache.get(ref.secretArn);
  if (hit && hit.until > now) return hit.value;
  const value = fetchSecret(ref.secretArn);
  cache.set(ref.secretArn, { value, until: now + MAX_AGE_MS });
  // A failed read is not cached: the next call tries again.
  value.catch(() => {
    if (cache.get(ref.secretArn)?.value === value) cache.delete(ref.secretArn);
  });
  return value;
};

/**
 * Reads one field of a JSON secret, e.g. {"clientId","clientSecret"}; a secret
 * that is not a JSON object is returned whole (a plain client secret).
 */
export const loadSecretField = async (ref: SecretRef, field: string): Promise<string> => {
  const raw = await loadSecret(ref);
  if (!raw.trim().startsWith('{')) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('A configured JSON secret does not parse');
  }
  const value = (parsed as Record<string, unknown>)[field];
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(`A configured secret lacks the field "${field}"`);
  return value;
};

/**
 * Resolves a SecretRef: a value is returned as is; an ARN is read from Secrets
 * Manager through Powertools parameters (cached for five minutes, so a rotated
 * secret is picked up without a redeploy). The SDK client is loaded only when
 * an ARN is configured, keeping local and test cold starts light.
 */
import type { SecretRef } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const MAX_AGE_SECONDS = 300;

export const loadSecret = async (ref: SecretRef): Promise<string> => {
  if ('value' in ref) return ref.value;
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const value = await getSecret(ref.secretArn, { maxAge: MAX_AGE_SECONDS });
  if (typeof value !== 'string' || value === '') throw new ConfigError('A configured secret is empty or binary');
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

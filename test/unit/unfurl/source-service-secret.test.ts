/**
 * SOURCE_SERVICE_SECRET_ARN: the demo and example adapters read their shared
 * secret from Secrets Manager in AWS (through the loader the handlers pass),
 * and sign each service assertion with the secret the loader returns now.
 */
import { describe, expect, it } from '@jest/globals';
import { jwtVerify } from 'jose';
import { demoApiAudience, SERVICE_ASSERTION_ISSUER } from '#adapters/sources/demo-product.js';
import { sourceAdapterFromConfig } from '#adapters/sources/registry.js';
import { noCredentials } from '#core/sources/credentials.js';
import type { FetchFunction } from '#core/sources/source-adapter.js';
import { demoRules, matchUri } from '#core/unfurl/rules.js';
import { parseConfig, type SecretRef } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nlp-source-service-AbCdEf';
const BASE = 'https://previews.example.com';
const env = { PUBLIC_BASE_URL: BASE, SOURCE_SERVICE_SECRET_ARN: ARN };
const rules = demoRules(BASE);
const identity = { subject: 'u-alice', displayName: 'Alice', connectionId: 'c1' };
const ctx = () => ({ signal: new AbortController().signal, deadline: Date.now() + 1000 });

describe('SOURCE_SERVICE_SECRET_ARN', () => {
  it('is parsed as a Secrets Manager reference; a value wins only when no ARN is given', () => {
    expect(parseConfig(env).unfurl.sourceServiceSecretRef).toEqual({ secretArn: ARN });
    expect(parseConfig({ ...env, SOURCE_SERVICE_SECRET: 'v' }).unfurl.sourceServiceSecretRef).toEqual({
      secretArn: ARN,
    });
    expect(parseConfig({ SOURCE_SERVICE_SECRET: 'v' }).unfurl.sourceServiceSecretRef).toEqual({ value: 'v' });
  });

  it('needs a secret loader: without one the adapter is refused by name', () => {
    expect(() => sourceAdapterFromConfig({ config: parseConfig(env) })).toThrow(ConfigError);
    expect(() => sourceAdapterFromConfig({ config: parseConfig(env) })).toThrow(/SOURCE_SERVICE_SECRET_ARN/);
  });

  it.each(['demo', 'example'])(
    '%s adapter: signs the service assertion with the secret loaded from the ARN (re-read each time, so rotation applies)',
    async (adapterName) => {
      const loaded: string[] = [];
      let current = 'first-secret-from-secrets-manager-0123456789';
      const loadSecret = async (ref: SecretRef): Promise<string> => {
        if (!('secretArn' in ref)) throw new Error('expected an ARN');
        loaded.push(ref.secretArn);
        return current;
      };
      const tokens: string[] = [];
      const fetch: FetchFunction = async (_url, init) => {
        const headers = (init?.headers ?? {}) as Record<string, string>;
        tokens.push(String(headers.authorization).replace(/^Bearer /, ''));
        return new Response('{}', { status: 404, headers: { 'content-type': 'application/json' } });
      };
      const adapter = sourceAdapterFromConfig({
        config: parseConfig({ ...env, SOURCE_ADAPTER: adapterName }),
        loadSecret,
        fetch,
      });
      const match = matchUri(rules, `${BASE}/demo/tasks/7`);
      if (!match) throw new Error('the demo rules do not match');
      await adapter.resolve(match, identity, noCredentials, ctx());
      current = 'second-secret-after-rotation-0123456789abcd';
      await adapter.resolve(match, { ...identity, subject: 'u-bob' }, noCredentials, ctx());
      expect(loaded.length).toBeGreaterThanOrEqual(2);
      expect(new Set(loaded)).toEqual(new Set([ARN]));
      const verify = (token: string, secret: string) =>
        jwtVerify(token, new TextEncoder().encode(secret), {
          issuer: SERVICE_ASSERTION_ISSUER,
          audience: demoApiAudience(`${BASE}/demo`),
        });
      expect((await verify(tokens[0] ?? '', 'first-secret-from-secrets-manager-0123456789')).payload.sub).toBe(
        'u-alice',
      );
      expect((await verify(tokens[1] ?? '', 'second-secret-after-rotation-0123456789abcd')).payload.sub).toBe('u-bob');
    },
  );
});

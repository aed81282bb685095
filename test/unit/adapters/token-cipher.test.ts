import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  type KmsLike,
  KmsTokenCipher,
  LocalTokenCipher,
  TokenDecryptionError,
  tokenCipherFromConfig,
} from '#adapters/crypto/token-cipher.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const key = () => randomBytes(32);
const ctx = { connectionId: 'c-1', purpose: 'notion-access-token' };

/** Flips one character of the part after the last dot (the sealed payload). */
const tamper = (ciphertext: string, at = 5): string => {
  const i = ciphertext.lastIndexOf('.') + 1 + at;
  const c = ciphertext[i] === 'A' ? 'B' : 'A';
  return ciphertext.slice(0, i) + c + ciphertext.slice(i + 1);
};

describe('LocalTokenCipher (AES-256-GCM)', () => {
  it('round-trips any text under the same context', async () => {
    const cipher = new LocalTokenCipher(key());
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), async (plaintext) => {
        expect(await cipher.decrypt(await cipher.encrypt(plaintext, ctx), ctx)).toBe(plaintext);
      }),
      { numRuns: 50 },
    );
  });

  it('writes a versioned format and never the plaintext; each encryption differs', async () => {
    const cipher = new LocalTokenCipher(key());
    const a = await cipher.encrypt('secret_notion_token', ctx);
    const b = await cipher.encrypt('secret_notion_token', ctx);
    expect(a).toMatch(/^v1\.local\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('secret');
    expect(a).not.toBe(b);
  });

  it('fails under another context (a ciphertext copied to another record)', async () => {
    const cipher = new LocalTokenCipher(key());
    const sealed = await cipher.encrypt('t', ctx);
    await expect(cipher.decrypt(sealed, { ...ctx, connectionId: 'c-2' })).rejects.toBeInstanceOf(TokenDecryptionError);
    await expect(cipher.decrypt(sealed, { connectionId: 'c-1' })).rejects.toBeInstanceOf(TokenDecryptionError);
  });

  it('fails when the ciphertext was tampered with, truncated or is not ours', async () => {
    const cipher = new LocalTokenCipher(key());
    const sealed = await cipher.encrypt('token', ctx);
    await expect(cipher.decrypt(tamper(sealed), ctx)).rejects.toBeInstanceOf(TokenDecryptionError);
    await expect(cipher.decrypt(sealed.slice(0, -6), ctx)).rejects.toBeInstanceOf(TokenDecryptionError);
    await expect(cipher.decrypt('v1.local.x', ctx)).rejects.toBeInstanceOf(TokenDecryptionError);
    await expect(cipher.decrypt('plain-token', ctx)).rejects.toBeInstanceOf(TokenDecryptionError);
  });

  it('fails under another key, saying so without revealing either', async () => {
    const sealed = await new LocalTokenCipher(key()).encrypt('token', ctx);
    await expect(new LocalTokenCipher(key()).decrypt(sealed, ctx)).rejects.toThrow(/another key/);
  });

  it('does not depend on the order of the context keys', async () => {
    const cipher = new LocalTokenCipher(key());
    const sealed = await cipher.encrypt('token', { a: '1', b: '2' });
    expect(await cipher.decrypt(sealed, { b: '2', a: '1' })).toBe('token');
  });
});

/**
 * A fake KMS that behaves like the real one where it matters: data keys are
 * wrapped under a master key with the EncryptionContext bound, and Decrypt
 * refuses another context with InvalidCiphertextException.
 */
const fakeKms = () => {
  const master = randomBytes(32);
  const calls = { generate: 0, decrypt: 0 };
  const contexts: Array<Record<string, string> | undefined> = [];
  const bind = (c: Record<string, string> | undefined) =>
    Buffer.from(JSON.stringify(Object.entries(c ?? {}).sort(([a], [b]) => a.localeCompare(b))));
  const kms: KmsLike = {
    async send(command) {
      if (command instanceof GenerateDataKeyCommand) {
        calls.generate++;
        contexts.push(command.input.EncryptionContext);
        const plaintext = randomBytes(32);
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', master, iv);
        c.setAAD(bind(command.input.EncryptionContext));
        const body = Buffer.concat([c.update(plaintext), c.final()]);
        return { Plaintext: plaintext, CiphertextBlob: Buffer.concat([iv, body, c.getAuthTag()]) };
      }
      if (command instanceof DecryptCommand) {
        calls.decrypt++;
        contexts.push(command.input.EncryptionContext);
        const blob = Buffer.from(command.input.CiphertextBlob as Uint8Array);
        try {
          const d = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12));
          d.setAAD(bind(command.input.EncryptionContext));
          d.setAuthTag(blob.subarray(blob.length - 16));
          return { Plaintext: Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()]) };
        } catch {
          throw Object.assign(new Error('invalid ciphertext'), { name: 'InvalidCiphertextException' });
        }
      }
      throw new Error('unexpected command');
    },
  };
  return { kms, calls, contexts };
};

describe('KmsTokenCipher (envelope encryption)', () => {
  it('round-trips, binding the context as EncryptionContext of the data key', async () => {
    const { kms, contexts } = fakeKms();
    const sealed = await new KmsTokenCipher(kms, 'alias/k').encrypt('notion-token', ctx);
    expect(sealed).toMatch(/^v1\.kms\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    // A fresh instance (another cold start) must go to KMS to unwrap the key.
    expect(await new KmsTokenCipher(kms, 'alias/k').decrypt(sealed, ctx)).toBe('notion-token');
    expect(contexts).toEqual([ctx, ctx]);
  });

  it('reuses a data key briefly per context, then asks KMS for a new one', async () => {
    const { kms, calls } = fakeKms();
    let now = 0;
    const cipher = new KmsTokenCipher(kms, 'alias/k', { cacheMs: 1000, now: () => now });
    await cipher.encrypt('a', ctx);
    await cipher.encrypt('b', ctx);
    expect(calls.generate).toBe(1);
    await cipher.encrypt('c', { ...ctx, connectionId: 'c-2' });
    expect(calls.generate).toBe(2);
    now = 1000;
    await cipher.encrypt('d', ctx);
    expect(calls.generate).toBe(3);
  });

  it('caches unwrapped keys for decryption', async () => {
    const { kms, calls } = fakeKms();
    const sealed = await new KmsTokenCipher(kms, 'alias/k').encrypt('t', ctx);
    const reader = new KmsTokenCipher(kms, 'alias/k');
    await reader.decrypt(sealed, ctx);
    await reader.decrypt(sealed, ctx);
    expect(calls.decrypt).toBe(1);
  });

  it('fails under another context and when tampered with', async () => {
    const { kms } = fakeKms();
    const cipher = new KmsTokenCipher(kms, 'alias/k');
    const sealed = await cipher.encrypt('t', ctx);
    await expect(
      new KmsTokenCipher(kms, 'alias/k').decrypt(sealed, { ...ctx, connectionId: 'c-9' }),
    ).rejects.toBeInstanceOf(TokenDecryptionError);
    // Same instance: the cached key must not bypass the context check.
    await expect(cipher.decrypt(sealed, { ...ctx, connectionId: 'c-9' })).rejects.toBeInstanceOf(TokenDecryptionError);
    await expect(cipher.decrypt(tamper(sealed), ctx)).rejects.toBeInstanceOf(TokenDecryptionError);
    await expect(cipher.decrypt(sealed.replace('v1.kms', 'v1.local'), ctx)).rejects.toBeInstanceOf(
      TokenDecryptionError,
    );
  });
});

describe('tokenCipherFromConfig', () => {
  const localKey = randomBytes(32).toString('base64');

  it('uses AES-256-GCM with the local key', async () => {
    const cipher = tokenCipherFromConfig(parseConfig({ NOTION_TOKEN_ENCRYPTION_KEY: localKey }));
    expect(cipher).toBeInstanceOf(LocalTokenCipher);
    expect(await cipher.encrypt('x', ctx)).toMatch(/^v1\.local\./);
  });

  it('uses KMS when a key id is configured', async () => {
    const { kms } = fakeKms();
    const config = parseConfig({ NOTION_TOKEN_KMS_KEY_ID: 'alias/k', NOTION_TOKEN_ENCRYPTION_KEY: localKey });
    const cipher = tokenCipherFromConfig(config, { kms });
    expect(await cipher.encrypt('x', ctx)).toMatch(/^v1\.kms\./);
  });

  it('fails by name when no key is configured or the key has the wrong length', () => {
    expect(() => tokenCipherFromConfig(parseConfig({}))).toThrow(ConfigError);
    expect(() => tokenCipherFromConfig(parseConfig({}))).toThrow(/NOTION_TOKEN_ENCRYPTION_KEY/);
    const short = parseConfig({ NOTION_TOKEN_ENCRYPTION_KEY: randomBytes(16).toString('base64') });
    expect(() => tokenCipherFromConfig(short)).toThrow(/NOTION_TOKEN_ENCRYPTION_KEY must be 32 bytes/);
  });

  it('accepts the shipped local default key', async () => {
    const { localDefaults } = await import('#local/defaults.js');
    const config = parseConfig(localDefaults(3000));
    const cipher = tokenCipherFromConfig(config);
    expect(await cipher.decrypt(await cipher.encrypt('x', ctx), ctx)).toBe('x');
  });
});

/**
 * TokenCipher: encryption at rest of third-party tokens (Notion's, upstream's).
 *
 * Formats (versioned, so the scheme can change without breaking stored data):
 *   v1.local.<kid>.<b64url(iv ‖ ciphertext ‖ tag)>        AES-256-GCM, key NOTION_TOKEN_ENCRYPTION_KEY
 *   v1.kms.<b64url(wrapped data key)>.<b64url(iv ‖ ciphertext ‖ tag)>
 *                                                         envelope encryption under NOTION_TOKEN_KMS_KEY_ID
 * The context (e.g. {connectionId, purpose}) is bound as AES-GCM additional
 * authenticated data and, for KMS, as the EncryptionContext of the data key, so
 * a ciphertext copied to another record does not decrypt. Data keys are cached
 * briefly per context, which keeps KMS calls off the hot path.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { TokenCipher } from '#core/ports.js';
import { ENV } from '#lib/env-names.js';
import { type Config, getConfig, need } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** A ciphertext is malformed, was made under another key or context, or was tampered with. */
/**
 * The KMS SDK, imported on first use. `@aws-sdk/*` is external to the bundles,
 * so this stays a real dynamic import in the deployed code: a handler that
 * never encrypts or decrypts with KMS never loads the client.
 */
let kmsSdk: Promise<typeof import('@aws-sdk/client-kms')> | undefined;
const loadKmsSdk = () => {
  kmsSdk ??= import('@aws-sdk/client-kms');
  return kmsSdk;
};

export class TokenDecryptionError extends Error {
  override readonly name = 'TokenDecryptionError';
}

type Context = Readonly<Record<string, string>>;

/** Canonical form of a context: sorted keys, JSON; prefixed by the scheme so formats never mix. */
const aad = (scheme: string, context: Context): Buffer => {
  const entries = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.from(`${scheme}|${JSON.stringify(entries)}`, 'utf8');
};

const seal = (key: Uint8Array, plaintext: string, additional: Buffer): string => {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(additional);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
};

const open = (key: Uint8Array, sealed: string, additional: Buffer): string => {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new TokenDecryptionError('Ciphertext is too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(additional);
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new TokenDecryptionError('Ciphertext does not authenticate under this key and context');
  }
};

const B64URL = /^[A-Za-z0-9_-]+$/;

const parts = (ciphertext: string, scheme: string): [string, string] => {
  const p = ciphertext.split('.');
  if (p.length !== 4 || p[0] !== 'v1' || p[1] !== scheme || !B64URL.test(p[2] ?? '') || !B64URL.test(p[3] ?? '')) {
    throw new TokenDecryptionError(`Not a v1.${scheme} ciphertext`);
  }
  return [p[2] as string, p[3] as string];
};

// ---------------------------------------------------------------------------
// Local: AES-256-GCM with a key from configuration
// ---------------------------------------------------------------------------

/** Decodes the base64 local key, failing by the setting's name. */
export const decodeLocalKey = (base64: string): Buffer => {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new ConfigError(`${ENV.NOTION_TOKEN_ENCRYPTION_KEY} must be ${KEY_BYTES} bytes, base64-encoded`);
  }
  return key;
};

export class LocalTokenCipher implements TokenCipher {
  private readonly kid: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new RangeError(`The key must be ${KEY_BYTES} bytes`);
    // Names the key without revealing it, so a ciphertext made under another key fails clearly.
    this.kid = createHash('sha256').update('token-cipher-kid').update(key).digest('base64url').slice(0, 8);
  }

  async encrypt(plaintext: string, context: Context): Promise<string> {
    return `v1.local.${this.kid}.${seal(this.key, plaintext, aad('v1.local', context))}`;
  }

  async decrypt(ciphertext: string, context: Context): Promise<string> {
    const [kid, sealed] = parts(ciphertext, 'local');
    if (kid !== this.kid) throw new TokenDecryptionError('Ciphertext was made under another key');
    return open(this.key, sealed, aad('v1.local', context));
  }
}

// ---------------------------------------------------------------------------
// AWS: KMS envelope encryption
// ---------------------------------------------------------------------------

/** The part of KMSClient this cipher uses (tests inject a fake). */
export interface KmsLike {
  send(
    command: GenerateDataKeyCommand | DecryptCommand,
  ): Promise<{ Plaintext?: Uint8Array; CiphertextBlob?: Uint8Array }>;
}

export interface KmsCipherOptions {
  /** How long a data key is reused (ms; default 5 minutes). */
  readonly cacheMs?: number;
  /** Most data keys held at once (default 100). */
  readonly maxCached?: number;
  readonly now?: () => number;
}

interface CachedKey {
  readonly plaintext: Buffer;
  readonly wrapped: Buffer;
  readonly until: number;
}

export class KmsTokenCipher implements TokenCipher {
  private readonly forEncrypt = new Map<string, CachedKey>();
  private readonly forDecrypt = new Map<string, CachedKey>();
  private readonly cacheMs: number;
  private readonly maxCached: number;
  private readonly now: () => number;

  constructor(
    private readonly kms: KmsLike,
    private readonly keyId: string,
    options: KmsCipherOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
    this.maxCached = options.maxCached ?? 100;
    this.now = options.now ?? Date.now;
  }

  private remember(map: Map<string, CachedKey>, key: string, value: CachedKey): void {
    if (map.size >= this.maxCached) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(key, value);
  }

  private fresh(map: Map<string, CachedKey>, key: string): CachedKey | undefined {
    const hit = map.get(key);
    if (hit && hit.until > this.now()) return hit;
    if (hit) map.delete(key);
    return undefined;
  }

  async encrypt(plaintext: string, context: Context): Promise<string> {
    const ctxKey = aad('v1.kms', context).toString('base64url');
    let dataKey = this.fresh(this.forEncrypt, ctxKey);
    if (!dataKey) {
      const { GenerateDataKeyCommand } = await loadKmsSdk();
      const out = await this.kms.send(
        new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...context } }),
      );
      if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
      dataKey = {
        plaintext: Buffer.from(out.Plaintext),
        wrapped: Buffer.from(out.CiphertextBlob),
        until: this.now() + this.cacheMs,
      };
      this.remember(this.forEncrypt, ctxKey, dataKey);
    }
    const wrapped = dataKey.wrapped.toString('base64url');
    return `v1.kms.${wrapped}.${seal(dataKey.plaintext, plaintext, aad('v1.kms', context))}`;
  }

  async decrypt(ciphertext: string, context: Context): Promise<string> {
    const [wrapped, sealed] = parts(ciphertext, 'kms');
    const additional = aad('v1.kms', context);
    const cacheKey = `${createHash('sha256').update(wrapped).digest('base64url')}.${additional.toString('base64url')}`;
    let dataKey = this.fresh(this.forDecrypt, cacheKey);
    if (!dataKey) {
      let out: { Plaintext?: Uint8Array };
      const { DecryptCommand } = await loadKmsSdk();
      try {
        out = await this.kms.send(
          new DecryptCommand({
            KeyId: this.keyId,
            CiphertextBlob: Buffer.from(wrapped, 'base64url'),
            EncryptionContext: { ...context },
          }),
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'InvalidCiphertextException') {
          throw new TokenDecryptionError('KMS refused the data key for this context');
        }
        throw error;
      }
      if (!out.Plaintext) throw new Error('KMS Decrypt returned no key');
      dataKey = { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.alloc(0), until: this.now() + this.cacheMs };
      this.remember(this.forDecrypt, cacheKey, dataKey);
    }
    return open(dataKey.plaintext, sealed, additional);
  }
}

// ---------------------------------------------------------------------------
// From configuration
// ---------------------------------------------------------------------------

/** A KMSClient created on the first call. */
const lazyKmsClient = (): KmsLike => {
  let client: KMSClient | undefined;
  return {
    async send(command) {
      client ??= new (await loadKmsSdk()).KMSClient({});
      // Either command; the output has the fields of the one sent.
      const out = await client.send(command as DecryptCommand);
      return out as { Plaintext?: Uint8Array; CiphertextBlob?: Uint8Array };
    },
  };
};

const built = new WeakMap<Config, TokenCipher>();

/**
 * The cipher this configuration asks for: KMS when NOTION_TOKEN_KMS_KEY_ID is
 * set (AWS), else AES-256-GCM with NOTION_TOKEN_ENCRYPTION_KEY (local).
 */
export const tokenCipherFromConfig = (
  config: Config = getConfig(),
  deps: { readonly kms?: KmsLike } = {},
): TokenCipher => {
  const cached = deps.kms ? undefined : built.get(config);
  if (cached) return cached;
  const setting = need(config.notion.tokenEncryption, ENV.NOTION_TOKEN_ENCRYPTION_KEY);
  const cipher =
    setting.kind === 'kms'
      ? new KmsTokenCipher(deps.kms ?? lazyKmsClient(), setting.keyId)
      : new LocalTokenCipher(decodeLocalKey(setting.key));
  if (!deps.kms) built.set(config, cipher);
  return cipher;
};

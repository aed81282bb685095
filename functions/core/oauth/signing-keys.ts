/**
 * The keys that sign and verify our access tokens.
 *
 * TOKEN_SIGNING_KEY (a config value locally, the string of a Secrets Manager
 * secret in AWS) holds one of two formats:
 *
 *  - a JWK Set, `{"keys":[ ... ]}`: the first key signs, every key verifies.
 *    Supported: `oct` (HS256/384/512), EC P-256 (ES256), OKP Ed25519 (EdDSA),
 *    RSA (RS256). Each key needs a `kid`; the signing key must be private.
 *  - one or more plain secrets of at least 32 characters, separated by
 *    whitespace: the first signs, all verify. Each becomes an HS256 key derived
 *    with HKDF-SHA256; its `kid` is a digest of the derived key.
 *
 * Rotation: put the new key first and keep the previous one second until every
 * token signed with it has expired (ACCESS_TOKEN_TTL_SECONDS).
 */
import { createHash, hkdfSync, type KeyObject } from 'node:crypto';
import { type CryptoKey, importJWK, type JWK } from 'jose';
import { ConfigError } from '#shared/errors.js';

export type SigningAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'ES256' | 'EdDSA' | 'RS256';

export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Absent for keys that may only verify (a previous asymmetric public key). */
  readonly signKey?: CryptoKey | KeyObject | Uint8Array;
  readonly verifyKey: CryptoKey | KeyObject | Uint8Array;
}

export interface SigningKeySet {
  /** Signs new tokens. */
  readonly current: SigningKey & { readonly signKey: CryptoKey | KeyObject | Uint8Array };
  /** Every key that verifies, by kid (the current key included). */
  readonly byKid: ReadonlyMap<string, SigningKey>;
}

/** Returns the key set in force (cached by the implementation; refreshed when a secret rotates). */
export type SigningKeySource = () => Promise<SigningKeySet>;

const MIN_SECRET_LENGTH = 32;
const HKDF_INFO = 'notion-link-preview access token signing key v1';

const defaultAlg = (jwk: JWK): SigningAlgorithm | undefined => {
  if (jwk.alg) return jwk.alg as SigningAlgorithm;
  switch (jwk.kty) {
    case 'oct':
      return 'HS256';
    case 'EC':
      return jwk.crv === 'P-256' ? 'ES256' : undefined;
    case 'OKP':
      return jwk.crv === 'Ed25519' ? 'EdDSA' : undefined;
    case 'RSA':
      return 'RS256';
    default:
      return undefined;
  }
};

const SUPPORTED: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512', 'ES256', 'EdDSA', 'RS256']);

const publicPart = (jwk: JWK): JWK => {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...rest } = jwk as JWK & { oth?: unknown };
  return rest;
};

const fromJwk = async (jwk: JWK, index: number): Promise<SigningKey> => {
  const alg = defaultAlg(jwk);
  if (!alg || !SUPPORTED.has(alg))
    throw new ConfigError(`TOKEN_SIGNING_KEY: key #${index} has an unsupported type or alg`);
  if (typeof jwk.kid !== 'string' || jwk.kid === '')
    throw new ConfigError(`TOKEN_SIGNING_KEY: key #${index} needs a "kid"`);
  if (jwk.kty === 'oct') {
    const bytes = new Uint8Array(Buffer.from(jwk.k ?? '', 'base64url'));
    if (bytes.length < 32) throw new ConfigError(`TOKEN_SIGNING_KEY: key #${index} is shorter than 32 bytes`);
    const key = await hmacKey(bytes, alg);
    return { kid: jwk.kid, alg, signKey: key, verifyKey: key };
  }
  const isPrivate = typeof jwk.d === 'string';
  const verifyKey = (await importJWK(publicPart(jwk), alg)) as CryptoKey;
  if (!isPrivate) return { kid: jwk.kid, alg, verifyKey };
  const signKey = (await importJWK(jwk, alg)) as CryptoKey;
  return { kid: jwk.kid, alg, signKey, verifyKey };
};

const hmacKey = (bytes: Uint8Array<ArrayBuffer>, alg: SigningAlgorithm): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['sign', 'verify']);

const fromSecret = async (secret: string, index: number): Promise<SigningKey> => {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`TOKEN_SIGNING_KEY: secret #${index} must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const bytes = new Uint8Array(hkdfSync('sha256', secret, 'notion-link-preview', HKDF_INFO, 32));
  const kid = createHash('sha256').update('kid:').update(bytes).digest('base64url').slice(0, 16);
  const key = await hmacKey(bytes, 'HS256');
  return { kid, alg: 'HS256', signKey: key, verifyKey: key };
};

/** Parses TOKEN_SIGNING_KEY material; throws a ConfigError (never echoing the material) when it is unusable. */
export const parseSigningKeys = async (material: string): Promise<SigningKeySet> => {
  const trimmed = material.trim();
  let keys: SigningKey[];
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new ConfigError('TOKEN_SIGNING_KEY: looks like JSON but does not parse');
    }
    const list = (parsed as { keys?: unknown }).keys;
    if (!Array.isArray(list) || list.length === 0)
      throw new ConfigError('TOKEN_SIGNING_KEY: a JWK Set needs a non-empty "keys" array');
    keys = await Promise.all(list.map((jwk, i) => fromJwk(jwk as JWK, i)));
  } else {
    const secrets = trimmed.split(/\s+/).filter((s) => s !== '');
    if (secrets.length === 0) throw new ConfigError('TOKEN_SIGNING_KEY is empty');
    keys = await Promise.all(secrets.map((s, i) => fromSecret(s, i)));
  }
  const byKid = new Map<string, SigningKey>();
  for (const key of keys) {
    if (byKid.has(key.kid)) throw new ConfigError(`TOKEN_SIGNING_KEY: duplicate kid "${key.kid}"`);
    byKid.set(key.kid, key);
  }
  const current = keys[0];
  if (!current?.signKey)
    throw new ConfigError('TOKEN_SIGNING_KEY: the first key must be able to sign (a private or secret key)');
  return { current: current as SigningKeySet['current'], byKid };
};

/**
 * A key source over a material loader (config value or secret): parses once per
 * distinct material, so a rotated secret is picked up as soon as the loader
 * returns the new string.
 */
export const cachedKeySource = (load: () => Promise<string>): SigningKeySource => {
  let last: { material: string; keys: Promise<SigningKeySet> } | undefined;
  return async () => {
    const material = await load();
    if (last?.material !== material) {
      const keys = parseSigningKeys(material);
      last = { material, keys };
      keys.catch(() => {
        if (last?.keys === keys) last = undefined;
      });
    }
    return last.keys;
  };
};

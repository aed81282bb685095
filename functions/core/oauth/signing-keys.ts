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
 *
 * The same material holds the asymmetric keys of the service assertions
 * (docs/adr/0128): the short-lived JWTs the service signs to call a product as
 * a user, whose public keys GET /.well-known/jwks.json publishes.
 *
 *  - With plain secrets, each secret also derives an Ed25519 key (HKDF-SHA256,
 *    its own info string): nothing to add, and rotating the secrets rotates the
 *    assertion keys the same way (the first signs, all are published).
 *  - A JWK Set may list them in `"assertion_keys": [ ... ]`: EC P-256 (ES256)
 *    or OKP Ed25519 (EdDSA), each with a `kid`; the first signs and must be
 *    private, the others may be public only (a previous key still published).
 *    Without that member, each `oct` key of the set derives one as above.
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
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
  /** The service-assertion keys, when the material has any (docs/adr/0128). */
  readonly assertion?: AssertionKeys;
}

/** The asymmetric keys of the service assertions: the first signs, all are published. */
export interface AssertionKeys {
  readonly current: { readonly kid: string; readonly alg: 'ES256' | 'EdDSA'; readonly signKey: CryptoKey | KeyObject };
  /** The public JWKs (kid, alg, use "sig") GET /.well-known/jwks.json serves, the current one first. */
  readonly published: readonly JWK[];
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

/** A key of a checked JWK Set (checkSigningKeyMaterial): its alg is supported and it has a kid. */
const fromJwk = async (jwk: JWK): Promise<SigningKey> => {
  const alg = defaultAlg(jwk) as SigningAlgorithm;
  const kid = jwk.kid as string;
  if (jwk.kty === 'oct') {
    const key = await hmacKey(new Uint8Array(Buffer.from(jwk.k ?? '', 'base64url')), alg);
    return { kid, alg, signKey: key, verifyKey: key };
  }
  const isPrivate = typeof jwk.d === 'string';
  const verifyKey = (await importJWK(publicPart(jwk), alg)) as CryptoKey;
  if (!isPrivate) return { kid, alg, verifyKey };
  const signKey = (await importJWK(jwk, alg)) as CryptoKey;
  return { kid, alg, signKey, verifyKey };
};

const hmacKey = (bytes: Uint8Array<ArrayBuffer>, alg: SigningAlgorithm): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['sign', 'verify']);

const fromSecret = async (secret: string): Promise<SigningKey> => {
  const bytes = new Uint8Array(hkdfSync('sha256', secret, 'notion-link-preview', HKDF_INFO, 32));
  const kid = createHash('sha256').update('kid:').update(bytes).digest('base64url').slice(0, 16);
  const key = await hmacKey(bytes, 'HS256');
  return { kid, alg: 'HS256', signKey: key, verifyKey: key };
};

const ASSERTION_HKDF_INFO = 'notion-link-preview service assertion key v1';
/** PKCS#8 prefix of an Ed25519 private key, before its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 assertion key derived from secret bytes; its kid is a digest of its public key. */
const derivedAssertionKey = (secret: string | Uint8Array): { signKey: KeyObject; jwk: JWK; kid: string } => {
  const seed = Buffer.from(hkdfSync('sha256', secret, 'notion-link-preview', ASSERTION_HKDF_INFO, 32));
  const signKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const exported = createPublicKey(signKey).export({ format: 'jwk' }) as JWK;
  const kid = `sa-${createHash('sha256').update(String(exported.x)).digest('base64url').slice(0, 16)}`;
  return { signKey, kid, jwk: { kty: 'OKP', crv: 'Ed25519', x: String(exported.x), kid, alg: 'EdDSA', use: 'sig' } };
};

/** The assertion keys of a checked JWK Set (checkSigningKeyMaterial): ES256 or EdDSA, each its own kid, the first private. */
const assertionKeysFrom = async (list: readonly JWK[]): Promise<AssertionKeys> => {
  const published: JWK[] = [];
  let current: AssertionKeys['current'] | undefined;
  for (const [i, jwk] of list.entries()) {
    const alg = defaultAlg(jwk) as 'ES256' | 'EdDSA';
    const kid = jwk.kid as string;
    const pub = publicPart(jwk);
    await importJWK(pub, alg);
    published.push({ ...pub, kid, alg, use: 'sig' });
    if (i === 0) current = { kid, alg, signKey: (await importJWK(jwk, alg)) as CryptoKey };
  }
  return { current: current as AssertionKeys['current'], published };
};

const derivedAssertionKeys = (secrets: readonly (string | Uint8Array)[]): AssertionKeys | undefined => {
  const derived = secrets.map((secret) => derivedAssertionKey(secret));
  const first = derived[0];
  if (!first) return undefined;
  return {
    current: { kid: first.kid, alg: 'EdDSA', signKey: first.signKey },
    published: derived.map((d) => d.jwk),
  };
};

type CheckedMaterial =
  | { readonly kind: 'jwks'; readonly keys: readonly JWK[]; readonly assertionKeys?: readonly JWK[] }
  | { readonly kind: 'secrets'; readonly secrets: readonly string[] };

/**
 * Checks TOKEN_SIGNING_KEY material without importing a key: its format, each key's type, kid and
 * length, the assertion keys'. Synchronous, so that a configured value is checked when a function
 * initializes (a secret's, when it is first read). Throws a ConfigError that never echoes the material.
 */
export const checkSigningKeyMaterial = (material: string): CheckedMaterial => {
  const trimmed = material.trim();
  if (!trimmed.startsWith('{')) {
    const secrets = trimmed.split(/\s+/).filter((s) => s !== '');
    if (secrets.length === 0) throw new ConfigError('TOKEN_SIGNING_KEY is empty');
    for (const [i, secret] of secrets.entries()) {
      if (secret.length < MIN_SECRET_LENGTH)
        throw new ConfigError(`TOKEN_SIGNING_KEY: secret #${i} must be at least ${MIN_SECRET_LENGTH} characters`);
      if (secrets.indexOf(secret) !== i)
        throw new ConfigError(`TOKEN_SIGNING_KEY: secret #${i} repeats an earlier one`);
    }
    return { kind: 'secrets', secrets };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new ConfigError('TOKEN_SIGNING_KEY: looks like JSON but does not parse');
  }
  const set = (parsed ?? {}) as { keys?: unknown; assertion_keys?: unknown };
  const keys = set.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ConfigError('TOKEN_SIGNING_KEY: a JWK Set needs a non-empty "keys" array');
  const kids = new Set<string>();
  for (const [i, item] of keys.entries()) {
    const jwk = (item ?? {}) as JWK;
    const alg = defaultAlg(jwk);
    if (!alg || !SUPPORTED.has(alg))
      throw new ConfigError(`TOKEN_SIGNING_KEY: key #${i} has an unsupported type or alg`);
    if (typeof jwk.kid !== 'string' || jwk.kid === '')
      throw new ConfigError(`TOKEN_SIGNING_KEY: key #${i} needs a "kid"`);
    if (kids.has(jwk.kid)) throw new ConfigError(`TOKEN_SIGNING_KEY: duplicate kid "${jwk.kid}"`);
    kids.add(jwk.kid);
    if (jwk.kty === 'oct' && Buffer.from(jwk.k ?? '', 'base64url').length < 32)
      throw new ConfigError(`TOKEN_SIGNING_KEY: key #${i} is shorter than 32 bytes`);
    if (i === 0 && jwk.kty !== 'oct' && typeof jwk.d !== 'string')
      throw new ConfigError('TOKEN_SIGNING_KEY: the first key must be able to sign (a private or secret key)');
  }
  if (set.assertion_keys === undefined) return { kind: 'jwks', keys: keys as JWK[] };
  const list = set.assertion_keys;
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError('TOKEN_SIGNING_KEY: "assertion_keys" needs a non-empty array');
  const assertionKids = new Set<string>();
  for (const [i, item] of list.entries()) {
    const jwk = (item ?? {}) as JWK;
    const alg = defaultAlg(jwk);
    if (alg !== 'ES256' && alg !== 'EdDSA')
      throw new ConfigError(`TOKEN_SIGNING_KEY: assertion key #${i} must be EC P-256 (ES256) or Ed25519 (EdDSA)`);
    if (typeof jwk.kid !== 'string' || jwk.kid === '' || assertionKids.has(jwk.kid))
      throw new ConfigError(`TOKEN_SIGNING_KEY: assertion key #${i} needs a "kid" of its own`);
    assertionKids.add(jwk.kid);
    if (i === 0 && typeof jwk.d !== 'string')
      throw new ConfigError('TOKEN_SIGNING_KEY: the first assertion key must be private (it signs)');
  }
  return { kind: 'jwks', keys: keys as JWK[], assertionKeys: list as JWK[] };
};

/** Parses TOKEN_SIGNING_KEY material; throws a ConfigError (never echoing the material) when it is unusable. */
export const parseSigningKeys = async (material: string): Promise<SigningKeySet> => {
  const checked = checkSigningKeyMaterial(material);
  let keys: SigningKey[];
  let assertion: AssertionKeys | undefined;
  if (checked.kind === 'jwks') {
    keys = await Promise.all(checked.keys.map((jwk) => fromJwk(jwk)));
    assertion =
      checked.assertionKeys === undefined
        ? derivedAssertionKeys(
            checked.keys
              .filter((jwk) => jwk.kty === 'oct' && typeof jwk.k === 'string')
              .map((jwk) => new Uint8Array(Buffer.from(jwk.k ?? '', 'base64url'))),
          )
        : await assertionKeysFrom(checked.assertionKeys);
  } else {
    keys = await Promise.all(checked.secrets.map((secret) => fromSecret(secret)));
    assertion = derivedAssertionKeys(checked.secrets);
  }
  // checkSigningKeyMaterial made the kids distinct (distinct secrets derive distinct kids) and the first key a signer.
  const byKid = new Map(keys.map((key) => [key.kid, key]));
  return { current: keys[0] as SigningKeySet['current'], byKid, ...(assertion ? { assertion } : {}) };
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

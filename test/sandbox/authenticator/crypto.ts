/**
 * Cryptography of the virtual authenticator: credential key pairs (ES256 / Ed25519), credential IDs that
 * wrap the private key under the device master key (AES-256-GCM, bound to the RP ID hash), the two
 * hmac-secret CredRandom values, and the authenticator side of PIN/UV auth protocols 1 and 2.
 */
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes,
  sign,
  timingSafeEqual,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import { newKeyPair } from '../signing-keys.ts';
import type { CborKey, CborValue } from './cbor.ts';

export const ALG_ES256 = -7;
export const ALG_EDDSA = -8;
export const ALG_ECDH_ES_HKDF_256 = -25;

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function b64url(data: Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Credential keys

/** A credential's key pair, rebuilt from its 32 secret bytes (P-256 scalar or Ed25519 seed). */
export class CredentialKey {
  readonly privateKey: KeyObject;
  readonly cosePublicKey: Map<CborKey, CborValue>;

  constructor(readonly alg: number, readonly secret: Buffer) {
    if (alg === ALG_ES256) {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(secret);
      const point = ecdh.getPublicKey();
      const x = point.subarray(1, 33);
      const y = point.subarray(33, 65);
      this.privateKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64url(secret), x: b64url(x), y: b64url(y) }, format: 'jwk' });
      this.cosePublicKey = new Map<CborKey, CborValue>([[1, 2], [3, ALG_ES256], [-1, 1], [-2, Buffer.from(x)], [-3, Buffer.from(y)]]);
    } else if (alg === ALG_EDDSA) {
      // PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410): fixed prefix followed by the 32-byte seed.
      const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]);
      this.privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      const jwk = createPublicKey(this.privateKey).export({ format: 'jwk' });
      this.cosePublicKey = new Map<CborKey, CborValue>([[1, 1], [3, ALG_EDDSA], [-1, 6], [-2, Buffer.from(String(jwk.x), 'base64url')]]);
    } else {
      throw new Error(`unsupported algorithm ${alg}`);
    }
  }

  static generate(alg: number): CredentialKey {
    if (alg === ALG_ES256) {
      const d = Buffer.from(String(newKeyPair('ES256').privateKey.export({ format: 'jwk' }).d), 'base64url');
      return new CredentialKey(alg, d);
    }
    return new CredentialKey(alg, randomBytes(32));
  }

  /** ES256: ASN.1 DER ECDSA signature over SHA-256; EdDSA: raw 64-byte Ed25519 signature. */
  sign(message: Uint8Array): Buffer {
    return this.alg === ALG_ES256 ? sign('sha256', message, this.privateKey) : sign(null, message, this.privateKey);
  }

  /** The uncompressed P-256 point (U2F's public key format); ES256 only. */
  uncompressedPoint(): Buffer {
    const x = this.cosePublicKey.get(-2) as Buffer;
    const y = this.cosePublicKey.get(-3) as Buffer;
    return Buffer.concat([Buffer.from([0x04]), x, y]);
  }
}

/** What a credential ID carries (encrypted) besides the key. */
export interface WrappedCredential {
  key: CredentialKey;
  hmacSecret: boolean;
  resident: boolean;
  credProtect: number; // 0 = not requested, else 1..3
}

const CRED_ID_VERSION = 0x01;
const ALG_CODES: Record<number, number> = { [ALG_ES256]: 1, [ALG_EDDSA]: 2 };
const ALG_BY_CODE: Record<number, number> = { 1: ALG_ES256, 2: ALG_EDDSA };
export const CREDENTIAL_ID_LENGTH = 1 + 12 + 34 + 16;

/**
 * Device master secrets. A credential ID is `0x01 | iv[12] | AES-256-GCM(wrapKey, alg | flags | secret[32]) | tag[16]`
 * with the RP ID hash as additional data, so an ID only opens for the RP it was made for.
 */
export class DeviceKeys {
  private readonly wrapKey: Buffer;
  private readonly credRandomKey: Buffer;

  constructor(readonly masterKey: Buffer) {
    this.wrapKey = hmacSha256(masterKey, Buffer.from('tng sandbox authenticator: credential wrapping key'));
    this.credRandomKey = hmacSha256(masterKey, Buffer.from('tng sandbox authenticator: CredRandom key'));
  }

  wrap(rpIdHash: Buffer, cred: WrappedCredential): Buffer {
    const flags = (cred.hmacSecret ? 0x01 : 0) | (cred.resident ? 0x02 : 0) | ((cred.credProtect & 0x03) << 2);
    const plaintext = Buffer.concat([Buffer.from([ALG_CODES[cred.key.alg]!, flags]), cred.key.secret]);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.wrapKey, iv);
    cipher.setAAD(rpIdHash);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([CRED_ID_VERSION]), iv, ct, cipher.getAuthTag()]);
  }

  /** Opens a credential ID made by this device for this RP; undefined for anything else. */
  unwrap(rpIdHash: Buffer, credentialId: Uint8Array): WrappedCredential | undefined {
    if (credentialId.length !== CREDENTIAL_ID_LENGTH || credentialId[0] !== CRED_ID_VERSION) return undefined;
    const id = Buffer.from(credentialId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.wrapKey, id.subarray(1, 13));
      decipher.setAAD(rpIdHash);
      decipher.setAuthTag(id.subarray(CREDENTIAL_ID_LENGTH - 16));
      const pt = Buffer.concat([decipher.update(id.subarray(13, CREDENTIAL_ID_LENGTH - 16)), decipher.final()]);
      const alg = ALG_BY_CODE[pt[0]!];
      if (alg === undefined) return undefined;
      const flags = pt[1]!;
      return {
        key: new CredentialKey(alg, Buffer.from(pt.subarray(2, 34))),
        hmacSecret: (flags & 0x01) !== 0,
        resident: (flags & 0x02) !== 0,
        credProtect: (flags >> 2) & 0x03,
      };
    } catch {
      return undefined;
    }
  }

  /** CredRandomWithUV / CredRandomWithoutUV, derived from the credential's secret. */
  credRandom(cred: WrappedCredential, withUv: boolean): Buffer {
    return hmacSha256(this.credRandomKey, Buffer.from([withUv ? 1 : 0]), cred.key.secret);
  }
}

// ---------------------------------------------------------------------------------------------
// PIN/UV auth protocols (authenticator side)

export class ProtocolError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
const ERR_INVALID_PARAMETER = 0x02;

export interface PinUvAuthProtocol {
  readonly version: 1 | 2;
  kdf(z: Buffer): Buffer;
  encrypt(key: Buffer, plaintext: Buffer): Buffer;
  decrypt(key: Buffer, ciphertext: Buffer): Buffer;
  /** Checks `signature` = authenticate(key, message); for a pinUvAuthToken pass the token as key. */
  verify(key: Buffer, message: Buffer, signature: Uint8Array): boolean;
}

function aesCbc(encrypt: boolean, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  if (data.length % 16 !== 0) throw new ProtocolError(ERR_INVALID_PARAMETER, 'ciphertext is not a whole number of AES blocks');
  const c = encrypt ? createCipheriv('aes-256-cbc', key, iv) : createDecipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

export const PROTOCOL_ONE: PinUvAuthProtocol = {
  version: 1,
  kdf: (z) => sha256(z),
  encrypt: (key, pt) => aesCbc(true, key, Buffer.alloc(16), pt),
  decrypt: (key, ct) => aesCbc(false, key, Buffer.alloc(16), ct),
  verify: (key, message, signature) => constantTimeEqual(hmacSha256(key, message).subarray(0, 16), signature),
};

export const PROTOCOL_TWO: PinUvAuthProtocol = {
  version: 2,
  kdf: (z) => {
    const salt = Buffer.alloc(32);
    const hmacKey = Buffer.from(hkdfSync('sha256', z, salt, Buffer.from('CTAP2 HMAC key'), 32));
    const aesKey = Buffer.from(hkdfSync('sha256', z, salt, Buffer.from('CTAP2 AES key'), 32));
    return Buffer.concat([hmacKey, aesKey]);
  },
  encrypt: (key, pt) => {
    const iv = randomBytes(16);
    return Buffer.concat([iv, aesCbc(true, key.subarray(32, 64), iv, pt)]);
  },
  decrypt: (key, ct) => {
    if (ct.length < 16) throw new ProtocolError(ERR_INVALID_PARAMETER, 'ciphertext shorter than its IV');
    return aesCbc(false, key.subarray(32, 64), ct.subarray(0, 16), ct.subarray(16));
  },
  verify: (key, message, signature) => constantTimeEqual(hmacSha256(key.subarray(0, 32), message), signature),
};

export function pinProtocol(version: number): PinUvAuthProtocol | undefined {
  return version === 1 ? PROTOCOL_ONE : version === 2 ? PROTOCOL_TWO : undefined;
}

/** The authenticator's key-agreement key pair (P-256), shared by both protocols. */
export class KeyAgreement {
  private ecdh: ECDH;
  constructor() {
    this.ecdh = createECDH('prime256v1');
    this.ecdh.generateKeys();
  }

  regenerate(): void {
    this.ecdh = createECDH('prime256v1');
    this.ecdh.generateKeys();
  }

  cosePublicKey(): Map<CborKey, CborValue> {
    const point = this.ecdh.getPublicKey();
    return new Map<CborKey, CborValue>([
      [1, 2],
      [3, ALG_ECDH_ES_HKDF_256],
      [-1, 1],
      [-2, Buffer.from(point.subarray(1, 33))],
      [-3, Buffer.from(point.subarray(33, 65))],
    ]);
  }

  /** ECDH with the platform's COSE key, then the protocol's KDF: the shared secret. */
  sharedSecret(protocol: PinUvAuthProtocol, platformKey: CborValue): Buffer {
    if (!(platformKey instanceof Map)) throw new ProtocolError(0x11, 'keyAgreement is not a map');
    const kty = platformKey.get(1);
    const crv = platformKey.get(-1);
    const x = platformKey.get(-2);
    const y = platformKey.get(-3);
    if (kty !== 2 || crv !== 1 || !(x instanceof Uint8Array) || !(y instanceof Uint8Array) || x.length !== 32 || y.length !== 32) {
      throw new ProtocolError(ERR_INVALID_PARAMETER, 'keyAgreement is not a P-256 COSE key');
    }
    let z: Buffer;
    try {
      z = this.ecdh.computeSecret(Buffer.concat([Buffer.from([0x04]), x, y]));
    } catch {
      throw new ProtocolError(ERR_INVALID_PARAMETER, 'keyAgreement point is not on the curve');
    }
    return protocol.kdf(z);
  }
}

/**
 * COSE_Key ↔ Node KeyObject (RFC 9053 / CTAP 2.1 §6.5.6): ES256 `{1:2, 3:-7, -1:1, -2:x, -3:y}`,
 * EdDSA `{1:1, 3:-8, -1:6, -2:x}`, and the PIN-protocol key-agreement key `{1:2, 3:-25, -1:1, -2:x, -3:y}`.
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { protocolError } from '../errors.ts';
import { type CborMap, decodeCbor, encodeCbor } from './cbor.ts';

export const COSE_ALG = { ES256: -7, EdDSA: -8, ECDH_ES_HKDF_256: -25 } as const;
export const COSE_KTY = { OKP: 1, EC2: 2 } as const;
export const COSE_CRV = { P256: 1, Ed25519: 6 } as const;

export interface CosePublicKey {
  alg: number;
  key: KeyObject;
}

function bytesField(map: CborMap, label: number, size: number, what: string): Uint8Array {
  const value = map.get(label);
  if (!(value instanceof Uint8Array) || value.length !== size) {
    throw protocolError(`a COSE ${what} key whose parameter ${label} is not ${size} bytes`);
  }
  return value;
}

const b64u = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

function toKeyObject(jwk: Record<string, string>, what: string): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    throw protocolError(`an invalid ${what} public key`, error);
  }
}

/** The COSE map of a bytes-encoded key. */
export function decodeCoseKey(bytes: Uint8Array): CborMap {
  const value = decodeCbor(bytes, 'COSE key');
  if (!(value instanceof Map)) throw protocolError('a COSE key that is not a map');
  return value;
}

export function encodeCoseKey(cose: CborMap): Uint8Array {
  return encodeCbor(cose);
}

/** A credential public key (ES256 or EdDSA) as a KeyObject; other algorithms are refused. */
export function coseToKeyObject(cose: CborMap | Uint8Array): CosePublicKey {
  const map = cose instanceof Uint8Array ? decodeCoseKey(cose) : cose;
  const kty = map.get(1);
  const alg = map.get(3);
  if (alg === COSE_ALG.ES256) {
    if (kty !== COSE_KTY.EC2 || map.get(-1) !== COSE_CRV.P256) throw protocolError('an ES256 COSE key that is not on P-256');
    const x = bytesField(map, -2, 32, 'ES256');
    const y = bytesField(map, -3, 32, 'ES256');
    return { alg, key: toKeyObject({ kty: 'EC', crv: 'P-256', x: b64u(x), y: b64u(y) }, 'ES256') };
  }
  if (alg === COSE_ALG.EdDSA) {
    if (kty !== COSE_KTY.OKP || map.get(-1) !== COSE_CRV.Ed25519) throw protocolError('an EdDSA COSE key that is not Ed25519');
    const x = bytesField(map, -2, 32, 'EdDSA');
    return { alg, key: toKeyObject({ kty: 'OKP', crv: 'Ed25519', x: b64u(x) }, 'EdDSA') };
  }
  throw protocolError(`a COSE key with unsupported algorithm ${String(alg)}`);
}

function jwkCoordinates(key: KeyObject): { kty?: string; crv?: string; x?: string; y?: string } {
  if (key.type !== 'public' && key.type !== 'private') throw new TypeError('not an asymmetric key');
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'jwk' }) as { kty?: string; crv?: string; x?: string; y?: string };
}

/** A P-256 or Ed25519 public key as a COSE map (ES256 / EdDSA, or -25 for PIN key agreement). */
export function keyObjectToCose(key: KeyObject, alg?: number): CborMap {
  const jwk = jwkCoordinates(key);
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && jwk.x && jwk.y) {
    return ecCoseKey(Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url'), alg ?? COSE_ALG.ES256);
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) {
    return new Map<number, unknown>([
      [1, COSE_KTY.OKP],
      [3, alg ?? COSE_ALG.EdDSA],
      [-1, COSE_CRV.Ed25519],
      [-2, new Uint8Array(Buffer.from(jwk.x, 'base64url'))],
    ]);
  }
  throw new TypeError(`unsupported key type for COSE: ${jwk.kty ?? '?'} ${jwk.crv ?? ''}`);
}

/** `{1:2, 3:alg, -1:1, -2:x, -3:y}` with 32-byte coordinates. */
export function ecCoseKey(x: Uint8Array, y: Uint8Array, alg: number): CborMap {
  if (x.length !== 32 || y.length !== 32) throw new TypeError('P-256 coordinates are 32 bytes');
  return new Map<number, unknown>([
    [1, COSE_KTY.EC2],
    [3, alg],
    [-1, COSE_CRV.P256],
    [-2, new Uint8Array(x)],
    [-3, new Uint8Array(y)],
  ]);
}

/** The x/y coordinates of an authenticator's key-agreement key (kty EC2, crv P-256). */
export function parseKeyAgreementKey(value: unknown): { x: Uint8Array; y: Uint8Array } {
  if (!(value instanceof Map)) throw protocolError('a key-agreement key that is not a COSE map');
  if (value.get(1) !== COSE_KTY.EC2 || value.get(-1) !== COSE_CRV.P256) {
    throw protocolError('a key-agreement key that is not an EC2 P-256 key');
  }
  return { x: bytesField(value, -2, 32, 'key-agreement'), y: bytesField(value, -3, 32, 'key-agreement') };
}

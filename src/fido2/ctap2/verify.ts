/**
 * Assertion verification: the signature covers `authData ‖ clientDataHash`; ES256 signatures are ASN.1
 * DER, EdDSA signatures raw 64 bytes. The rpIdHash must be SHA-256 of the RP ID.
 */
import { createHash, verify as cryptoVerify, timingSafeEqual } from 'node:crypto';
import { TngError } from '../../errors.ts';
import { asBuffer, concatBytes } from '../util.ts';
import { type AuthenticatorData, parseAuthenticatorData } from './authdata.ts';
import type { CborMap } from './cbor.ts';
import { COSE_ALG, type CosePublicKey, coseToKeyObject } from './cose.ts';

export function rpIdHash(rpId: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(rpId, 'utf8').digest());
}

/** Checks one signature with a credential key; a malformed signature is simply "not valid". */
export function verifySignature(key: CosePublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (key.alg === COSE_ALG.ES256) {
      return cryptoVerify('sha256', asBuffer(data), { key: key.key, dsaEncoding: 'der' }, asBuffer(signature));
    }
    if (key.alg === COSE_ALG.EdDSA) {
      return signature.length === 64 && cryptoVerify(null, asBuffer(data), key.key, asBuffer(signature));
    }
  } catch {
    return false;
  }
  return false;
}

export interface AssertionToVerify {
  /** The enrolled credential public key: COSE bytes, a COSE map, or an already converted key. */
  publicKey: Uint8Array | CborMap | CosePublicKey;
  rpId: string;
  authData: Uint8Array;
  clientDataHash: Uint8Array;
  signature: Uint8Array;
  /** Require the UP flag (default true). */
  requireUserPresence?: boolean;
  /** Require the UV flag (default false). */
  requireUserVerification?: boolean;
}

export type VerifyFailure = 'malformed' | 'rp-id-hash' | 'user-presence' | 'user-verification' | 'signature';

export type VerifyResult =
  | { ok: true; authData: AuthenticatorData }
  | { ok: false; reason: VerifyFailure; detail: string };

/** Verifies an assertion; never throws for bad input, it reports why the assertion does not hold. */
export function verifyAssertion(a: AssertionToVerify): VerifyResult {
  let key: CosePublicKey;
  let parsed: AuthenticatorData;
  try {
    key = a.publicKey instanceof Uint8Array || a.publicKey instanceof Map ? coseToKeyObject(a.publicKey) : a.publicKey;
    parsed = parseAuthenticatorData(a.authData);
  } catch (error) {
    return { ok: false, reason: 'malformed', detail: error instanceof TngError ? error.message : String(error) };
  }
  const expected = rpIdHash(a.rpId);
  if (!timingSafeEqual(Buffer.from(parsed.rpIdHash), Buffer.from(expected))) {
    return { ok: false, reason: 'rp-id-hash', detail: `the authenticator data is not for RP ID "${a.rpId}"` };
  }
  if ((a.requireUserPresence ?? true) && !parsed.userPresent) {
    return { ok: false, reason: 'user-presence', detail: 'the user-present flag is not set' };
  }
  if (a.requireUserVerification && !parsed.userVerified) {
    return { ok: false, reason: 'user-verification', detail: 'the user-verified flag is not set' };
  }
  if (a.clientDataHash.length !== 32) return { ok: false, reason: 'malformed', detail: 'clientDataHash is not 32 bytes' };
  if (!verifySignature(key, concatBytes(a.authData, a.clientDataHash), a.signature)) {
    return { ok: false, reason: 'signature', detail: 'the signature does not verify with the enrolled public key' };
  }
  return { ok: true, authData: parsed };
}

/**
 * The hmac-secret extension (CTAP 2.1 §12.5). getAssertion input:
 * `{1: keyAgreement, 2: saltEnc, 3: saltAuth, 4: pinUvAuthProtocol}` with `saltEnc = encrypt(ss, salt1 ‖ salt2?)`
 * and `saltAuth = authenticate(ss, saltEnc)`; key 4 is sent for protocol 2 only (libfido2's choice, which
 * CTAP 2.0 authenticators accept). Output: authData extension `hmac-secret` = `encrypt(ss, out1 ‖ out2?)`.
 */
import { internalError, protocolError } from '../errors.ts';
import { concatBytes } from '../util.ts';
import type { CborMap } from './cbor.ts';
import type { PinProtocol, SharedSecret } from './pin.ts';

export const HMAC_SECRET = 'hmac-secret';
export const SALT_SIZE = 32;

export function hmacSecretInput(protocol: PinProtocol, shared: SharedSecret, salt1: Uint8Array, salt2?: Uint8Array): CborMap {
  if (salt1.length !== SALT_SIZE || (salt2 !== undefined && salt2.length !== SALT_SIZE)) {
    throw internalError('fido2.bad-salt', `hmac-secret salts are ${SALT_SIZE} bytes.`);
  }
  const salts = salt2 ? concatBytes(salt1, salt2) : salt1;
  const saltEnc = protocol.encrypt(shared.sharedSecret, salts);
  const input = new Map<number, unknown>([
    [1, shared.keyAgreement],
    [2, saltEnc],
    [3, protocol.authenticate(shared.sharedSecret, saltEnc)],
  ]);
  if (protocol.version === 2) input.set(4, 2);
  return input;
}

export interface HmacSecretOutput {
  output1: Uint8Array;
  output2?: Uint8Array;
}

/** Decrypts the extension output; it must hold one 32-byte output per salt sent. */
export function decryptHmacSecretOutput(
  protocol: PinProtocol,
  sharedSecret: Uint8Array,
  encrypted: unknown,
  saltCount: 1 | 2,
): HmacSecretOutput {
  if (!(encrypted instanceof Uint8Array)) throw protocolError('an hmac-secret output that is not a byte string');
  const plain = protocol.decrypt(sharedSecret, encrypted);
  if (plain.length !== SALT_SIZE * saltCount) {
    throw protocolError(`an hmac-secret output of ${plain.length} bytes for ${saltCount} salt(s)`);
  }
  const output1 = plain.slice(0, SALT_SIZE);
  return saltCount === 2 ? { output1, output2: plain.slice(SALT_SIZE) } : { output1 };
}

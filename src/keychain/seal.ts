import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { TngError } from '../errors.ts';

/**
 * Sealing with the hardware key. A random 32-byte data key seals the stored secrets (AES-256-GCM); the data
 * key itself is sealed once per enrolled credential with a key derived (HKDF-SHA256) from that credential's
 * hmac-secret output, so any enrolled key — a primary or a backup — opens the same secrets, and the keychain
 * alone opens nothing.
 */

const PREFIX = 'tng-sealed:v1:';
const KEY_BYTES = 32;

export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** The key that seals the data key for one credential: HKDF over its hmac-secret output. */
export function keyFromHmacOutput(hmacOutput: Uint8Array, credentialId: string): Buffer {
  if (hmacOutput.length !== 32) throw new TypeError('hmac-secret output must be 32 bytes');
  return Buffer.from(hkdfSync('sha256', hmacOutput, Buffer.alloc(0), Buffer.from(`tng data key v1 ${credentialId}`), KEY_BYTES));
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** AES-256-GCM with a random nonce; `context` is bound as associated data (what the value is for). */
export function seal(key: Uint8Array, plaintext: string | Uint8Array, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
  return `${PREFIX}${[iv, body, cipher.getAuthTag()].map((part) => part.toString('base64url')).join('.')}`;
}

export function unsealBytes(key: Uint8Array, sealed: string, context: string): Buffer {
  const parts = sealed.startsWith(PREFIX) ? sealed.slice(PREFIX.length).split('.') : [];
  if (parts.length !== 3) {
    throw new TngError('keychain', 'keychain.sealed-malformed', `A sealed secret (${context}) is malformed.`, {
      hint: 'Run `tng logout` and `tng login` to store it anew.',
    });
  }
  const [iv, body, tag] = parts.map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer];
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (cause) {
    throw new TngError('keychain', 'keychain.unseal-failed', `A sealed secret (${context}) does not open with this key: it was altered, or sealed for another key.`, {
      hint: 'Touch an enrolled key; if it keeps failing, run `tng logout` and `tng login` to store it anew.',
      cause,
    });
  }
}

export function unseal(key: Uint8Array, sealed: string, context: string): string {
  return unsealBytes(key, sealed, context).toString('utf8');
}

import { nodeCrypto } from '../platform/lazy-crypto.ts';

/** SHA-256 of an argv as a JSON array: an exec entry records that a command ran, never what it was given. */
export function argvDigest(argv: readonly string[]): string {
  return nodeCrypto().createHash('sha256').update(JSON.stringify(argv)).digest('hex');
}

import { randomBytes } from 'node:crypto';
import type { SecretStore } from './store.ts';

/**
 * Writes and removes a throwaway item, so that a keychain which cannot keep the session (locked, or
 * refusing writes) is found out before a touch, a browser login or a spent refresh token — reading alone
 * does not tell: a locked keyring with no tng items in it reads as empty. Throws the store's own error (exit 7).
 */
export async function assertWritable(store: SecretStore, profile: string): Promise<void> {
  const key = `probe:${profile}`;
  await store.set(key, randomBytes(8).toString('hex'));
  await store.delete(key);
}

/**
 * Before a command says "not logged in" because a read found nothing: an OS keyring that is locked reads
 * as empty, and then the trouble is the lock (exit 7), which a login would only run into next.
 */
export async function assertNotLocked(store: SecretStore, profile: string): Promise<void> {
  const { isFileKeychain } = await import('./file.ts');
  if (!isFileKeychain(store)) await assertWritable(store, profile);
}

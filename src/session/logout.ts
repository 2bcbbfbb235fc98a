import type { Deps } from '../deps.ts';
import { TngError, describe } from '../errors.ts';
import { isFileKeychain } from '../keychain/file.ts';
import { itemKey, tokenHelperKey, type ItemKind } from '../keychain/store.ts';
import { removeIfEmpty } from '../keychain/profile-keys.ts';
import { VaultClient } from '../vault/client.ts';
import { loadSession } from './session.ts';

/** The items that make up a session (AWS credentials live in the session item); the client secret is configuration and stays. */
const SESSION_ITEMS: ItemKind[] = ['session', 'refresh-token'];

export interface LogoutResult {
  profile: string;
  hadSession: boolean;
  revoked: boolean;
}

/**
 * Revokes the Vault token (revoke-self) and deletes the profile's session items. The revocation is
 * best effort: an unreachable Vault earns a warning, and the local secrets are removed regardless.
 */
export interface LogoutTarget {
  profile: string;
  cacertPath?: string;
  /** The profile's Vault, for the token-helper item (the session knows it too). */
  vaultAddr?: string;
  vaultNamespace?: string;
}

export async function logout(target: LogoutTarget, deps: Pick<Deps, 'io' | 'keychain' | 'fetch'>): Promise<LogoutResult> {
  const { profile, cacertPath } = target;
  const store = await deps.keychain();
  // A sealed secrets file opens only with a touch, and logout asks for none: its items are removed unread.
  const sealed = isFileKeychain(store) && store.isLocked();
  const session = sealed ? undefined : await loadSession(store, profile);
  if (sealed && (await store.has(itemKey(profile, 'session')))) {
    deps.io.warn(`The Vault token of profile "${profile}" is not revoked: it is sealed in tng's secrets file, which opens only with a touch.`);
    deps.io.warn('The local secrets are removed anyway; the token ends at its TTL.');
  }
  const vaultAddr = session?.vault.addr ?? target.vaultAddr;
  const vaultNamespace = session?.vault.namespace ?? target.vaultNamespace;
  let revoked = false;
  if (session !== undefined) {
    try {
      const fetch = await deps.fetch({ cacertPath });
      const vault = new VaultClient({ addr: session.vault.addr, namespace: session.vault.namespace ?? undefined, fetch });
      await vault.revokeSelf(session.vault.token);
      revoked = true;
    } catch (error) {
      if (error instanceof TngError && error.kind === 'noSession') {
        revoked = true; // already expired or revoked
      } else {
        deps.io.warn(`Could not revoke the Vault token of profile "${profile}": ${describe(error)}`);
        deps.io.warn('The local secrets are removed anyway; the token ends at its TTL.');
      }
    }
  }
  let removed = false;
  for (const kind of SESSION_ITEMS) {
    removed = (await store.delete(itemKey(profile, kind))) || removed;
  }
  // A sealed secrets file is not read; there an empty `keys` item stays until the file is next opened.
  if (!sealed) await removeIfEmpty(store, profile);
  // The Vault CLI's token-helper item for this Vault goes too.
  if (vaultAddr !== undefined) removed = (await store.delete(tokenHelperKey(vaultAddr, vaultNamespace))) || removed;
  return { profile, hadSession: session !== undefined || removed, revoked };
}

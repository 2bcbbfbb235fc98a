/**
 * A secret store: string values under string keys. Implementations: the OS keychain (service `tng`)
 * and, later, a file wrapped by the hardware key. Failures are TngErrors of kind `keychain` (exit 7).
 */
export interface SecretStore {
  /** The value, or undefined when no item exists. */
  get(key: string): Promise<string | undefined>;
  /** Writes the value and reads it back; throws when the read-back differs. */
  set(key: string, value: string): Promise<void>;
  /** Removes the item; true when something was removed. Removing a missing item is not an error. */
  delete(key: string): Promise<boolean>;
  /**
   * Starts, in the background, what the first call will wait for (the OS keychain: its session-bus probe),
   * so that it overlaps other start-up work. Never throws: a failure surfaces at the first call.
   */
  prepare?(): void;
}

/** The keychain service name every tng item is stored under. */
export const SERVICE = 'tng';

/**
 * Kinds of item tng keeps per profile: `session` (the Vault token, and the AWS credentials issued under it),
 * `refresh-token`, and `keys` (what outlives a session: the client secret, the sealed data keys; see
 * profile-keys.ts). `client-secret` and `data-key` are the names earlier versions used for what `keys` holds.
 */
export type ItemKind = 'session' | 'refresh-token' | 'keys' | 'client-secret' | 'data-key';

/** The structured item name for one profile's item of one kind, e.g. `profile:work:session`. */
export function itemKey(profile: string, kind: ItemKind): string {
  return `profile:${profile}:${kind}`;
}

/** A Vault address without trailing slashes: `https://vault:8200/` and `https://vault:8200` are one. */
export const bareVaultAddr = (addr: string): string => addr.replace(/\/+$/, '');

/** A namespace as Vault reads it: `team1`, `team1/` and `/team1/` are one; none, or only slashes, is none. */
export const bareNamespace = (namespace: string | undefined): string | undefined => namespace?.replace(/^\/+|\/+$/g, '') || undefined;

/** The item `tng token-helper store` keeps for one Vault address (+ namespace), as the Vault CLI keys it. */
export function tokenHelperKey(vaultAddr: string, namespace: string | undefined): string {
  const bare = bareNamespace(namespace);
  return `vault-token:${bareVaultAddr(vaultAddr)}${bare ? `|${bare}` : ''}`;
}

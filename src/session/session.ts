import { itemKey, type SecretStore } from '../keychain/store.ts';
import type { AwsCredentials } from '../aws/credentials.ts';
import type { Profile } from '../config/profile.ts';
import type { IdentityClaims } from '../oidc/client.ts';
import { withLock } from '../state/lock.ts';
import { timed } from '../debug/timing.ts';

/** A logged-in session: the Vault token and what tng knows of the identity behind it. */
export interface Session {
  version: 1;
  profile: string;
  /** When the session was made, milliseconds since the epoch. */
  createdAt: number;
  vault: {
    addr: string;
    namespace: string | null;
    token: string;
    accessor: string;
    policies: string[];
    entityId: string;
    /** Expiry of the Vault token, seconds since the epoch. */
    expiresAt: number;
    renewable: boolean;
    method: 'jwt' | 'oidc';
    mount: string;
  };
  /** Null fields where tng cannot know them (Vault's OIDC method). */
  oidc: {
    issuer: string;
    subject: string | null;
    email: string | null;
    groups: string[] | null;
    expiresAt: number | null;
  };
  /**
   * AWS credentials issued under this Vault token, per role slot. They live in the session's own item so
   * the hot paths (exec, credential-process) read one keychain item; a new login starts without them.
   */
  aws?: Record<string, AwsCredentials>;
  /** The id of the audit trail's signed `login` entry that made this session (none without a touch). */
  login?: string;
}

function isSession(value: unknown): value is Session {
  const session = value as Session;
  return (
    typeof session === 'object' &&
    session !== null &&
    session.version === 1 &&
    typeof session.vault?.token === 'string' &&
    typeof session.vault.expiresAt === 'number' &&
    typeof session.oidc === 'object'
  );
}

/** The stored session of a profile, or undefined when there is none (or it is unreadable). */
export async function loadSession(store: SecretStore, profile: string): Promise<Session | undefined> {
  const text = await timed('keychain read (session)', () => store.get(itemKey(profile, 'session')));
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isSession(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function saveSession(store: SecretStore, session: Session): Promise<void> {
  await timed('keychain write (session)', () => store.set(itemKey(session.profile, 'session'), JSON.stringify(session)));
}

/**
 * Read-modify-write of a profile's session item under the state-dir lock `session-<profile>`, which every
 * writer that may race another (login, the AWS credential cache) takes, so none overwrites a newer session.
 * `change` gets the stored session and returns what to store (undefined: leave it).
 */
export async function updateSession(
  store: SecretStore,
  stateDir: string,
  profile: string,
  change: (current: Session | undefined) => Session | undefined,
  signal?: AbortSignal,
): Promise<void> {
  await withLock(stateDir, `session-${profile}`, { timeoutMs: 30_000, ...(signal ? { signal } : {}) }, async () => {
    const next = change(await loadSession(store, profile));
    if (next !== undefined) await saveSession(store, next);
  });
}

/** Whether the session was made at the Vault (address and namespace) the profile names now. */
export function isForVaultOf(session: Session, profile: Pick<Profile, 'vaultAddr' | 'vaultNamespace'>): boolean {
  return session.vault.addr.replace(/\/+$/, '') === profile.vaultAddr && (session.vault.namespace ?? undefined) === profile.vaultNamespace;
}

/** A Vault for messages: its address, and its namespace when there is one. */
export function describeVault(vault: { addr: string; namespace?: string | null }): string {
  return vault.namespace ? `${vault.addr} (namespace ${vault.namespace})` : vault.addr;
}

/** True while the Vault token has more than `marginSeconds` left. */
export function sessionIsLive(session: Session, nowMs: number, marginSeconds = 0): boolean {
  return session.vault.expiresAt - marginSeconds > nowMs / 1000;
}

export function identityFromClaims(claims: IdentityClaims): Session['oidc'] {
  return {
    issuer: claims.issuer,
    subject: claims.subject,
    email: claims.email,
    groups: claims.groups,
    expiresAt: claims.expiresAt,
  };
}

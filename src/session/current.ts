import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { isTngError, noSessionError } from '../errors.ts';
import { LOGIN_TIMEOUT_MS } from './login-timeout.ts';
import { renewIfEndingWithin } from './renew.ts';
import { describeVault, isForVaultOf, loadSession, sessionIsLive, type Session } from './session.ts';

/** Seconds a session must have left to be handed to a command without renewing it first. */
const MIN_LEFT_SECONDS = 60;

/**
 * The session a command runs with: the stored one while it has time left (renewed when it is about to
 * end), else — only with a person at a terminal and when `interactive` — the login flow; otherwise exit 3.
 */
export async function currentSession(
  profile: Profile,
  deps: Pick<Deps, 'env' | 'io' | 'clock' | 'signal' | 'keychain' | 'fetch' | 'browser' | 'paths'>,
  interactive: boolean,
): Promise<Session> {
  const store = await deps.keychain();
  const stored = await loadSession(store, profile.name);
  // A session made for another Vault than the profile now names (vault_addr or vault_namespace changed
  // since the login) is not handed to commands, which would otherwise carry on against the old one.
  const elsewhere = stored !== undefined && !isForVaultOf(stored, profile) ? stored : undefined;
  const session = elsewhere === undefined ? stored : undefined;
  if (session !== undefined && sessionIsLive(session, deps.clock.now(), MIN_LEFT_SECONDS)) return session;
  if (session !== undefined && session.vault.renewable && sessionIsLive(session, deps.clock.now(), 5)) {
    try {
      const [fetch, { VaultClient }] = await Promise.all([deps.fetch({ cacertPath: profile.vaultCacert }), import('../vault/client.ts')]);
      const vault = new VaultClient({ addr: session.vault.addr, namespace: session.vault.namespace ?? undefined, fetch });
      const renewed = await renewIfEndingWithin(session, MIN_LEFT_SECONDS, vault, deps);
      if (sessionIsLive(renewed, deps.clock.now(), MIN_LEFT_SECONDS)) return renewed;
    } catch (error) {
      if (!isTngError(error, 'noSession')) throw error;
    }
  }
  if (!interactive || !deps.io.canPrompt()) {
    if (elsewhere !== undefined) {
      throw noSessionError(`The session of profile "${profile.name}" is for Vault at ${describeVault(elsewhere.vault)}, but the profile now names ${describeVault({ addr: profile.vaultAddr, namespace: profile.vaultNamespace })}.`);
    }
    if (stored === undefined) await (await import('../keychain/probe.ts')).assertNotLocked(store, profile.name);
    throw noSessionError(session === undefined ? `Not logged in (profile "${profile.name}").` : `The session of profile "${profile.name}" has ended.`);
  }
  const why = elsewhere !== undefined ? 'The profile now names another Vault: logging in there.' : session === undefined ? 'Not logged in yet: logging in first.' : 'The session has ended: logging in again.';
  return loginFirst(profile, deps, why);
}

type LoginDeps = Parameters<typeof currentSession>[1];

/** The login flow on a terminal, before a command that needs a session (exec with a TTY). */
export async function loginFirst(profile: Profile, deps: LoginDeps, why: string): Promise<Session> {
  deps.io.info(why);
  const { login } = await import('./login.ts');
  return (await login(profile, { deviceCode: false, noBrowser: false, timeoutMs: LOGIN_TIMEOUT_MS }, deps)).session;
}

/**
 * Runs `use` with the session; when Vault turns out no longer to accept its token (revoked, though its TTL
 * has not run out) and a person is at a terminal, logs in and runs `use` once more with the new session.
 * Returns what `use` returned and the session it ran with.
 */
export async function withLiveSession<T>(profile: Profile, deps: LoginDeps, session: Session, use: (session: Session) => Promise<T>): Promise<{ value: T; session: Session }> {
  try {
    return { value: await use(session), session };
  } catch (error) {
    if (!isTngError(error, 'noSession') || !deps.io.canPrompt()) throw error;
    const fresh = await loginFirst(profile, deps, 'Vault no longer accepts the session token: logging in again.');
    return { value: await use(fresh), session: fresh };
  }
}

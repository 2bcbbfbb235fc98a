import type { Deps } from '../deps.ts';
import type { VaultClient } from '../vault/client.ts';
import { updateSession, type Session } from './session.ts';

export interface Renewal {
  /** The session with the renewed token's expiry; the session passed in when nothing was renewed. */
  session: Session;
  /** Puts the renewal into the stored copy of the session; undefined when nothing was renewed. */
  applyTo?: (stored: Session) => Session;
}

/**
 * Renews the session's Vault token at Vault when it would end within `seconds` (e.g. before AWS
 * credentials that should outlive it are issued), without storing the result: a caller that writes the
 * session anyway stores it in the same keychain write. A token that cannot be renewed is left as it is.
 */
export async function renewalIfEndingWithin(session: Session, seconds: number, vault: VaultClient, clock: Deps['clock']): Promise<Renewal> {
  const nowSeconds = Math.floor(clock.now() / 1000);
  if (!session.vault.renewable || session.vault.expiresAt - nowSeconds > seconds) return { session };
  const auth = await vault.renewSelf(session.vault.token);
  const applyTo = (stored: Session): Session => ({
    ...stored,
    vault: { ...stored.vault, expiresAt: nowSeconds + auth.lease_duration, renewable: auth.renewable },
  });
  return { session: applyTo(session), applyTo };
}

/** Whether `stored` is still the session a renewal or an issuance was made under (no login has replaced it). */
export function isSameSession(stored: Session | undefined, session: Session): stored is Session {
  return stored !== undefined && stored.vault.accessor === session.vault.accessor;
}

/**
 * Stores a renewal over the latest copy of the session (keeping what others cached in it), unless a login
 * has replaced the session. Returns the session as stored.
 */
export async function storeRenewal(renewal: Renewal, deps: Pick<Deps, 'keychain' | 'paths'>): Promise<Session> {
  const { applyTo } = renewal;
  if (applyTo === undefined) return renewal.session;
  let renewed = renewal.session;
  await updateSession(await deps.keychain(), deps.paths.state, renewal.session.profile, (current) => {
    if (!isSameSession(current, renewal.session)) return undefined;
    renewed = applyTo(current);
    return renewed;
  });
  return renewed;
}

/** Renews the session's Vault token when it would end within `seconds`, and stores it. Returns the session. */
export async function renewIfEndingWithin(
  session: Session,
  seconds: number,
  vault: VaultClient,
  deps: Pick<Deps, 'clock' | 'keychain' | 'paths'>,
): Promise<Session> {
  return storeRenewal(await renewalIfEndingWithin(session, seconds, vault, deps.clock), deps);
}

import type { Deps } from '../deps.ts';
import type { VaultClient } from '../vault/client.ts';
import { updateSession, type Session } from './session.ts';

/**
 * Renews the session's Vault token when it would end within `seconds` (e.g. before AWS credentials that
 * should outlive it are issued). A token that cannot be renewed, or no further, is left as it is.
 * Returns the session, updated and stored when it was renewed.
 */
export async function renewIfEndingWithin(
  session: Session,
  seconds: number,
  vault: VaultClient,
  deps: Pick<Deps, 'clock' | 'keychain' | 'paths'>,
): Promise<Session> {
  const nowSeconds = Math.floor(deps.clock.now() / 1000);
  if (!session.vault.renewable || session.vault.expiresAt - nowSeconds > seconds) return session;
  const auth = await vault.renewSelf(session.vault.token);
  const extend = (stored: Session): Session => ({
    ...stored,
    vault: { ...stored.vault, expiresAt: nowSeconds + auth.lease_duration, renewable: auth.renewable },
  });
  let renewed = extend(session);
  // Stored over the latest copy (keeping what others cached in it), unless a login has replaced the session.
  await updateSession(await deps.keychain(), deps.paths.state, session.profile, (current) => {
    if (current === undefined || current.vault.accessor !== session.vault.accessor) return undefined;
    renewed = extend(current);
    return renewed;
  });
  return renewed;
}

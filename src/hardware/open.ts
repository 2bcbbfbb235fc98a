import type { Fido2Entry } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import type { Authenticator, OpenOptions } from '../fido2/client.ts';
import { stderrPrompts } from './prompts.ts';

/** How long to ask for a key to be plugged in, on a terminal (the contract's 30 s). */
export const WAIT_FOR_DEVICE_MS = 30_000;

/** The enrolled credentials as probe groups (one per RP id). */
export function credentialGroups(entries: Fido2Entry[]): NonNullable<OpenOptions['credentials']>['groups'] {
  const rpIds = [...new Set(entries.map((e) => e.rp_id))];
  return rpIds.map((rpId) => ({ rpId, ids: entries.filter((e) => e.rp_id === rpId).map((e) => Buffer.from(e.credential_id, 'base64url')) }));
}

/**
 * Opens the authenticator (TNG_FIDO2_DEVICE, else discovery); with a TTY, waits for one to be plugged in.
 * With several keys, `enrolled` picks the one holding (`present`) or lacking (`absent`) an enrolled credential.
 */
export async function openAuthenticator(
  deps: Pick<Deps, 'env' | 'io' | 'signal'>,
  purpose: string,
  enrolled?: { entries: Fido2Entry[]; want: 'present' | 'absent' },
): Promise<Authenticator> {
  const { createFido2Client } = await import('../fido2/client.ts');
  return createFido2Client().open({
    spec: deps.env.TNG_FIDO2_DEVICE || undefined,
    signal: deps.signal,
    prompts: stderrPrompts(deps, purpose),
    waitForDeviceMs: deps.io.canPrompt() ? WAIT_FOR_DEVICE_MS : undefined,
    ...(enrolled && enrolled.entries.length > 0 ? { credentials: { groups: credentialGroups(enrolled.entries), want: enrolled.want } } : {}),
  });
}

import type { Fido2Entry, Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { TngError } from '../errors.ts';
import type { Authenticator, OpenOptions, TouchPrompts } from '../fido2/client.ts';
import { stderrPrompts } from './prompts.ts';

/** How long to ask for a key to be plugged in, on a terminal (the contract's 30 s). */
export const WAIT_FOR_DEVICE_MS = 30_000;

/** A key that is plugged in, and the profile's credential on it. */
export interface EnrolledKey {
  authenticator: Authenticator;
  entry: Fido2Entry;
}

/** The enrolled credentials as probe groups (one per RP id). */
export function credentialGroups(entries: Fido2Entry[]): NonNullable<OpenOptions['credentials']>['groups'] {
  const rpIds = [...new Set(entries.map((e) => e.rp_id))];
  return rpIds.map((rpId) => ({ rpId, ids: entries.filter((e) => e.rp_id === rpId).map((e) => Buffer.from(e.credential_id, 'base64url')) }));
}

function openOptions(deps: Pick<Deps, 'env' | 'io' | 'signal'>, prompts: TouchPrompts, enrolled?: { entries: Fido2Entry[]; want: 'present' | 'absent' }): OpenOptions {
  return {
    spec: deps.env.TNG_FIDO2_DEVICE || undefined,
    signal: deps.signal,
    prompts,
    waitForDeviceMs: deps.io.canPrompt() ? WAIT_FOR_DEVICE_MS : undefined,
    ...(enrolled && enrolled.entries.length > 0 ? { credentials: { groups: credentialGroups(enrolled.entries), want: enrolled.want } } : {}),
  };
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
  return createFido2Client().open(openOptions(deps, stderrPrompts(deps, purpose), enrolled));
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** Which of the profile's enrolled credentials lives on this key, found with a silent probe (no touch). */
export async function findEnrolledEntry(authenticator: Authenticator, profile: Pick<Profile, 'name' | 'fido2'>): Promise<Fido2Entry> {
  for (const rpId of new Set(profile.fido2.map((e) => e.rp_id))) {
    const ids = profile.fido2.filter((e) => e.rp_id === rpId).map((e) => Buffer.from(e.credential_id, 'base64url'));
    const found = await authenticator.hasCredential(rpId, ids);
    const entry = found ? profile.fido2.find((e) => e.rp_id === rpId && e.credential_id === b64(found)) : undefined;
    if (entry) return entry;
  }
  throw new TngError('authenticator', 'fido2.no-credential', `${authenticator.name} is not enrolled for profile "${profile.name}".`, {
    hint: 'Use an enrolled key, or enrol this one with `tng enroll --add`.',
  });
}

/** The name the touch prompt gives several keys asked at once: "either YubiKey 5", "YubiKey 5 or Solo 2". */
export function severalKeysName(names: string[]): string {
  const unique = [...new Set(names)];
  if (unique.length === 1) return `${names.length === 2 ? 'either' : 'any'} ${unique[0]}`;
  return unique.join(' or ');
}

/**
 * The plugged-in keys that hold one of the profile's credentials, each with its entry (found silently, no
 * touch); the caller closes them. Several are all kept when none of them needs a PIN, so that one touch on
 * any of them does (as a browser asks every key at once); when a PIN is needed, one key is first chosen by
 * a touch, so that a PIN is never asked of two keys at once. With no enrolled key plugged in, the error
 * says that the key found is not enrolled.
 */
export async function openEnrolledKeys(deps: Pick<Deps, 'env' | 'io' | 'signal'>, purpose: string, profile: Pick<Profile, 'name' | 'fido2'>): Promise<EnrolledKey[]> {
  const { createFido2Client } = await import('../fido2/client.ts');
  const client = createFido2Client();
  const shown = stderrPrompts(deps, purpose);
  let several: string | undefined;
  const prompts: TouchPrompts = { ...shown, touch: (deviceName) => shown.touch(several ?? deviceName) };
  // No `credentials` filter: the probe below is that filter, and asks each key once.
  const authenticators = await client.openAll(openOptions(deps, prompts));
  const probes = await Promise.allSettled(authenticators.map((authenticator) => findEnrolledEntry(authenticator, profile)));
  const keys: EnrolledKey[] = [];
  const errors: unknown[] = [];
  for (const [index, probe] of probes.entries()) {
    const authenticator = authenticators[index] as Authenticator;
    if (probe.status === 'fulfilled') keys.push({ authenticator, entry: probe.value });
    else errors.push(probe.reason);
  }
  await Promise.all(authenticators.filter((a) => !keys.some((k) => k.authenticator === a)).map((a) => a.close().catch(() => undefined)));
  if (keys.length === 0) {
    throw errors.find((e) => e instanceof TngError && e.code === 'fido2.no-credential') ?? errors[0];
  }
  if (keys.length === 1 || keys.every((k) => !k.authenticator.needsPin(k.entry.uv))) {
    if (keys.length > 1) several = severalKeysName(keys.map((k) => k.authenticator.name));
    return keys;
  }
  const chosen = await client.select(keys.map((k) => k.authenticator), { prompts, ...(deps.signal ? { signal: deps.signal } : {}) });
  return keys.filter((k) => k.authenticator === chosen);
}

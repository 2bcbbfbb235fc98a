import type { Fido2Entry, Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { TngError } from '../errors.ts';
import type { Authenticator } from '../fido2/client.ts';
import { itemKey, type SecretStore } from '../keychain/store.ts';
import { keyFromHmacOutput, seal, unsealBytes } from '../keychain/seal.ts';
import { openAuthenticator } from './open.ts';

/** What a touch proved: which enrolled credential signed, over what, and (when asked) the opened data key. */
export interface TouchResult {
  entry: Fido2Entry;
  authData: Uint8Array;
  signature: Uint8Array;
  clientDataHash: Uint8Array;
  signCount: number;
  /** The hmac-secret output (kept in memory only), when the touch was asked to open the data key. */
  hmacOutput?: Uint8Array;
  /** The data key, when one was sealed for this credential. */
  dataKey?: Buffer;
}

export type TouchDeps = Pick<Deps, 'env' | 'io' | 'signal' | 'keychain'>;

/** The sealed data key, once per enrolled credential: `{ credential_id: sealed }`. */
export async function readSealedDataKeys(store: SecretStore, profile: string): Promise<Record<string, string>> {
  const text = await store.get(itemKey(profile, 'data-key'));
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return {};
  }
}

export async function writeSealedDataKeys(store: SecretStore, profile: string, sealed: Record<string, string>): Promise<void> {
  await store.set(itemKey(profile, 'data-key'), JSON.stringify(sealed));
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** Seals the data key for one credential with the key derived from its hmac-secret output. */
export function sealDataKeyFor(entry: Fido2Entry, hmacOutput: Uint8Array, dataKey: Uint8Array): string {
  return seal(keyFromHmacOutput(hmacOutput, entry.credential_id), dataKey, `data key for ${entry.credential_id}`);
}

/**
 * One touch on an enrolled key: an assertion over `clientDataHash`, verified against the public key
 * enrolled for that credential before anything is unlocked; with `openDataKey`, the hmac-secret output
 * opens the data key. Any failure is exit 5 (or 130 on Ctrl-C) and leaves the keychain untouched.
 */
export async function touch(
  profile: Profile,
  clientDataHash: Uint8Array,
  options: { openDataKey: boolean; purpose: string },
  deps: TouchDeps,
  opened?: Authenticator,
): Promise<TouchResult> {
  if (profile.fido2.length === 0) {
    throw new TngError('usage', 'fido2.not-enrolled', `Profile "${profile.name}" has no enrolled security key.`, {
      hint: `Run \`tng enroll --profile ${profile.name}\`, or set touch = "never".`,
    });
  }
  const authenticator = opened ?? (await openAuthenticator(deps, options.purpose, { entries: profile.fido2, want: 'present' }));
  try {
    const rpIds = [...new Set(profile.fido2.map((e) => e.rp_id))];
    let entry: Fido2Entry | undefined;
    for (const rpId of rpIds) {
      const ids = profile.fido2.filter((e) => e.rp_id === rpId).map((e) => Buffer.from(e.credential_id, 'base64url'));
      const found = await authenticator.hasCredential(rpId, ids);
      if (found) {
        entry = profile.fido2.find((e) => e.rp_id === rpId && e.credential_id === b64(found));
        break;
      }
    }
    if (!entry) {
      throw new TngError('authenticator', 'fido2.no-credential', `${authenticator.name} is not enrolled for profile "${profile.name}".`, {
        hint: 'Use an enrolled key, or enrol this one with `tng enroll --add`.',
      });
    }
    const assertion = await authenticator.getAssertion({
      rpId: entry.rp_id,
      clientDataHash,
      credentialIds: [Buffer.from(entry.credential_id, 'base64url')],
      hmacSalt: options.openDataKey ? Buffer.from(entry.salt, 'base64url') : undefined,
      uv: entry.uv,
      signal: deps.signal,
    });
    const { verifyAssertion } = await import('../fido2/ctap2/verify.ts');
    const verdict = verifyAssertion({
      publicKey: Buffer.from(entry.public_key, 'base64url'),
      rpId: entry.rp_id,
      authData: assertion.authData,
      clientDataHash,
      signature: assertion.signature,
      requireUserPresence: true,
      requireUserVerification: entry.uv === 'required',
    });
    if (!verdict.ok) {
      throw new TngError('authenticator', 'fido2.bad-assertion', `The assertion from ${authenticator.name} does not verify against the enrolled public key (${verdict.detail}).`, {
        hint: 'Use the key that was enrolled for this profile; if it keeps failing, enrol it again.',
      });
    }
    const result: TouchResult = { entry, authData: assertion.authData, signature: assertion.signature, clientDataHash, signCount: assertion.signCount };
    if (options.openDataKey) {
      if (!assertion.hmacOutput) {
        throw new TngError('authenticator', 'fido2.no-hmac-secret', `${authenticator.name} returned no hmac-secret output.`, {
          hint: 'tng needs a FIDO2 key with the hmac-secret extension.',
        });
      }
      result.hmacOutput = assertion.hmacOutput;
      const sealed = (await readSealedDataKeys(await deps.keychain(), profile.name))[entry.credential_id];
      if (sealed) {
        result.dataKey = unsealBytes(keyFromHmacOutput(assertion.hmacOutput, entry.credential_id), sealed, `data key for ${entry.credential_id}`);
      }
    }
    return result;
  } finally {
    if (!opened) await authenticator.close();
  }
}

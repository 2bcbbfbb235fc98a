import { createHash, randomBytes } from 'node:crypto';
import type { Fido2Entry, Profile, UvPolicy } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { TngError, usageError } from '../errors.ts';
import { isSealed, newDataKey, seal } from '../keychain/seal.ts';
import { isFileKeychain } from '../keychain/file.ts';
import { itemKey } from '../keychain/store.ts';
import { openAuthenticator } from './open.ts';
import { sealDataKeyFor, touch, updateSealedDataKeys } from './touch.ts';

export interface EnrollOptions {
  add: boolean;
  /** Fixed at enrolment; asked on a terminal when the key has a PIN and no choice was given. */
  uv?: UvPolicy;
}

export type EnrollDeps = Pick<Deps, 'env' | 'io' | 'signal' | 'keychain' | 'clock'>;

/** The relying-party id of a profile's credentials: `tng:<issuer host>`. */
export function rpIdFor(profile: Pick<Profile, 'issuer'>): string {
  return `tng:${new URL(profile.issuer).hostname}`;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const challenge = (what: string) => createHash('sha256').update(`${what} ${randomBytes(16).toString('hex')}`).digest();

/**
 * `tng enroll`: a non-resident credential with hmac-secret on the key, then a second touch whose
 * hmac-secret output seals the data key for it. With --add the data key is first opened with an already
 * enrolled key, so the backup opens the same secrets; without --add the new key replaces the old ones.
 * A refresh token stored in the clear is sealed now.
 *
 * With TNG_KEYCHAIN=file the secrets file is opened first (by the --add touch, else by a touch on any key
 * that opens it), and the new credential gets its key entry before anything is written to the file; a first
 * enrolment creates the file this way. Without --add the replaced credentials' key entries are removed.
 */
export async function enroll(profile: Profile, options: EnrollOptions, deps: EnrollDeps): Promise<Fido2Entry> {
  const store = await deps.keychain();
  const file = isFileKeychain(store) ? store : undefined;
  let dataKey: Buffer | undefined;
  /** The enrolled key that opened an --add, when it had no copy of the data key (it gets one now). */
  let opener: { entry: Fido2Entry; hmacOutput: Uint8Array } | undefined;
  if (options.add) {
    if (profile.fido2.length === 0) {
      throw usageError('enroll.nothing-to-add-to', `Profile "${profile.name}" has no enrolled key to add a backup to.`, `Run \`tng enroll --profile ${profile.name}\` first.`);
    }
    const opened = await touch(profile, challenge('unlock'), { openDataKey: true, purpose: 'Touch an already enrolled key to unlock tng\'s secrets' }, deps);
    dataKey = opened.dataKey ?? newDataKey();
    if (opened.dataKey === undefined && opened.hmacOutput) opener = { entry: opened.entry, hmacOutput: opened.hmacOutput };
    // The enrolled key opens the secrets file too (it is created here when it does not exist yet).
    if (file && opened.hmacOutput) await file.addUnlockKey(opened.entry.credential_id, opened.hmacOutput);
  } else if (file) {
    // Opened now, before the new key is: the touch that opens it must not wait for the enrolment's device.
    await file.open();
  }

  const authenticator = await openAuthenticator(
    deps,
    options.add ? 'Touch the new (backup) key to enrol it.' : 'Touch your security key to enrol it.',
    // With several keys plugged in (with TNG_KEYCHAIN=file the enrolled one opens the file first), one that
    // holds none of the profile's credentials is preferred. A backup (--add) must be another key: the
    // enrolled ones are excluded. Without --add the enrolled key itself may enrol again: that is how its
    // secrets file is made anew, or its uv setting changed.
    { entries: profile.fido2, want: 'absent' },
  );
  try {
    if (!authenticator.supportsHmacSecret) {
      throw new TngError('authenticator', 'fido2.no-hmac-secret', `${authenticator.name} does not support the hmac-secret extension.`, {
        hint: 'Use a FIDO2 key with hmac-secret (e.g. a YubiKey 5): tng seals your secrets with it.',
      });
    }
    let uv = options.uv;
    if (uv === undefined) {
      uv = authenticator.hasPin && deps.io.canPrompt() && /^y/i.test(await deps.io.ask('This key has a PIN. Require it at every touch? [y/N] ')) ? 'required' : 'discouraged';
    }
    if (uv === 'required' && !authenticator.hasPin) {
      throw usageError('enroll.no-pin', `${authenticator.name} has no PIN set, so it cannot require one.`, 'Set a PIN on the key first (e.g. with your vendor\'s tool), or enrol with --uv discouraged.');
    }
    const rpId = rpIdFor(profile);
    const credential = await authenticator.makeCredential({
      rpId,
      rpName: 'tng',
      userId: randomBytes(16),
      userName: profile.name,
      clientDataHash: challenge('enroll'),
      excludeCredentialIds: options.add ? profile.fido2.map((e) => Buffer.from(e.credential_id, 'base64url')) : [],
      uv,
      signal: deps.signal,
    });
    const entry: Fido2Entry = {
      credential_id: b64(credential.credentialId),
      public_key: b64(credential.publicKey),
      aaguid: credential.aaguid,
      rp_id: rpId,
      salt: b64(randomBytes(32)),
      uv,
    };
    deps.io.info(`Enrolled ${authenticator.name}. Touch it once more to seal tng's secrets with it.`);
    const sealing = await touch({ name: profile.name, fido2: [entry] }, challenge('seal'), { openDataKey: true, purpose: 'Touch your security key again' }, deps, authenticator);
    if (!sealing.hmacOutput) throw new TngError('authenticator', 'fido2.no-hmac-secret', 'The key returned no hmac-secret output.', { hint: 'Use a FIDO2 key with the hmac-secret extension (e.g. a YubiKey 5).' });

    if (file) {
      await file.addUnlockKey(entry.credential_id, sealing.hmacOutput);
      if (!options.add) await file.removeUnlockKeys(profile.fido2.map((e) => e.credential_id));
    }
    dataKey ??= newDataKey();
    const sealedFor = sealDataKeyFor(entry, sealing.hmacOutput, dataKey);
    const openerCopy = opener ? { [opener.entry.credential_id]: sealDataKeyFor(opener.entry, opener.hmacOutput, dataKey) } : {};
    await updateSealedDataKeys(store, profile.name, (previous) => ({ ...(options.add ? previous : {}), ...openerCopy, [entry.credential_id]: sealedFor }));
    await resealRefreshToken(profile.name, dataKey, options.add, deps);
    return entry;
  } finally {
    await authenticator.close();
  }
}

/** A refresh token in the clear is sealed with the data key; one sealed for a replaced key cannot be opened and goes. */
async function resealRefreshToken(profile: string, dataKey: Buffer, kept: boolean, deps: EnrollDeps): Promise<void> {
  const store = await deps.keychain();
  const key = itemKey(profile, 'refresh-token');
  const stored = await store.get(key);
  if (stored === undefined) return;
  if (!isSealed(stored)) {
    await store.set(key, seal(dataKey, stored, key));
  } else if (!kept) {
    await store.delete(key);
    deps.io.warn('The stored refresh token was sealed for the replaced key; the next `tng login` goes through the browser once.');
  }
}

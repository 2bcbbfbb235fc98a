import { createHash, randomBytes } from 'node:crypto';
import { enrolledCredentials, readConfigFile } from '../config/file.ts';
import type { Fido2Entry, Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { TngError } from '../errors.ts';
import { mostTelling, type Assertion, type Authenticator, type GetAssertionOptions } from '../fido2/client.ts';
import { firstToSucceed } from '../fido2/util.ts';
import { interruptedError } from '../fido2/errors.ts';
import { fileNeedsEnrolment, isFileKeychain, type FileKeychain } from '../keychain/file.ts';
import { readProfileKeys, updateProfileKeys } from '../keychain/profile-keys.ts';
import type { SecretStore } from '../keychain/store.ts';
import { keyFromHmacOutput, seal, unsealBytes } from '../keychain/seal.ts';
import { type EnrolledKey, findEnrolledEntry, openEnrolledKeys } from './open.ts';

/** What a touch proved: which enrolled credential signed, over what, and (when asked) the opened data key. */
export interface TouchResult {
  entry: Fido2Entry;
  authData: Uint8Array;
  signature: Uint8Array;
  clientDataHash: Uint8Array;
  signCount: number;
  /** The hmac-secret output (kept in memory only), when the touch was asked for it (`openDataKey`). */
  hmacOutput?: Uint8Array;
  /** The data key, when one was sealed for this credential. */
  dataKey?: Buffer;
}

export type TouchDeps = Pick<Deps, 'env' | 'io' | 'signal' | 'keychain'>;

/** The sealed data key, once per enrolled credential: `{ credential_id: sealed }`. */
export async function readSealedDataKeys(store: SecretStore, profile: string): Promise<Record<string, string>> {
  return (await readProfileKeys(store, profile)).dataKeys;
}

/** Changes the sealed data keys in one read and write of the profile's keys, the client secret kept. */
export async function updateSealedDataKeys(store: SecretStore, profile: string, change: (sealed: Record<string, string>) => Record<string, string>): Promise<void> {
  await updateProfileKeys(store, profile, (keys) => ({ ...keys, dataKeys: change(keys.dataKeys) }));
}

/** Seals the data key for one credential with the key derived from its hmac-secret output. */
export function sealDataKeyFor(entry: Fido2Entry, hmacOutput: Uint8Array, dataKey: Uint8Array): string {
  return seal(keyFromHmacOutput(hmacOutput, entry.credential_id), dataKey, `data key for ${entry.credential_id}`);
}

/** Refuses a touch for a profile with no enrolled key (exit 2). */
export function requireEnrolled(profile: Pick<Profile, 'name' | 'fido2'>): void {
  if (profile.fido2.length === 0) {
    throw new TngError('usage', 'fido2.not-enrolled', `Profile "${profile.name}" has no enrolled security key.`, {
      hint: `Run \`tng enroll --profile ${profile.name}\`, or set touch = "never".`,
    });
  }
}

/** What a touch signs: one challenge, or one per credential (a signed audit entry names its signer). */
export type Challenge = Uint8Array | ((entry: Fido2Entry) => Uint8Array);

/**
 * One touch on an enrolled key: an assertion over the challenge, verified against the public key
 * enrolled for that credential before anything is unlocked; with `openDataKey`, the hmac-secret output
 * opens the data key (with TNG_KEYCHAIN=file it first opens the secrets file, so this one touch does both);
 * with `openDataKey: 'raw'` the hmac-secret output is only returned. With several enrolled keys plugged in
 * (`openEnrolledKeys`), all are asked at once and the first touched signs. Any failure is exit 5 (or 130
 * on Ctrl-C) and leaves the keychain untouched. Keys passed in (`opened`) are left open for the caller.
 */
export async function touch(
  profile: Pick<Profile, 'name' | 'fido2'>,
  challenge: Challenge,
  options: { openDataKey: boolean | 'raw'; purpose: string },
  deps: TouchDeps,
  opened?: Authenticator | EnrolledKey[],
): Promise<TouchResult> {
  requireEnrolled(profile);
  const keys =
    opened === undefined
      ? await openEnrolledKeys(deps, options.purpose, profile)
      : Array.isArray(opened)
        ? opened
        : [{ authenticator: opened, entry: await findEnrolledEntry(opened, profile) }];
  try {
    const clientDataHashFor = (entry: Fido2Entry) => (typeof challenge === 'function' ? challenge(entry) : challenge);
    const { key, assertion } = await firstAssertion(keys, (entry) => ({
      rpId: entry.rp_id,
      clientDataHash: clientDataHashFor(entry),
      credentialIds: [Buffer.from(entry.credential_id, 'base64url')],
      hmacSalt: options.openDataKey !== false ? Buffer.from(entry.salt, 'base64url') : undefined,
      uv: entry.uv,
    }), deps.signal);
    const { entry, authenticator } = key;
    const clientDataHash = clientDataHashFor(entry);
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
    if (options.openDataKey !== false) {
      if (!assertion.hmacOutput) {
        throw new TngError('authenticator', 'fido2.no-hmac-secret', `${authenticator.name} returned no hmac-secret output.`, {
          hint: 'Use a FIDO2 key with the hmac-secret extension (e.g. a YubiKey 5), and enrol it with `tng enroll`.',
        });
      }
      result.hmacOutput = assertion.hmacOutput;
      if (options.openDataKey === 'raw') return result;
      const store = await deps.keychain();
      // The secrets file opens with this same output: no second touch to read the data key from it.
      if (isFileKeychain(store) && store.isLocked()) await store.unlockWith(entry.credential_id, assertion.hmacOutput);
      const sealed = (await readSealedDataKeys(store, profile.name))[entry.credential_id];
      if (sealed) {
        result.dataKey = unsealBytes(keyFromHmacOutput(assertion.hmacOutput, entry.credential_id), sealed, `data key for ${entry.credential_id}`);
      }
    }
    return result;
  } finally {
    if (opened === undefined) await Promise.all(keys.map((k) => k.authenticator.close().catch(() => undefined)));
  }
}

/**
 * The assertion of the first key touched. Several keys are asked at once; when one answers, the others
 * are cancelled (their requests end before this returns). When none answers, the error is the first that
 * is not a key pulled out mid-wait; Ctrl-C is "interrupted".
 */
async function firstAssertion(
  keys: EnrolledKey[],
  request: (entry: Fido2Entry) => Omit<GetAssertionOptions, 'signal'>,
  signal: AbortSignal | undefined,
): Promise<{ key: EnrolledKey; assertion: Assertion }> {
  const ask = (key: EnrolledKey, askSignal: AbortSignal | undefined) =>
    key.authenticator.getAssertion({ ...request(key.entry), ...(askSignal ? { signal: askSignal } : {}) }).then((assertion) => ({ key, assertion }));
  if (keys.length === 1) return ask(keys[0] as EnrolledKey, signal);
  const outcome = await firstToSucceed(keys, ask, signal);
  if ('value' in outcome) return outcome.value;
  if (signal?.aborted) throw interruptedError(signal.reason);
  throw mostTelling(outcome.errors);
}

/**
 * Opens tng's secrets file (TNG_KEYCHAIN=file) with one touch: every profile's enrolled credentials that
 * have a key entry in the file are offered, and the hmac-secret output of the one touched opens it.
 */
export async function unlockFileKeychain(
  store: FileKeychain,
  credentialIds: string[],
  deps: Pick<Deps, 'env' | 'io' | 'signal' | 'keychain' | 'paths'>,
): Promise<void> {
  const enrolled = enrolledCredentials(await readConfigFile(deps.paths.config)).map((found) => found.entry);
  if (enrolled.length === 0) throw fileNeedsEnrolment();
  const seen = new Set<string>();
  const usable = enrolled.filter((e) => credentialIds.includes(e.credential_id) && !seen.has(e.credential_id) && seen.add(e.credential_id));
  const lostHint = `If every key that opens it is lost, move ${store.path} away (its secrets are lost) and run \`tng enroll\` and \`tng login\` again.`;
  if (usable.length === 0) {
    throw new TngError('keychain', 'keychain.file-no-key', `tng's secrets file ${store.path} opens only with security keys that no profile has enrolled any more.`, { hint: lostHint });
  }
  const challenge = createHash('sha256').update(`tng file keychain unlock ${randomBytes(16).toString('hex')}`).digest();
  let touched: TouchResult;
  try {
    touched = await touch({ name: 'tng secrets', fido2: usable }, challenge, { openDataKey: 'raw', purpose: "Touch your security key to open tng's secrets." }, deps);
  } catch (error) {
    if (error instanceof TngError && error.code === 'fido2.no-credential') {
      throw new TngError('authenticator', 'fido2.no-credential', "This security key holds none of the keys that open tng's secrets file.", {
        hint: `Use a security key enrolled in one of your profiles. ${lostHint}`,
        cause: error,
      });
    }
    throw error;
  }
  if (!(await store.unlockWith(touched.entry.credential_id, touched.hmacOutput as Uint8Array))) {
    throw new TngError('keychain', 'keychain.file-no-key', `tng's secrets file ${store.path} has no key for the security key just touched.`, { hint: `Retry; if it persists: ${lostHint}` });
  }
}

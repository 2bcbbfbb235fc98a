import type { Profile } from '../config/profile.ts';
import type { AuditEntry } from '../audit/chain.ts';
import { appendSignedByAny, newNonce } from '../audit/chain.ts';
import { openEnrolledKeys } from './open.ts';
import { requireEnrolled, touch, type TouchDeps, type TouchResult } from './touch.ts';
import type { Deps } from '../deps.ts';

/** The fields of a signed entry besides the ones this module adds (credential_id, nonce). */
export type SignedBody = { event: 'login' | 'exec'; profile: string; [field: string]: unknown };

export interface SignedTouch {
  entry: AuditEntry;
  touched: TouchResult;
}

/**
 * One touch that signs an audit entry: the enrolled credentials on the keys plugged in are found first
 * (silently), so the entry can name the one that signs; the entry is prepared under the audit lock — one
 * per key when several are asked at once — and the assertion's clientDataHash is its hash. The entry is
 * written only when the signature verifies; a failed touch (exit 5) writes nothing.
 */
export async function touchAndSign(
  profile: Pick<Profile, 'name' | 'fido2'>,
  body: SignedBody,
  options: { purpose: string; openDataKey: boolean; id?: string },
  deps: TouchDeps & Pick<Deps, 'paths'>,
): Promise<SignedTouch> {
  requireEnrolled(profile);
  const keys = await openEnrolledKeys(deps, options.purpose, profile);
  try {
    let touched: TouchResult | undefined;
    const entry = await appendSignedByAny(
      deps.paths.state,
      { ...body, nonce: newNonce() },
      keys.map((key) => key.entry),
      async (clientDataHashFor) => {
        touched = await touch(profile, (enrolled) => clientDataHashFor(enrolled.credential_id), { openDataKey: options.openDataKey, purpose: options.purpose }, deps, keys);
        return {
          credential_id: touched.entry.credential_id,
          auth_data: Buffer.from(touched.authData).toString('base64url'),
          signature: Buffer.from(touched.signature).toString('base64url'),
        };
      },
      {
        signal: deps.signal,
        // The lock is held across a touch: a wait behind another process's touch can be long.
        onLockWait: { afterMs: 1000, notify: (pid) => deps.io.info(`Waiting for another tng process${pid === undefined ? '' : ` (PID ${pid})`} to finish its audit entry (it may be waiting for a touch)…`) },
        ...(options.id !== undefined ? { id: options.id } : {}),
      },
    );
    return { entry, touched: touched as TouchResult };
  } finally {
    await Promise.all(keys.map((key) => key.authenticator.close().catch(() => undefined)));
  }
}

/**
 * `touch = "exec"`: the command's own entry is signed by a touch, and the session is loaded. A sealed
 * secrets file (TNG_KEYCHAIN=file) opens with that same touch, so then the touch comes first; otherwise the
 * session is checked first, so a command without a session asks for no touch.
 */
export async function withExecTouch<S>(
  profile: Pick<Profile, 'name' | 'fido2'>,
  body: SignedBody,
  purpose: string,
  deps: TouchDeps & Pick<Deps, 'paths'>,
  loadSession: () => Promise<S>,
): Promise<{ session: S; signed: AuditEntry }> {
  const fileKeychain = deps.env.TNG_KEYCHAIN === 'file';
  const sign = async () => (await touchAndSign(profile, body, { purpose, openDataKey: fileKeychain }, deps)).entry;
  const first = fileKeychain ? await sign() : undefined;
  const session = await loadSession();
  return { session, signed: first ?? (await sign()) };
}

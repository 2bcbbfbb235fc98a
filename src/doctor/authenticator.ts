import type { Profile } from '../config/profile.ts';
import { ExitCode, TngError, describe } from '../errors.ts';
import { fail, ok, warn, type CheckResult } from './report.ts';

const quiet = { touch: () => undefined, selectDevice: () => undefined, pin: async () => Promise.reject(new Error('doctor never asks for a PIN')) };

/**
 * Which FIDO2 keys are present and what they can do, without a touch: versions, hmac-secret, PIN state,
 * and (by a silent probe) whether one holds a credential enrolled for the profile.
 */
export async function authenticatorCheck(profile: Profile | undefined, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<CheckResult> {
  const enrolled = profile?.fido2 ?? [];
  const needed = enrolled.length > 0 && profile?.touch !== 'never';
  const { createFido2Client } = await import('../fido2/client.ts');
  let found;
  try {
    found = await createFido2Client().inspect({ spec: env.TNG_FIDO2_DEVICE || undefined, signal, prompts: quiet });
  } catch (error) {
    const detail = `Cannot look for security keys: ${describe(error)}`;
    const hint = error instanceof TngError ? error.hint : 'Check TNG_FIDO2_DEVICE.';
    return needed ? fail('authenticator', detail, hint, ExitCode.authenticator) : warn('authenticator', detail, hint);
  }
  const { ready, problems } = found;
  try {
    if (ready.length === 0) {
      const why = problems[0] ? ` (${problems[0].message})` : '';
      if (!needed) return ok('authenticator', `no FIDO2 key present${why}; none is enrolled for this profile`);
      return warn('authenticator', `no FIDO2 key present${why}, and logins for this profile need a touch`, 'Plug in an enrolled security key before `tng login`.');
    }
    const lines: string[] = [];
    let holdsEnrolled = false;
    let lacksHmacSecret = false;
    for (const key of ready) {
      const version = key.info.versions.filter((v) => v.startsWith('FIDO_2')).at(-1) ?? 'FIDO2';
      const capabilities = [version, key.supportsHmacSecret ? 'hmac-secret' : 'no hmac-secret', key.hasPin ? 'PIN set' : 'no PIN'];
      let holds = false;
      for (const rpId of new Set(enrolled.map((e) => e.rp_id))) {
        const ids = enrolled.filter((e) => e.rp_id === rpId).map((e) => Buffer.from(e.credential_id, 'base64url'));
        if (await key.hasCredential(rpId, ids).catch(() => undefined)) holds = true;
      }
      holdsEnrolled ||= holds;
      lacksHmacSecret ||= !key.supportsHmacSecret;
      lines.push(`${key.name} (${capabilities.join(', ')})${enrolled.length > 0 ? (holds ? ', enrolled' : ', not enrolled here') : ''}`);
    }
    const detail = `${ready.length} key${ready.length === 1 ? '' : 's'}: ${lines.join('; ')}`;
    if (needed && !holdsEnrolled) return warn('authenticator', detail, 'None of these keys is enrolled for this profile: plug in the enrolled key, or enrol one with `tng enroll --add`.');
    if (lacksHmacSecret && enrolled.length === 0) return warn('authenticator', detail, 'tng needs a key with the hmac-secret extension to seal secrets.');
    return ok('authenticator', detail);
  } finally {
    await Promise.all(ready.map((key) => key.close().catch(() => undefined)));
  }
}

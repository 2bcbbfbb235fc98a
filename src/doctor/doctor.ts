/**
 * `tng doctor`: runs every check and returns the report. The config check comes first (the others need
 * the profile); then the issuer, Vault, keychain (+ stored session) and plaintext checks run concurrently,
 * each bounded by its own deadline (the fetch timeout, the keychain deadline); the clock check is computed
 * from the times the issuer and Vault reported. Nothing here prints or exits.
 */
import type { Deps } from '../deps.ts';
import { ExitCode } from '../errors.ts';
import { configCheck, failFrom, issuerCheck, keychainCheck, sessionCheck, skipped, vaultCheck } from './checks.ts';
import { authenticatorCheck } from './authenticator.ts';
import { clockCheck } from './clock.ts';
import { plaintextCheck, realFiles, type PlaintextFiles } from './plaintext.ts';
import { inOrder, type CheckName, type CheckResult, type DoctorReport } from './report.ts';

export type DoctorDeps = Pick<Deps, 'env' | 'clock' | 'paths' | 'signal' | 'keychain' | 'fetch'>;

export interface DoctorOptions {
  profile?: string;
}

/** Any check that throws (a bug) still yields a line of its own instead of ending the run. */
async function guarded(name: CheckName, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    return failFrom(name, error);
  }
}

export async function diagnose(options: DoctorOptions, deps: DoctorDeps, files: PlaintextFiles = realFiles): Promise<DoctorReport> {
  const config = await configCheck(options.profile, deps);
  const { profile, fetch } = config;
  const noProfile = 'the profile is not usable (see config)';

  const keychainAndSession = (async (): Promise<CheckResult[]> => {
    const keychain = await keychainCheck(deps);
    if (profile === undefined) return [keychain.check, skipped('session', noProfile)];
    if (keychain.store === undefined) return [keychain.check, skipped('session', 'the keychain is not available')];
    const store = keychain.store;
    return [keychain.check, await guarded('session', () => sessionCheck(store, profile, deps.clock))];
  })().catch((error: unknown) => [failFrom('keychain', error, ExitCode.keychain), skipped('session', 'the keychain is not available')]);
  const plaintext = guarded('plaintext', () => plaintextCheck(deps.env, files));
  const authenticator = guarded('authenticator', () => authenticatorCheck(profile, deps.env, deps.signal));

  if (profile === undefined || fetch === undefined) {
    const rest = ['issuer', 'vault', 'clock'] as const;
    return {
      profile: config.name,
      checks: inOrder([config.check, ...rest.map((name) => skipped(name, noProfile)), ...(await keychainAndSession), await authenticator, await plaintext]),
    };
  }

  const [issuer, vault] = await Promise.all([
    issuerCheck(profile, fetch, deps.clock, { signal: deps.signal }).catch((error: unknown) => ({ check: failFrom('issuer', error), samples: [] })),
    vaultCheck(profile, fetch, deps.clock, { signal: deps.signal }).catch((error: unknown) => ({ check: failFrom('vault', error), samples: [] })),
  ]);
  const clock = clockCheck([...issuer.samples, ...vault.samples], 'skipped: neither the issuer nor Vault answered');
  return {
    profile: config.name,
    checks: inOrder([config.check, issuer.check, vault.check, clock, ...(await keychainAndSession), await authenticator, await plaintext]),
  };
}

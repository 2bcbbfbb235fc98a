/**
 * The checks that reach outside: config file, issuer, Vault, keychain, stored session. Each returns a
 * CheckResult and never throws; failures carry the exit code the same failure has elsewhere in tng.
 */
import type { Clock } from '../clock.ts';
import { loadProfile, readConfigFile, selectProfileName } from '../config/file.ts';
import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { ExitCode, TngError, describe } from '../errors.ts';
import { isFileKeychain } from '../keychain/file.ts';
import { itemKey, type SecretStore } from '../keychain/store.ts';
import { DEFAULT_TIMEOUT_MS, networkError, type Fetch } from '../net/http.ts';
import { describeVault, isForVaultOf, loadSession, type Session } from '../session/session.ts';
import { VaultClient, type VaultHealth } from '../vault/client.ts';
import { skewFromDateHeader, skewFromEpochSeconds, type SkewSample } from './clock.ts';
import { recordingFetch, type Recorded } from './recording-fetch.ts';
import { fail, ok, skip, warn, type CheckName, type CheckResult } from './report.ts';

/** A failed check from a thrown error: a TngError keeps its message, hint and exit code. */
export function failFrom(name: CheckName, error: unknown, exitCode?: number): CheckResult {
  if (error instanceof TngError) return fail(name, error.message, error.hint, exitCode ?? error.exitCode);
  return fail(name, `unexpected error: ${describe(error)}`, 'This is a bug in tng; rerun with TNG_DEBUG=1 and report the output.', exitCode ?? ExitCode.internal);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** "14m05s", "2h03m", "40s" for a positive number of seconds. */
export function formatSeconds(total: number): string {
  const seconds = Math.max(0, Math.round(total));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${seconds}s`;
}

// ---------------------------------------------------------------------------------------------- config

export interface ConfigOutcome {
  check: CheckResult;
  /** The selected profile's name when one could be selected (even if it does not validate). */
  name: string | null;
  /** The validated profile and the fetch for its servers; undefined when the config check failed. */
  profile?: Profile;
  fetch?: Fetch;
}

export async function configCheck(flag: string | undefined, deps: Pick<Deps, 'env' | 'paths' | 'fetch'>): Promise<ConfigOutcome> {
  const path = deps.paths.config;
  let name: string | null = null;
  try {
    name = selectProfileName(await readConfigFile(path), flag, deps.env);
  } catch {
    // loadProfile below reports why.
  }
  try {
    const profile = await loadProfile(path, flag, deps.env);
    // The trust store for both servers: an unreadable vault_cacert is a configuration error too.
    const fetch = await deps.fetch({ cacertPath: profile.vaultCacert });
    return { check: ok('config', `profile "${profile.name}" in ${path} is valid`), name: profile.name, profile, fetch };
  } catch (error) {
    const check = failFrom('config', error);
    if (error instanceof TngError && error.code === 'config.missing') check.detail = `${error.message.replace(/\.$/, '')} (no profiles in ${path}).`;
    return { check, name };
  }
}

// ---------------------------------------------------------------------------------------------- network

export interface NetworkOptions {
  /** Ctrl-C. */
  signal?: AbortSignal;
  /** The whole check's time limit (all its requests together), milliseconds; default: the fetch timeout. */
  timeoutMs?: number;
}

/** A recording fetch whose requests all end by the check's deadline (or on Ctrl-C). */
function recorderFor(base: Fetch, clock: Clock, options: NetworkOptions) {
  const deadline = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return recordingFetch(base, clock, options.signal ? AbortSignal.any([options.signal, deadline]) : deadline);
}

export interface NetworkOutcome {
  check: CheckResult;
  /** Clock readings taken from the server's answers, whatever the verdict. */
  samples: SkewSample[];
}

function dateSample(records: readonly Recorded[], server: string, url: string): SkewSample[] {
  for (const record of records) {
    const skew = skewFromDateHeader(record.date, record);
    if (skew !== undefined) return [{ server, url, via: 'Date header', skewSeconds: skew }];
  }
  return [];
}

/** OIDC discovery at the issuer, then its JWKS: reachable, and holding at least one key. */
export async function issuerCheck(profile: Pick<Profile, 'issuer' | 'clientId'>, base: Fetch, clock: Clock, options: NetworkOptions = {}): Promise<NetworkOutcome> {
  const { issuer } = profile;
  const recorder = recorderFor(base, clock, options);
  const result = (check: CheckResult): NetworkOutcome => ({ check, samples: dateSample(recorder.records, 'the issuer', issuer) });
  let jwksUri: string | undefined;
  try {
    const { discover } = await import('../oidc/client.ts');
    const config = await discover({ issuer, clientId: profile.clientId, fetch: recorder.fetch });
    jwksUri = config.serverMetadata().jwks_uri;
  } catch (error) {
    return result(failFrom('issuer', error));
  }
  if (!jwksUri) {
    return result(fail('issuer', `Discovery at ${issuer} names no jwks_uri, so no ID token can be verified.`, 'Check that issuer is the exact Dex issuer URL, or ask the issuer\'s operators.', ExitCode.unavailable));
  }
  let response: Response;
  try {
    response = await recorder.fetch(jwksUri, { headers: { Accept: 'application/json' } });
  } catch (error) {
    const translated = networkError(error, 'the issuer\'s JWKS', jwksUri);
    return result(fail('issuer', translated.message, translated.hint, translated.exitCode));
  }
  const body = (await response.json().catch(() => undefined)) as { keys?: unknown } | undefined;
  if (!response.ok) {
    return result(fail('issuer', `The issuer's JWKS at ${jwksUri} answered HTTP ${response.status}.`, 'The identity provider is having trouble; retry shortly or ask its operators.', ExitCode.unavailable));
  }
  if (!Array.isArray(body?.keys)) {
    return result(fail('issuer', `The issuer's JWKS at ${jwksUri} is not a JSON key set.`, 'Check that issuer is the exact Dex issuer URL, or ask the issuer\'s operators.', ExitCode.unavailable));
  }
  const count = body.keys.length;
  if (count === 0) {
    return result(fail('issuer', `The issuer's JWKS at ${jwksUri} holds no keys, so no ID token can be verified.`, 'Ask the issuer\'s operators: its signing keys are missing.', ExitCode.unavailable));
  }
  return result(ok('issuer', `${issuer}: discovery works, JWKS holds ${plural(count, 'key')}`));
}

/** Vault's sys/health: reachable, initialized, unsealed, active (a standby is only a warning here). */
export async function vaultCheck(profile: Pick<Profile, 'vaultAddr' | 'vaultNamespace'>, base: Fetch, clock: Clock, options: NetworkOptions = {}): Promise<NetworkOutcome> {
  const addr = profile.vaultAddr;
  const recorder = recorderFor(base, clock, options);
  const client = new VaultClient({ addr, namespace: profile.vaultNamespace, fetch: recorder.fetch });
  let health: VaultHealth & { performance_standby?: boolean };
  try {
    health = await client.health();
  } catch (error) {
    return { check: failFrom('vault', error), samples: dateSample(recorder.records, 'Vault', addr) };
  }
  const samples = dateSample(recorder.records, 'Vault', addr);
  const exchange = recorder.records.at(-1);
  const fromBody = exchange === undefined ? undefined : skewFromEpochSeconds(health.server_time_utc, exchange);
  if (fromBody !== undefined) samples.push({ server: 'Vault', url: addr, via: 'server_time_utc', skewSeconds: fromBody });
  return { check: healthVerdict(addr, health), samples };
}

/** The vault check's verdict on a sys/health answer (`standbyok=false&perfstandbyok=false`). */
export function healthVerdict(addr: string, health: VaultHealth & { performance_standby?: boolean }): CheckResult {
  const { status } = health;
  const version = typeof health.version === 'string' ? `Vault ${health.version}` : 'Vault';
  const operators = 'Ask your Vault operators; tng cannot log in until it is fixed.';
  if (typeof health.initialized !== 'boolean' || typeof health.sealed !== 'boolean') {
    if (status === 412 || status === 429 || status >= 500) {
      return fail('vault', `Vault at ${addr} answered sys/health with HTTP ${status}.`, 'Vault is unavailable; retry shortly, or ask your Vault operators.', ExitCode.unavailable);
    }
    return fail('vault', `${addr} answered sys/health with HTTP ${status} and no health report: it does not look like Vault.`, 'Check vault_addr (`tng init --vault-addr URL`).', ExitCode.unavailable);
  }
  if (!health.initialized) return fail('vault', `${version} at ${addr} is not initialized.`, operators, ExitCode.unavailable);
  if (health.sealed) return fail('vault', `${version} at ${addr} is sealed.`, 'Ask your Vault operators to unseal it, then retry.', ExitCode.unavailable);
  if (status === 472) return fail('vault', `${version} at ${addr} is a disaster-recovery secondary, which serves no logins.`, 'Point vault_addr at the primary cluster.', ExitCode.unavailable);
  if (status === 530) return fail('vault', `${version} at ${addr} has been removed from its cluster.`, operators, ExitCode.unavailable);
  if (status === 429 || (health.standby === true && health.performance_standby !== true)) {
    return warn('vault', `${version} at ${addr} is a standby node, not the active one.`, 'If tng reports Vault unavailable, point vault_addr at the cluster\'s active address (its load balancer).');
  }
  if (status === 474) return warn('vault', `${version} at ${addr} is active but reports its HA cluster unhealthy.`, 'Tell your Vault operators; logins may fail while the cluster recovers.');
  if (status >= 500 || status === 412) return fail('vault', `${version} at ${addr} answered sys/health with HTTP ${status}.`, 'Vault is unavailable; retry shortly, or ask your Vault operators.', ExitCode.unavailable);
  const role = health.performance_standby === true || status === 473 ? 'performance standby' : 'active';
  return ok('vault', `${version} at ${addr}: initialized, unsealed, ${role}`);
}

// ---------------------------------------------------------------------------------------------- keychain

/**
 * The item doctor writes, reads back and deletes. Reading alone does not prove access: a locked keyring
 * still answers a search (an absent item reads as absent), and only a write is refused. Named per process:
 * doctors running at once must not read each other's probe.
 */
export const keychainProbeKey = (): string => `doctor:probe:${process.pid}`;

export interface KeychainOutcome {
  check: CheckResult;
  /** The store, when it answered. */
  store?: SecretStore;
}

export async function keychainCheck(deps: Pick<Deps, 'keychain'>): Promise<KeychainOutcome> {
  try {
    const store = await deps.keychain();
    if (isFileKeychain(store)) {
      // Read without a touch: which keys open the file (doctor never asks for one).
      const ids = await store.credentialIds();
      if (ids.length === 0) {
        return { check: warn('keychain', `TNG_KEYCHAIN=file: no secrets file yet at ${store.path}`, 'Run `tng enroll`: it creates the file, sealed by the key.'), store };
      }
      return { check: ok('keychain', `TNG_KEYCHAIN=file: ${store.path} opens with ${ids.length} enrolled key${ids.length === 1 ? '' : 's'} (sealed; a touch opens it)`), store };
    }
    await probeReadWrite(store);
    return { check: ok('keychain', 'the OS keychain stores, reads and deletes an item (service "tng")'), store };
  } catch (error) {
    return { check: failFrom('keychain', error, ExitCode.keychain) };
  }
}

async function probeReadWrite(store: SecretStore): Promise<void> {
  const key = keychainProbeKey();
  const written = `tng doctor ${Date.now()}`;
  await store.set(key, written);
  try {
    const read = await store.get(key);
    if (read !== written) {
      throw new TngError('keychain', 'keychain.failed', 'The OS keychain did not return the item doctor stored in it.', {
        hint: 'Check the Secret Service (gnome-keyring, KWallet, KeePassXC), or set TNG_KEYCHAIN=file after enrolling a key.',
      });
    }
  } finally {
    await store.delete(key);
  }
}

/** Whether a session is stored for the profile and how long its Vault token has left (never a failure). */
export async function sessionCheck(store: SecretStore, profile: Pick<Profile, 'name' | 'vaultAddr' | 'vaultNamespace'>, clock: Clock): Promise<CheckResult> {
  const login = `Run \`tng login --profile ${profile.name}\`.`;
  if (isFileKeychain(store) && store.isLocked()) {
    // The session is sealed in the secrets file; reading it would need a touch, which doctor never asks.
    return (await store.has(itemKey(profile.name, 'session')))
      ? ok('session', `a session is stored for profile "${profile.name}" (sealed: \`tng whoami\` shows it after a touch)`)
      : warn('session', `no session stored for profile "${profile.name}"`, login);
  }
  let session: Session | undefined;
  try {
    session = await loadSession(store, profile.name);
  } catch (error) {
    const reason = error instanceof TngError ? error.message : describe(error);
    return warn('session', `the stored session could not be read: ${reason}`, error instanceof TngError ? error.hint : login);
  }
  if (session === undefined) return warn('session', `no session stored for profile "${profile.name}"`, login);
  const left = session.vault.expiresAt - clock.now() / 1000;
  const who = session.oidc.email ?? session.oidc.subject ?? 'unknown';
  const expiresAt = new Date(session.vault.expiresAt * 1000).toISOString();
  if (left <= 0) return warn('session', `the session of ${who} ended ${formatSeconds(-left)} ago (Vault token expired at ${expiresAt})`, login);
  if (!isForVaultOf(session, profile)) {
    const named = describeVault({ addr: profile.vaultAddr, namespace: profile.vaultNamespace });
    return warn('session', `the stored session is for Vault at ${describeVault(session.vault)}, but the profile now names ${named}`, login);
  }
  return ok('session', `logged in as ${who}; Vault token valid for ${formatSeconds(left)} more (until ${expiresAt}${session.vault.renewable ? ', renewable' : ''})`);
}

/** A profile-dependent check that cannot run. */
export function skipped(name: CheckName, reason: string): CheckResult {
  return skip(name, `skipped: ${reason}`);
}

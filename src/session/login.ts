import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { TngError, describe, isTngError, loginInterrupted, usageError } from '../errors.ts';
import { fileNeedsEnrolment, isFileKeychain } from '../keychain/file.ts';
import { assertWritable } from '../keychain/probe.ts';
import { isSealed, newDataKey, seal, unseal } from '../keychain/seal.ts';
import { readProfileKeys } from '../keychain/profile-keys.ts';
import { itemKey, type SecretStore } from '../keychain/store.ts';
import { authCodeLogin, deviceCodeLogin, discover, refreshLogin, type OidcTokens } from '../oidc/client.ts';
import { VaultClient, type VaultAuth } from '../vault/client.ts';
import { appendAudit, newNonce } from '../audit/log.ts';
import { withLock } from '../state/lock.ts';
import { authenticatorName } from '../fido2/aaguids.ts';
import { step } from '../ui/progress.ts';
import { vaultOidcLogin } from './vault-oidc.ts';
import { identityFromClaims, loadSession, sessionIsLive, updateSession, type Session } from './session.ts';

export interface LoginOptions {
  deviceCode: boolean;
  noBrowser: boolean;
  /** How long to wait for the browser or device approval. */
  timeoutMs: number;
}

export type LoginDeps = Pick<Deps, 'env' | 'io' | 'clock' | 'signal' | 'keychain' | 'fetch' | 'browser' | 'paths'>;

export interface LoginResult {
  session: Session;
  /** True when a concurrent login made the session while this one waited for the lock. */
  reused: boolean;
}

/**
 * Exit 3 from a login that needs a person and has no terminal: the hint says where to run it, as "run tng login"
 * alone would send someone who just did back to the same failure.
 */
function needsPerson(message: string, cause?: unknown): TngError {
  return new TngError('noSession', 'session.missing', message, {
    hint: 'Run `tng login` (with the same --profile) in a terminal: it needs you, in a browser or with --device-code.',
    cause,
  });
}

/**
 * Over SSH with no display, a browser on this machine is of no use to the person (a $BROWSER set in their
 * dotfiles would open on the remote host, whose loopback redirect their own browser cannot reach).
 */
export function prefersDeviceCode(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.SSH_CONNECTION || env.SSH_TTY) && !env.DISPLAY && !env.WAYLAND_DISPLAY;
}

/**
 * Identity at the issuer: the stored refresh token when there is one (no browser), else an interactive
 * grant, which needs a person at a TTY. A refresh token the issuer refuses falls back to the browser on a
 * TTY and is exit 3 without one.
 */
async function obtainIdentity(profile: Profile, options: LoginOptions, deps: LoginDeps, gate: Gate, issuer: Promise<IssuerConfig>): Promise<OidcTokens> {
  const store = await deps.keychain();
  const config = await issuer;

  const refreshKey = itemKey(profile.name, 'refresh-token');
  const stored = await store.get(refreshKey);
  // A sealed refresh token opens only with the data key a touch unlocked; without one it is of no use.
  let refreshToken = stored === undefined || isSealed(stored) ? undefined : stored;
  let unopened: string | undefined;
  if (stored !== undefined && isSealed(stored) && gate.dataKey) {
    try {
      refreshToken = unseal(gate.dataKey, stored, refreshKey);
    } catch (error) {
      // Sealed for a data key this key has no copy of (the keys item was reset, or another key made a
      // data key of its own): of no use here, and a login replaces it. Kept until then.
      if (!isTngError(error, 'keychain')) throw error;
      unopened = 'the stored refresh token does not open with this security key';
      if (deps.io.canPrompt()) deps.io.info('The stored refresh token does not open with this security key (it was sealed for a data key this key has no copy of); logging in anew.');
    }
  }
  const keep = async (token: string) => store.set(refreshKey, gate.dataKey ? seal(gate.dataKey, token, refreshKey) : token);

  if (refreshToken !== undefined && !options.deviceCode) {
    try {
      const tokens = await refreshLogin(config, refreshToken);
      // Persist the rotated token before anything else can fail: the old one is already spent. (Storing
      // it also seals a token that was kept in the clear before the key was enrolled.)
      if (tokens.refreshToken !== undefined) await keep(tokens.refreshToken);
      return tokens;
    } catch (error) {
      // Only invalid_grant says the token itself is dead (expired, revoked, or replaced by a login elsewhere);
      // any other refusal (a client id or secret the issuer does not accept) leaves it as it is.
      if (!isTngError(error, 'denied') || error.code !== 'oidc.invalid-grant') throw error;
      await store.delete(refreshKey);
      if (!deps.io.canPrompt()) throw needsPerson(`${error.message.replace(/\.$/, '')}; a new login needs a person at a terminal.`, error);
      deps.io.info('The stored refresh token is no longer valid; logging in again.');
    }
  }

  if (!deps.io.canPrompt()) {
    const why = options.deviceCode ? 'a device-code login needs one' : stored === undefined ? 'no stored refresh token' : (unopened ?? 'no usable refresh token');
    throw needsPerson(`No session can be made without a person at a terminal (no TTY, and ${why}).`);
  }
  const useDeviceCode = options.deviceCode || prefersDeviceCode(deps.env);
  if (useDeviceCode && !options.deviceCode) {
    deps.io.info('SSH session without a display: using the device-code login.');
  }
  const browser = await deps.browser();
  const tokens = useDeviceCode
    ? await deviceCodeLogin(config, {
        scopes: profile.scopes,
        browser,
        openBrowser: Boolean(deps.env.BROWSER) && !options.noBrowser,
        io: deps.io,
        signal: deps.signal,
        timeoutMs: options.timeoutMs,
      })
    : await authCodeLogin(config, {
        scopes: profile.scopes,
        redirectPort: profile.redirectPort,
        noBrowser: options.noBrowser,
        timeoutMs: options.timeoutMs,
        browser,
        io: deps.io,
        signal: deps.signal,
      });
  if (tokens.refreshToken !== undefined) await keep(tokens.refreshToken);
  return tokens;
}

type IssuerConfig = Awaited<ReturnType<typeof discover>>;

/** The issuer's configuration (its discovery document), with the profile's client secret when it has one. */
async function issuerConfig(profile: Profile, deps: LoginDeps): Promise<IssuerConfig> {
  const store = await deps.keychain();
  const { clientSecret } = await readProfileKeys(store, profile.name);
  const fetch = await deps.fetch({ cacertPath: profile.vaultCacert });
  return discover({ issuer: profile.issuer, clientId: profile.clientId, clientSecret, fetch });
}

/** What the login's touch unlocked (the data key sealing the refresh token) and the signed audit entry it made. */
interface Gate {
  dataKey?: Buffer;
  loginEntryId?: string;
}

/**
 * The touch that starts a login (unless touch = "never"): an assertion over a fresh login challenge,
 * verified against the enrolled key, whose hmac-secret output opens the data key. A key enrolled before any
 * data key existed gets one now. Failing here (exit 5) leaves the keychain untouched.
 */
async function touchGate(profile: Profile, deps: LoginDeps): Promise<Gate> {
  if (profile.touch === 'never') return {};
  const [{ touchAndSign }, { sealDataKeyFor, updateSealedDataKeys }] = await Promise.all([
    import('../hardware/signed-touch.ts'),
    import('../hardware/touch.ts'),
  ]);
  const { entry, touched } = await step(
    deps.io,
    'touch',
    () => touchAndSign(profile, { event: 'login', profile: profile.name }, { purpose: 'Touch your security key to log in.', openDataKey: true }, deps),
    (signed) => `${authenticatorName(signed.touched.entry.aaguid)}, signed login entry ${signed.entry.id.slice(0, 8)}`,
  );
  if (touched.dataKey) return { dataKey: touched.dataKey, loginEntryId: entry.id };
  const dataKey = newDataKey();
  const store = await deps.keychain();
  let others: string[] = [];
  await updateSealedDataKeys(store, profile.name, (sealed) => {
    others = profile.fido2.map((e) => e.credential_id).filter((id) => id !== touched.entry.credential_id && sealed[id] !== undefined);
    return { ...sealed, [touched.entry.credential_id]: sealDataKeyFor(touched.entry, touched.hmacOutput as Uint8Array, dataKey) };
  });
  if (others.length > 0) {
    const held = others.map((id) => `${id.slice(0, 8)}…`).join(', ');
    deps.io.warn(
      `${authenticatorName(touched.entry.aaguid)} (credential ${touched.entry.credential_id.slice(0, 8)}…) has no copy of tng's data key, which credential ${held} holds; it gets a data key of its own, so the next login with the other key goes through the browser once. ` +
        'For one data key that opens with either key again: `tng enroll` with one key, then `tng enroll --add` with the other.',
    );
  }
  return { dataKey, loginEntryId: entry.id };
}

function sessionFrom(profile: Profile, auth: VaultAuth, identity: Session['oidc'], nowMs: number): Session {
  return {
    version: 1,
    profile: profile.name,
    createdAt: nowMs,
    vault: {
      addr: profile.vaultAddr,
      namespace: profile.vaultNamespace ?? null,
      token: auth.client_token,
      accessor: auth.accessor,
      policies: auth.policies ?? [],
      entityId: auth.entity_id,
      expiresAt: Math.floor(nowMs / 1000) + auth.lease_duration,
      renewable: auth.renewable,
      method: profile.vaultAuth,
      mount: profile.vaultAuthMount,
    },
    oidc: identity,
  };
}

/**
 * `tng login`: always a new session. The previous session stays stored until the new one is, and its
 * Vault token is revoked only afterwards, so a failed login never destroys a still-valid session.
 * Logins for one profile run one at a time under a lock in the state dir; one that waited and finds a
 * session made after it started reuses that session (a second refresh would spend the rotated token).
 */
export async function login(profile: Profile, options: LoginOptions, deps: LoginDeps): Promise<LoginResult> {
  // When the command was started, not when it got here: of two logins started together, one whose process
  // was slower to get going still counts the other's session as new, and makes no second refresh.
  const startedAt = deps.clock.now() - performance.now();
  const lock = {
    timeoutMs: options.timeoutMs + 60_000,
    signal: deps.signal,
    onWait: {
      afterMs: 1000,
      notify: (pid: number | undefined) => deps.io.info(`Waiting for another tng login for profile "${profile.name}"${pid === undefined ? '' : ` (PID ${pid})`} to finish…`),
    },
  };
  if (profile.vaultAuth === 'oidc' && options.deviceCode) {
    throw usageError('login.device-code-oidc', 'The device-code login is not available with vault_auth = "oidc" (Vault does the OIDC login itself).', 'Log in through the browser, or use vault_auth = "jwt".');
  }
  return withLock(deps.paths.state, `login-${profile.name}`, lock, async () => {
    const store = await deps.keychain();
    // The secrets file takes nothing until a key is enrolled: say so before the browser, not after it.
    if (isFileKeychain(store) && (await store.credentialIds()).length === 0) throw fileNeedsEnrolment();
    // A sealed secrets file is opened by the login's own touch, so that touch comes before the first read;
    // otherwise the session is checked first, so a login that finds a fresh session needs no touch at all.
    const earlyGate = isFileKeychain(store) && store.isLocked() ? await touchGate(profile, deps) : undefined;
    const previous = await loadSession(store, profile.name);
    // Made between this login's start and now: a session "made" later than now is no other login's, only a
    // clock that stepped back since it was made.
    if (previous !== undefined && previous.createdAt >= startedAt && previous.createdAt <= deps.clock.now() && sessionIsLive(previous, deps.clock.now())) {
      return { session: previous, reused: true };
    }
    // Reading an existing item proves the keyring is open; an empty locked one reads as empty, so then a
    // throwaway write finds it out before a touch or a browser login.
    if (!isFileKeychain(store) && previous === undefined) await assertWritable(store, profile.name);
    // The issuer's discovery runs while the key waits for its touch; its failure, if any, surfaces after the
    // touch as before. (A sealed secrets file can be read only once the touch has opened it.)
    let issuer: Promise<IssuerConfig> | undefined;
    if (profile.vaultAuth === 'jwt' && (earlyGate !== undefined || !isFileKeychain(store))) {
      issuer = issuerConfig(profile, deps);
      issuer.catch(() => undefined);
    }
    const gate = earlyGate ?? (await touchGate(profile, deps));
    const fetch = await deps.fetch({ cacertPath: profile.vaultCacert });
    const vault = new VaultClient({ addr: profile.vaultAddr, namespace: profile.vaultNamespace, fetch });
    const made =
      profile.vaultAuth === 'oidc'
        ? await vaultOidcSession(profile, options, deps, vault)
        : await jwtSession(profile, options, deps, vault, gate, issuer ?? issuerConfig(profile, deps));
    // The session knows its signed login entry, so an exec names it without reading the trail.
    const session: Session = gate.loginEntryId ? { ...made, login: gate.loginEntryId } : made;
    let opened: { id: string };
    try {
      // Ctrl-C while Vault was answering: the request was not stopped, so its token is revoked, not kept.
      if (deps.signal?.aborted) throw loginInterrupted();
      opened = gate.loginEntryId
        ? { id: gate.loginEntryId }
        : await appendAudit(deps.paths.state, { event: 'login', profile: profile.name, credential_id: null, nonce: newNonce() });
      await step(deps.io, 'keychain', () => updateSession(store, deps.paths.state, profile.name, () => session, deps.signal), () => 'session stored');
    } catch (error) {
      await discardUnstored(session, store, profile.name, vault);
      throw error;
    }
    if (previous !== undefined && previous.vault.token !== session.vault.token) {
      await revokePrevious(previous, deps, fetch);
    }
    await appendAudit(deps.paths.state, {
      event: 'session',
      profile: profile.name,
      login: opened.id,
      subject: session.oidc.subject,
      email: session.oidc.email,
      vault_accessor: session.vault.accessor,
      method: session.vault.method,
    });
    return { session, reused: false };
  });
}

async function vaultOidcSession(profile: Profile, options: LoginOptions, deps: LoginDeps, vault: VaultClient): Promise<Session> {
  const auth = await step(deps.io, 'vault', () => vaultOidcLogin(profile, options, deps, vault), vaultSummary);
  const unknown: Session['oidc'] = { issuer: profile.issuer, subject: null, email: null, groups: null, expiresAt: null };
  return sessionFrom(profile, auth, unknown, deps.clock.now());
}

async function jwtSession(profile: Profile, options: LoginOptions, deps: LoginDeps, vault: VaultClient, gate: Gate, issuer: Promise<IssuerConfig>): Promise<Session> {
  const tokens = await step(deps.io, 'identity', () => obtainIdentity(profile, options, deps, gate, issuer), (t) => {
    const who = identityFromClaims(t.claims);
    return who.email ?? who.subject ?? 'ID token validated';
  });
  const auth = await step(deps.io, 'vault', () => vault.jwtLogin(profile.vaultAuthMount, profile.vaultRole, tokens.idToken), vaultSummary);
  return sessionFrom(profile, auth, identityFromClaims(tokens.claims), deps.clock.now());
}

function vaultSummary(auth: VaultAuth): string {
  return `token for ${Math.round(auth.lease_duration / 60)} min, policies ${(auth.policies ?? []).join(', ') || 'none'}`;
}

/**
 * A login that failed after Vault issued its token (Ctrl-C, a keychain or state-dir failure): unless the
 * session did get stored, no one holds that token, so it is revoked rather than left live until its TTL.
 */
async function discardUnstored(session: Session, store: SecretStore, profile: string, vault: VaultClient): Promise<void> {
  const stored = await loadSession(store, profile).then(
    (current) => current?.vault.token === session.vault.token,
    () => false,
  );
  if (stored) return;
  await vault.revokeSelf(session.vault.token).catch(() => undefined);
}

async function revokePrevious(previous: Session, deps: LoginDeps, fetch: Awaited<ReturnType<LoginDeps['fetch']>>): Promise<void> {
  const vault = new VaultClient({ addr: previous.vault.addr, namespace: previous.vault.namespace ?? undefined, fetch });
  try {
    await vault.revokeSelf(previous.vault.token);
  } catch (error) {
    // An already expired or revoked token is what we wanted; anything else is worth a warning only.
    if (!(error instanceof TngError && error.kind === 'noSession')) {
      deps.io.warn(`Could not revoke the previous Vault token: ${describe(error)}`);
    }
  }
}

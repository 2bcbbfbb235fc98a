/**
 * The FIDO2 client the rest of tng uses: find the authenticator(s), pick one by touch, make credentials
 * with hmac-secret, get assertions (with PIN when user verification is required) and unwrap the
 * hmac-secret output. Nothing here prints or exits; people are asked through `TouchPrompts`.
 */
import { randomBytes } from 'node:crypto';
import { TngError } from '../errors.ts';
import { authenticatorName } from './aaguids.ts';
import {
  type AuthenticatorInfo,
  type CborCallOptions,
  type CborTransport,
  type GetAssertionResponse,
  type MakeCredentialResponse,
  type PublicKeyCredentialDescriptor,
  getAssertion as ctapGetAssertion,
  getInfo,
  makeCredential as ctapMakeCredential,
  selection,
} from './ctap2/commands.ts';
import { COSE_ALG, coseToKeyObject } from './ctap2/cose.ts';
import { HMAC_SECRET, SALT_SIZE, decryptHmacSecretOutput, hmacSecretInput } from './ctap2/hmac-secret.ts';
import {
  PERMISSION,
  type PinProtocol,
  PinProtocolV1,
  type SharedSecret,
  checkPinPolicy,
  getPinRetries,
  getPinToken,
  getSharedSecret,
  selectPinProtocol,
} from './ctap2/pin.ts';
import { CTAP2_STATUS, CtapError, isCtapError } from './ctap2/status.ts';
import { rpIdHash } from './ctap2/verify.ts';
import { fidoError, interruptedError, internalError, protocolError } from './errors.ts';
import { type DeviceDeps, type OpenedDevice, openDevices } from './hid/devices.ts';
import { CTAPHID_ERROR, KEEPALIVE_STATUS } from './hid/framing.ts';
import { CtapHidChannel, CtapHidError } from './hid/transport.ts';
import { bytesEqual, firstToSucceed, isAbortError, sleep as defaultSleep } from './util.ts';

export type { AuthenticatorInfo } from './ctap2/commands.ts';

export interface TouchPrompts {
  /** The authenticator asks for a touch (KEEPALIVE UPNEEDED seen). */
  touch(deviceName: string): void;
  /** Asks for the PIN; `retries` as reported by the authenticator. May throw (e.g. interrupted). */
  pin(retries: number | undefined, deviceName: string): Promise<string>;
  /** Several authenticators: touch the one to use. */
  selectDevice(count: number): void;
  /** Optional: no authenticator is present and `open` waits for one (`waitForDeviceMs`). */
  insert?(): void;
}

export interface OpenOptions {
  /** `TNG_FIDO2_DEVICE`: undefined → discover FIDO HID devices. */
  spec?: string;
  signal?: AbortSignal;
  prompts: TouchPrompts;
  /** Poll for an authenticator this long when none is present (default: fail at once). */
  waitForDeviceMs?: number;
  /**
   * With several devices, prefer those that hold (`present`) or lack (`absent`) one of these credentials,
   * found with a silent probe (no touch); a selection touch is asked only among what remains.
   */
  credentials?: { groups: Array<{ rpId: string; ids: Uint8Array[] }>; want: 'present' | 'absent' };
}

export interface Fido2Client {
  /** Several devices → CTAP selection on all, the first touched wins, the others are cancelled; one → that one. */
  open(options: OpenOptions): Promise<Authenticator>;
  /**
   * Like `open`, without choosing among several: every device left after narrowing (at least one), so a
   * caller can ask them all at once and take the first touched. The caller closes them.
   */
  openAll(options: OpenOptions): Promise<Authenticator[]>;
  /** A selection touch on each of `candidates` (from `openAll`): the first touched wins, the others are closed. */
  select(candidates: Authenticator[], options: { prompts: TouchPrompts; signal?: AbortSignal }): Promise<Authenticator>;
  /** Every FIDO2 device present, opened without any touch (for `tng doctor`); the caller closes them. */
  inspect(options: { spec?: string; signal?: AbortSignal; prompts: TouchPrompts }): Promise<{ ready: Authenticator[]; problems: TngError[] }>;
}

export type UserVerification = 'required' | 'discouraged';

export interface MakeCredentialOptions {
  rpId: string;
  rpName?: string;
  userId: Uint8Array;
  userName: string;
  clientDataHash: Uint8Array;
  excludeCredentialIds?: Uint8Array[];
  uv: UserVerification;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface MadeCredential {
  credentialId: Uint8Array;
  /** COSE_Key bytes as the authenticator encoded them. */
  publicKey: Uint8Array;
  alg: number;
  aaguid: string;
  authData: Uint8Array;
  attestation: { fmt: string; attStmt: Map<unknown, unknown> };
}

export interface GetAssertionOptions {
  rpId: string;
  clientDataHash: Uint8Array;
  credentialIds: Uint8Array[];
  /** 32 bytes: ask for the hmac-secret output for this salt. */
  hmacSalt?: Uint8Array;
  uv: UserVerification;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface Assertion {
  credentialId: Uint8Array;
  authData: Uint8Array;
  signature: Uint8Array;
  signCount: number;
  userPresent: boolean;
  userVerified: boolean;
  /** 32 bytes, when `hmacSalt` was given. */
  hmacOutput?: Uint8Array;
}

export interface Authenticator {
  name: string;
  aaguid: string;
  info: AuthenticatorInfo;
  hasPin: boolean;
  supportsHmacSecret: boolean;
  makeCredential(o: MakeCredentialOptions): Promise<MadeCredential>;
  getAssertion(o: GetAssertionOptions): Promise<Assertion>;
  /** Silent probe (up:false): which of these credentials live on this device. */
  hasCredential(rpId: string, credentialIds: Uint8Array[]): Promise<Uint8Array | undefined>;
  /** Whether an assertion with `uv` asks for the PIN here (user verification and no built-in UV). */
  needsPin(uv: UserVerification): boolean;
  close(): Promise<void>;
}

/** What the client needs from a channel: CTAP2 CBOR exchanges, the CBOR capability, closing. */
export interface ClientChannel extends CborTransport {
  readonly supportsCbor: boolean;
  close(): Promise<void>;
}

export interface ClientDeps {
  openDevices?: (spec: string | undefined, options: { signal?: AbortSignal }) => Promise<OpenedDevice[]>;
  openChannel?: (device: OpenedDevice, options: { signal?: AbortSignal }) => Promise<ClientChannel>;
  deviceDeps?: DeviceDeps;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** How long a touch is waited for (default 30 s, the contract's limit). */
  touchTimeoutMs?: number;
  /** Discovery poll interval while waiting for a device (default 250 ms). */
  pollMs?: number;
}

export const TOUCH_TIMEOUT_MS = 30_000;
const PIN_ATTEMPT_LIMIT = 10;

export function createFido2Client(deps: ClientDeps = {}): Fido2Client {
  const open = deps.openDevices ?? ((spec, o) => openDevices(spec, { ...o, ...(deps.deviceDeps ? { deps: deps.deviceDeps } : {}) }));
  const openChannel =
    deps.openChannel ??
    ((device: OpenedDevice, o: { signal?: AbortSignal }) =>
      CtapHidChannel.open(device.device, { name: device.name, ...(o.signal ? { signal: o.signal } : {}) }));
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  const touchTimeoutMs = deps.touchTimeoutMs ?? TOUCH_TIMEOUT_MS;

  return {
    async inspect(options) {
      const devices = await open(options.spec, options.signal ? { signal: options.signal } : {});
      const prepared = await Promise.all(devices.map((device) => prepare(device, openChannel, options.prompts, touchTimeoutMs, options.signal)));
      return {
        ready: prepared.filter((p): p is AuthenticatorImpl => p instanceof AuthenticatorImpl),
        problems: prepared.filter((p): p is TngError => p instanceof TngError),
      };
    },
    async open(options) {
      return select(await openAll(options), options);
    },
    openAll,
    select,
  };

  async function select(candidates: Authenticator[], options: { prompts: TouchPrompts; signal?: AbortSignal }): Promise<Authenticator> {
    const opened = candidates.map((candidate) => {
      if (!(candidate instanceof AuthenticatorImpl)) throw new TypeError('select() takes authenticators opened by this client');
      return candidate;
    });
    if (opened.length === 1) return opened[0] as AuthenticatorImpl;
    options.prompts.selectDevice(opened.length);
    return selectByTouch(opened, touchTimeoutMs, options.signal);
  }

  async function openAll(options: OpenOptions): Promise<AuthenticatorImpl[]> {
    const { signal, prompts } = options;
    const deadline = now() + (options.waitForDeviceMs ?? 0);
    let devices: OpenedDevice[];
    let announced = false;
    for (;;) {
      if (signal?.aborted) throw interruptedError(signal.reason);
      devices = await open(options.spec, signal ? { signal } : {});
      if (devices.length > 0) break;
      if (!options.waitForDeviceMs || now() >= deadline) throw noneFound(options.spec);
      if (!announced) {
        announced = true;
        prompts.insert?.();
      }
      try {
        await sleep(Math.min(deps.pollMs ?? 250, Math.max(1, deadline - now())), signal);
      } catch (error) {
        throw interruptedError(error);
      }
    }

    const prepared = await Promise.all(
      devices.map((device) => prepare(device, openChannel, prompts, touchTimeoutMs, signal)),
    );
    const ready = prepared.filter((p): p is AuthenticatorImpl => p instanceof AuthenticatorImpl);
    const errors = prepared.filter((p): p is TngError => p instanceof TngError);
    if (ready.length === 0) {
      throw (
        errors.find((e) => e.kind === 'interrupted') ??
        errors.find((e) => e.code !== 'fido2.u2f-only') ??
        errors[0] ??
        noneFound(options.spec)
      );
    }
    if (ready.length === 1) return ready;
    return options.credentials ? narrow(ready, options.credentials) : ready;
  }
}

/** Keeps the devices that hold (or lack) the credentials; closes the rest. With no match, all stay. */
async function narrow(ready: AuthenticatorImpl[], filter: NonNullable<OpenOptions['credentials']>): Promise<AuthenticatorImpl[]> {
  const holds = await Promise.all(
    ready.map(async (auth) => {
      for (const group of filter.groups) {
        if (group.ids.length > 0 && (await auth.hasCredential(group.rpId, group.ids).catch(() => undefined))) return true;
      }
      return false;
    }),
  );
  const keep = ready.filter((_, index) => holds[index] === (filter.want === 'present'));
  if (keep.length === 0) return ready;
  await Promise.all(ready.filter((auth) => !keep.includes(auth)).map((auth) => auth.close().catch(() => undefined)));
  return keep;
}

function noneFound(spec: string | undefined): TngError {
  return fidoError(
    'fido2.none-found',
    spec ? `No authenticator found at ${spec}.` : 'No FIDO2 security key found.',
  );
}

async function prepare(
  device: OpenedDevice,
  openChannel: NonNullable<ClientDeps['openChannel']>,
  prompts: TouchPrompts,
  touchTimeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<AuthenticatorImpl | TngError> {
  let channel: ClientChannel | undefined;
  try {
    channel = await openChannel(device, signal ? { signal } : {});
    if (!channel.supportsCbor) throw u2fOnly(device.name);
    let info: AuthenticatorInfo;
    try {
      info = await getInfo(channel, { timeoutMs: 5000, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (
        (error instanceof CtapHidError && error.hidCode === CTAPHID_ERROR.INVALID_CMD) ||
        isCtapError(error, CTAP2_STATUS.INVALID_COMMAND)
      ) {
        throw u2fOnly(device.name, error);
      }
      throw error;
    }
    if (!info.versions.some((v) => v.startsWith('FIDO_2'))) throw u2fOnly(device.name);
    return new AuthenticatorImpl(channel, info, authenticatorName(info.aaguidText, device.name), prompts, touchTimeoutMs);
  } catch (error) {
    await (channel ? channel.close() : device.device.close()).catch(() => undefined);
    return asTngError(error);
  }
}

function u2fOnly(name: string, cause?: unknown): TngError {
  return fidoError(
    'fido2.u2f-only',
    `${name} supports only U2F; tng needs a FIDO2 key with hmac-secret.`,
    cause,
  );
}

function asTngError(error: unknown): TngError {
  if (error instanceof TngError) return error;
  if (isAbortError(error)) return interruptedError(error);
  return fidoError('fido2.protocol', `The authenticator failed unexpectedly: ${error instanceof Error ? error.message : String(error)}.`, error);
}

/** Runs authenticatorSelection on every device; the first touched wins, the others are cancelled and closed. */
async function selectByTouch(ready: AuthenticatorImpl[], touchTimeoutMs: number, signal?: AbortSignal): Promise<Authenticator> {
  const outcome = await firstToSucceed(ready, (auth, shared) => selection(auth.channel, auth.info, { signal: shared, timeoutMs: touchTimeoutMs }), signal);
  const winner = 'index' in outcome ? outcome.index : undefined;
  await Promise.all(ready.map((auth, index) => (index === winner ? undefined : auth.close().catch(() => undefined))));
  if (winner !== undefined) return ready[winner] as AuthenticatorImpl;
  if (signal?.aborted) throw interruptedError(signal.reason);
  throw touchError(mostTelling('errors' in outcome ? outcome.errors : []) ?? fidoError('fido2.touch-timeout', 'No security key was touched.'), touchTimeoutMs);
}

/** Of the errors of several keys asked at once, the one to report: the first that is not a key pulled out. */
export function mostTelling(errors: unknown[]): TngError | undefined {
  const translated = errors.map(asTngError);
  return translated.find((e) => e.code !== 'fido2.unplugged') ?? translated[0];
}

function touchError(error: TngError, timeoutMs: number): TngError {
  if (error.code === 'fido2.timeout') {
    return fidoError('fido2.touch-timeout', `The security key was not touched within ${Math.round(timeoutMs / 1000)} s.`, error);
  }
  return error;
}

interface Verification {
  /** Built-in UV (`uv: true` option), no PIN token. */
  builtIn: boolean;
  protocol?: PinProtocol;
  token?: Uint8Array;
  /** The key agreement used for the PIN token; hmac-secret reuses it. */
  shared?: SharedSecret;
}

class AuthenticatorImpl implements Authenticator {
  readonly aaguid: string;
  readonly hasPin: boolean;
  readonly supportsHmacSecret: boolean;

  constructor(
    readonly channel: ClientChannel,
    readonly info: AuthenticatorInfo,
    readonly name: string,
    private readonly prompts: TouchPrompts,
    private readonly touchTimeoutMs: number,
  ) {
    this.aaguid = info.aaguidText;
    this.hasPin = info.options.clientPin === true;
    this.supportsHmacSecret = info.extensions.includes(HMAC_SECRET);
  }

  async close(): Promise<void> {
    await this.channel.close();
  }

  /** Options for a call that waits for a touch: UPNEEDED → prompt once; the contract's 30 s limit. */
  private touchOptions(signal: AbortSignal | undefined, timeoutMs: number | undefined): CborCallOptions {
    let prompted = false;
    return {
      ...(signal ? { signal } : {}),
      timeoutMs: timeoutMs ?? this.touchTimeoutMs,
      onKeepalive: (status) => {
        if (status === KEEPALIVE_STATUS.UPNEEDED && !prompted) {
          prompted = true;
          this.prompts.touch(this.name);
        }
      },
    };
  }

  private usableIds(ids: Uint8Array[]): Uint8Array[] {
    const max = this.info.maxCredentialIdLength;
    return ids.filter((id) => id.length > 0 && (max === undefined || max === 0 || id.length <= max));
  }

  private chunks(ids: Uint8Array[]): Uint8Array[][] {
    const max = this.info.maxCredentialCountInList;
    if (!max || ids.length <= max) return [ids];
    const out: Uint8Array[][] = [];
    for (let i = 0; i < ids.length; i += max) out.push(ids.slice(i, i + max));
    return out;
  }

  needsPin(uv: UserVerification): boolean {
    return uv === 'required' && this.info.options.uv !== true;
  }

  async hasCredential(rpId: string, credentialIds: Uint8Array[], signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const ids = this.usableIds(credentialIds);
    for (const chunk of ids.length ? this.chunks(ids) : []) {
      const allowList = chunk.map((id) => ({ id, type: 'public-key' }));
      try {
        const response = await ctapGetAssertion(
          this.channel,
          { rpId, clientDataHash: new Uint8Array(randomBytes(32)), allowList, options: { up: false } },
          { timeoutMs: 10_000, ...(signal ? { signal } : {}) },
        );
        if (!allowList.some((d) => bytesEqual(d.id, response.credential.id))) {
          throw protocolError('a probe answered with a credential that was not asked for');
        }
        return response.credential.id;
      } catch (error) {
        if (isCtapError(error, CTAP2_STATUS.NO_CREDENTIALS) || isCtapError(error, CTAP2_STATUS.INVALID_CREDENTIAL)) continue;
        throw error;
      }
    }
    return undefined;
  }

  /** Obtains what `uv` asks for: nothing, built-in UV, or a PIN token with `permission` for `rpId`. */
  private async verification(uv: UserVerification, permission: number, rpId: string, signal?: AbortSignal): Promise<Verification> {
    if (uv === 'discouraged') return { builtIn: false };
    // Built-in UV (a fingerprint) first; the PIN when there is none, or when it is blocked (see callers).
    if (this.info.options.uv === true) return { builtIn: true };
    if (this.info.options.clientPin === true) return this.pinToken(permission, rpId, signal);
    if (this.info.options.clientPin === false) {
      throw fidoError('fido2.pin-not-set', `${this.name} has no PIN, but this profile requires user verification.`);
    }
    throw fidoError('fido2.not-supported', `${this.name} cannot verify the user (no PIN support).`);
  }

  private async pinToken(permission: number, rpId: string, signal?: AbortSignal): Promise<Verification> {
    const protocol = selectPinProtocol(this.info);
    if (!protocol) throw fidoError('fido2.not-supported', `${this.name} offers no PIN protocol tng implements.`);
    const callOptions: CborCallOptions = { timeoutMs: 10_000, ...(signal ? { signal } : {}) };
    for (let attempt = 0; attempt < PIN_ATTEMPT_LIMIT; attempt++) {
      let retries: number | undefined;
      try {
        retries = (await getPinRetries(this.channel, protocol, callOptions)).retries;
      } catch (error) {
        if (!(error instanceof CtapError)) throw error;
      }
      if (retries === 0) throw new CtapError(CTAP2_STATUS.PIN_BLOCKED);
      const pin = await this.prompts.pin(retries, this.name);
      if (signal?.aborted) throw interruptedError(signal.reason);
      checkPinPolicy(pin);
      try {
        const { token, shared } = await getPinToken(this.channel, this.info, protocol, pin, { permissions: permission, rpId }, callOptions);
        return { builtIn: false, protocol, token, shared };
      } catch (error) {
        if (isCtapError(error, CTAP2_STATUS.PIN_INVALID)) continue; // ask again with the new retry count
        throw error;
      }
    }
    throw new CtapError(CTAP2_STATUS.PIN_INVALID);
  }

  private requirePinFree(operation: string): void {
    if (this.info.options.alwaysUv === true) {
      throw fidoError('fido2.pin-required', `${this.name} always requires user verification (alwaysUv) for ${operation}.`);
    }
  }

  async makeCredential(o: MakeCredentialOptions): Promise<MadeCredential> {
    checkSize(o.clientDataHash, 32, 'clientDataHash');
    if (o.userId.length < 1 || o.userId.length > 64) throw internalError('fido2.bad-argument', 'A user id is 1 to 64 bytes.');
    if (!this.supportsHmacSecret) throw fidoError('fido2.no-hmac-secret', `${this.name} does not support hmac-secret.`);
    if (o.uv === 'discouraged') {
      this.requirePinFree('creating a credential');
      if (this.hasPin && this.info.options.makeCredUvNotRqd !== true) {
        throw fidoError('fido2.pin-required', `${this.name} has a PIN and requires it to create a credential.`, undefined,
          'Enrol with user verification required (the PIN will be asked for).');
      }
    }

    let excludeIds = this.usableIds(o.excludeCredentialIds ?? []);
    if (excludeIds.length > (this.info.maxCredentialCountInList || Infinity)) {
      const present = await this.hasCredential(o.rpId, excludeIds, o.signal);
      if (present) throw new CtapError(CTAP2_STATUS.CREDENTIAL_EXCLUDED);
      excludeIds = [];
    }

    const algorithms = [COSE_ALG.ES256, COSE_ALG.EdDSA].filter(
      (alg) => !this.info.algorithms || this.info.algorithms.some((a) => a.alg === alg && a.type === 'public-key'),
    );
    if (algorithms.length === 0) throw fidoError('fido2.not-supported', `${this.name} supports neither ES256 nor EdDSA.`);

    let verification = await this.verification(o.uv, PERMISSION.MC, o.rpId, o.signal);
    let response: MakeCredentialResponse;
    for (;;) {
      const pinParams =
        verification.token && verification.protocol
          ? {
              pinUvAuthParam: verification.protocol.authenticate(verification.token, o.clientDataHash),
              pinUvAuthProtocol: verification.protocol.version,
            }
          : {};
      try {
        response = await ctapMakeCredential(
          this.channel,
          {
            clientDataHash: o.clientDataHash,
            rp: { id: o.rpId, ...(o.rpName !== undefined ? { name: o.rpName } : {}) },
            user: { id: o.userId, name: o.userName, displayName: o.userName },
            pubKeyCredParams: algorithms.map((alg) => ({ alg, type: 'public-key' })),
            ...(excludeIds.length ? { excludeList: excludeIds.map((id) => ({ id, type: 'public-key' })) } : {}),
            extensions: { [HMAC_SECRET]: true },
            ...(verification.builtIn ? { options: { uv: true } } : {}),
            ...pinParams,
          },
          this.touchOptions(o.signal, o.timeoutMs),
        );
        break;
      } catch (error) {
        if (verification.builtIn && this.hasPin && builtInUvUnavailable(error)) {
          verification = await this.pinToken(PERMISSION.MC, o.rpId, o.signal);
          continue;
        }
        throw touchError(asTngError(error), o.timeoutMs ?? this.touchTimeoutMs);
      }
    }

    const authData = response.parsedAuthData;
    this.checkRpIdHash(authData.rpIdHash, o.rpId);
    if (!authData.userPresent) throw protocolError('a credential made without user presence');
    if (o.uv === 'required' && !authData.userVerified) throw protocolError('a credential made without user verification');
    const attested = authData.attestedCredentialData;
    if (!attested) throw protocolError('makeCredential authData without a credential');
    const alg = attested.publicKeyMap.get(3);
    if (typeof alg !== 'number' || !algorithms.includes(alg as -7 | -8)) {
      throw protocolError(`a credential key with algorithm ${String(alg)}, which was not asked for`);
    }
    coseToKeyObject(attested.publicKeyMap); // must be a usable key
    if (authData.extensions?.get(HMAC_SECRET) !== true) {
      throw fidoError('fido2.no-hmac-secret', `${this.name} did not enable hmac-secret for the new credential.`);
    }
    return {
      credentialId: attested.credentialId,
      publicKey: attested.publicKey,
      alg,
      aaguid: attested.aaguidText,
      authData: response.authData,
      attestation: { fmt: response.fmt, attStmt: response.attStmt },
    };
  }

  async getAssertion(o: GetAssertionOptions): Promise<Assertion> {
    checkSize(o.clientDataHash, 32, 'clientDataHash');
    if (o.hmacSalt !== undefined) {
      checkSize(o.hmacSalt, SALT_SIZE, 'hmacSalt');
      if (!this.supportsHmacSecret) throw fidoError('fido2.no-hmac-secret', `${this.name} does not support hmac-secret.`);
    }
    if (o.uv === 'discouraged') this.requirePinFree('signing in');
    const candidates = this.usableIds(o.credentialIds);
    if (candidates.length === 0) throw new CtapError(CTAP2_STATUS.NO_CREDENTIALS);

    // Find the credential silently first: a key that is not enrolled fails before any PIN or touch.
    let allow: Uint8Array[] = candidates;
    try {
      const found = await this.hasCredential(o.rpId, candidates, o.signal);
      if (!found) throw new CtapError(CTAP2_STATUS.NO_CREDENTIALS);
      allow = [found];
    } catch (error) {
      if (!(error instanceof CtapError) || error.status === CTAP2_STATUS.NO_CREDENTIALS) throw error;
      // The probe is not supported here (e.g. up:false refused); let the real request decide.
    }
    if (allow.length > 1) allow = this.chunks(allow)[0] as Uint8Array[];

    let verification = await this.verification(o.uv, PERMISSION.GA, o.rpId, o.signal);
    const allowList: PublicKeyCredentialDescriptor[] = allow.map((id) => ({ id, type: 'public-key' }));
    let response: GetAssertionResponse;
    let hmac: { protocol: PinProtocol; shared: SharedSecret } | undefined;
    for (;;) {
      let extensions: Record<string, unknown> | undefined;
      if (o.hmacSalt) {
        const protocol = verification.protocol ?? selectPinProtocol(this.info) ?? new PinProtocolV1();
        const shared = verification.shared ?? (await getSharedSecret(this.channel, protocol, { timeoutMs: 10_000, ...(o.signal ? { signal: o.signal } : {}) }));
        hmac = { protocol, shared };
        extensions = { [HMAC_SECRET]: hmacSecretInput(protocol, shared, o.hmacSalt) };
      }
      try {
        response = await ctapGetAssertion(
          this.channel,
          {
            rpId: o.rpId,
            clientDataHash: o.clientDataHash,
            allowList,
            ...(extensions ? { extensions } : {}),
            ...(verification.builtIn ? { options: { uv: true } } : {}),
            ...(verification.token && verification.protocol
              ? {
                  pinUvAuthParam: verification.protocol.authenticate(verification.token, o.clientDataHash),
                  pinUvAuthProtocol: verification.protocol.version,
                }
              : {}),
          },
          this.touchOptions(o.signal, o.timeoutMs),
        );
        break;
      } catch (error) {
        if (verification.builtIn && this.hasPin && builtInUvUnavailable(error)) {
          verification = await this.pinToken(PERMISSION.GA, o.rpId, o.signal);
          continue;
        }
        throw touchError(asTngError(error), o.timeoutMs ?? this.touchTimeoutMs);
      }
    }

    const authData = response.parsedAuthData;
    this.checkRpIdHash(authData.rpIdHash, o.rpId);
    if (!allow.some((id) => bytesEqual(id, response.credential.id))) {
      throw protocolError('an assertion by a credential that was not asked for');
    }
    if (!authData.userPresent) throw protocolError('an assertion without user presence');
    if (o.uv === 'required' && !authData.userVerified) throw protocolError('an assertion without user verification');
    const assertion: Assertion = {
      credentialId: response.credential.id,
      authData: response.authData,
      signature: response.signature,
      signCount: authData.signCount,
      userPresent: authData.userPresent,
      userVerified: authData.userVerified,
    };
    if (hmac) {
      const encrypted = authData.extensions?.get(HMAC_SECRET);
      if (encrypted === undefined) {
        throw fidoError('fido2.no-hmac-secret', `${this.name} returned no hmac-secret output (was the credential made with hmac-secret?).`);
      }
      assertion.hmacOutput = decryptHmacSecretOutput(hmac.protocol, hmac.shared.sharedSecret, encrypted, 1).output1;
    }
    return assertion;
  }

  private checkRpIdHash(hash: Uint8Array, rpId: string): void {
    if (!bytesEqual(hash, rpIdHash(rpId))) throw protocolError(`authenticator data for another RP ID than "${rpId}"`);
  }
}

/** Built-in UV cannot be used now (blocked, or the `uv` option refused): fall back to the PIN. */
function builtInUvUnavailable(error: unknown): boolean {
  return (
    isCtapError(error, CTAP2_STATUS.UV_BLOCKED) ||
    isCtapError(error, CTAP2_STATUS.INVALID_OPTION) ||
    isCtapError(error, CTAP2_STATUS.UNSUPPORTED_OPTION) ||
    isCtapError(error, CTAP2_STATUS.PUAT_REQUIRED)
  );
}

function checkSize(value: Uint8Array, size: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== size) throw internalError('fido2.bad-argument', `${what} must be ${size} bytes.`);
}

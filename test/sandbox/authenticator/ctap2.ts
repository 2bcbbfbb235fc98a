/**
 * The authenticator proper: CTAP2 commands (getInfo, makeCredential, getAssertion, getNextAssertion,
 * clientPIN, selection) and the U2F/CTAP1 APDUs, independent of the CTAPHID transport.
 */
import { randomBytes, sign as signWith } from 'node:crypto';
import { CborError, decodeCanonical, encode, type CborInput, type CborKey, type CborValue } from './cbor.ts';
import {
  ALG_EDDSA,
  ALG_ES256,
  CredentialKey,
  DeviceKeys,
  KeyAgreement,
  ProtocolError,
  b64url,
  hmacSha256,
  pinProtocol,
  sha256,
  type PinUvAuthProtocol,
  type WrappedCredential,
} from './crypto.ts';
import { TouchError, type TouchController } from './touch.ts';
import { makeAttestationIdentity, type AttestationIdentity } from './x509.ts';
import { recordSecret } from '../secrets.ts';

// CTAP2 status codes used here.
export const ST = {
  OK: 0x00,
  INVALID_COMMAND: 0x01,
  INVALID_PARAMETER: 0x02,
  INVALID_LENGTH: 0x03,
  CBOR_UNEXPECTED_TYPE: 0x11,
  INVALID_CBOR: 0x12,
  MISSING_PARAMETER: 0x14,
  LIMIT_EXCEEDED: 0x15,
  CREDENTIAL_EXCLUDED: 0x19,
  UNSUPPORTED_ALGORITHM: 0x26,
  OPERATION_DENIED: 0x27,
  KEY_STORE_FULL: 0x28,
  UNSUPPORTED_OPTION: 0x2b,
  INVALID_OPTION: 0x2c,
  KEEPALIVE_CANCEL: 0x2d,
  NO_CREDENTIALS: 0x2e,
  USER_ACTION_TIMEOUT: 0x2f,
  NOT_ALLOWED: 0x30,
  PIN_INVALID: 0x31,
  PIN_BLOCKED: 0x32,
  PIN_AUTH_INVALID: 0x33,
  PIN_AUTH_BLOCKED: 0x34,
  PIN_NOT_SET: 0x35,
  PUAT_REQUIRED: 0x36,
  PIN_POLICY_VIOLATION: 0x37,
  REQUEST_TOO_LARGE: 0x39,
  INVALID_SUBCOMMAND: 0x3e,
  UNAUTHORIZED_PERMISSION: 0x40,
  EXTENSION_FIRST: 0xe0,
} as const;

export class CtapStatus extends Error {
  constructor(readonly status: number, message?: string) {
    super(message ?? `CTAP2 status 0x${status.toString(16).padStart(2, '0')}`);
  }
}

const CMD_MAKE_CREDENTIAL = 0x01;
const CMD_GET_ASSERTION = 0x02;
const CMD_GET_INFO = 0x04;
const CMD_CLIENT_PIN = 0x06;
const CMD_RESET = 0x07;
const CMD_GET_NEXT_ASSERTION = 0x08;
const CMD_SELECTION = 0x0b;

const PERM_MC = 0x01;
const PERM_GA = 0x02;
const PERM_LBW = 0x10;

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
const FLAG_ED = 0x80;

export const MAX_MSG_SIZE = 1200;
const MAX_CREDS_IN_LIST = 8;
const MAX_CRED_ID_LENGTH = 128;
const MAX_RESIDENT = 25;
const PIN_MAX_RETRIES = 8;
const PIN_MAX_CONSECUTIVE = 3;
const MIN_PIN_LENGTH = 4;
const NEXT_ASSERTION_TIMEOUT_MS = 30_000;
/** YubiKey 5 firmware 5.4.3 */
export const FIRMWARE = [5, 4, 3] as const;

export interface Ctap2Config {
  aaguid: Buffer;
  versions: string[];
  hmacSecret: boolean;
  pinProtocols: number[];
  algorithms: number[];
}

export interface RequestContext {
  cid: number;
  signal: AbortSignal;
  /** Resolves when the user touches; rejects with CtapStatus / the abort reason. */
  waitForTouch(): Promise<void>;
}

interface ResidentRecord {
  credentialId: string; // base64url
  rpId: string;
  rpName?: string;
  user: { id: string; name?: string; displayName?: string };
  createdAt: number;
}

interface CredentialRecord {
  credentialId: string;
  rpId: string;
  alg: number;
  signCount: number;
}

export interface PersistedState {
  version: 1;
  masterKey: string;
  pin: { hash: string; retries: number } | null;
  resident: ResidentRecord[];
  credentials: CredentialRecord[];
}

interface PinToken {
  token: Buffer;
  protocol: number;
  permissions: number;
  rpId?: string;
  legacy: boolean;
}

interface FoundCredential {
  id: Buffer;
  wrapped: WrappedCredential;
  resident?: ResidentRecord;
}

interface HmacSecretRequest {
  protocol: PinUvAuthProtocol;
  sharedSecret: Buffer;
  salts: Buffer[];
}

interface PendingAssertions {
  cid: number;
  rpId: string;
  clientDataHash: Buffer;
  flags: number;
  hmac?: HmacSecretRequest;
  remaining: FoundCredential[];
  expires: number;
}

// ---------------------------------------------------------------------------------------------
// Parameter access with CTAP2's error conventions

function param(m: Map<CborKey, CborValue>, key: CborKey): CborValue | undefined {
  return m.get(key);
}

function need<T>(v: T | undefined): T {
  if (v === undefined) throw new CtapStatus(ST.MISSING_PARAMETER);
  return v;
}

function asBytes(v: CborValue | undefined): Buffer | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new CtapStatus(ST.CBOR_UNEXPECTED_TYPE);
  return Buffer.from(v);
}

function asText(v: CborValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new CtapStatus(ST.CBOR_UNEXPECTED_TYPE);
  return v;
}

function asInt(v: CborValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw new CtapStatus(ST.CBOR_UNEXPECTED_TYPE);
  return v;
}

function asBool(v: CborValue | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new CtapStatus(ST.CBOR_UNEXPECTED_TYPE);
  return v;
}

function asMap(v: CborValue | undefined): Map<CborKey, CborValue> | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Map)) throw new CtapStatus(ST.CBOR_UNEXPECTED_TYPE);
  return v;
}

function asArray(v: CborValue | undefined): CborValue[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new CtapStatus(ST.CBOR_UNEXPECTED_TYPE);
  return v;
}

/** A PublicKeyCredentialDescriptor; undefined when its type is not "public-key" (to be ignored). */
function descriptor(v: CborValue): Buffer | undefined {
  const m = asMap(v)!;
  const type = need(asText(m.get('type')));
  const id = need(asBytes(m.get('id')));
  return type === 'public-key' ? id : undefined;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

// ---------------------------------------------------------------------------------------------

export class AuthenticatorCore {
  readonly stats = { makeCredential: 0, getAssertion: 0, selection: 0 };
  private keys: DeviceKeys;
  private readonly keyAgreement = new KeyAgreement();
  private pin: { hash: Buffer; retries: number } | undefined;
  private consecutivePinFailures = 0;
  private pinToken: PinToken | undefined;
  private readonly resident = new Map<string, ResidentRecord>();
  private readonly registry = new Map<string, CredentialRecord>();
  private pending: PendingAssertions | undefined;
  private attestation: AttestationIdentity | undefined;

  constructor(
    readonly config: Ctap2Config,
    state: PersistedState | undefined,
    private readonly persist: (state: PersistedState) => void,
  ) {
    if (state) {
      this.keys = new DeviceKeys(Buffer.from(state.masterKey, 'base64url'));
      if (state.pin) this.pin = { hash: Buffer.from(state.pin.hash, 'base64url'), retries: state.pin.retries };
      for (const r of state.resident) this.resident.set(r.credentialId, r);
      for (const c of state.credentials) this.registry.set(c.credentialId, c);
    } else {
      this.keys = new DeviceKeys(randomBytes(32));
    }
  }

  get fido21(): boolean {
    return this.config.versions.includes('FIDO_2_1') || this.config.versions.includes('FIDO_2_1_PRE');
  }

  get u2f(): boolean {
    return this.config.versions.includes('U2F_V2');
  }

  // --- test controls -------------------------------------------------------------------------

  /** Sets or removes the PIN (retries back to 8) and power-cycles the PIN state. */
  setPin(pin: string | undefined): void {
    this.pin = pin === undefined ? undefined : { hash: sha256(Buffer.from(pin, 'utf8')).subarray(0, 16), retries: PIN_MAX_RETRIES };
    this.powerCycle();
    this.save();
  }

  pinRetries(): number {
    return this.pin ? this.pin.retries : PIN_MAX_RETRIES;
  }

  /** What a replug does to volatile state: new key agreement, no token, PIN_AUTH_BLOCKED lifted. */
  powerCycle(): void {
    this.consecutivePinFailures = 0;
    this.pinToken = undefined;
    this.pending = undefined;
    this.keyAgreement.regenerate();
  }

  credentials(): CredentialRecord[] {
    return [...this.registry.values()].map((c) => ({ ...c }));
  }

  snapshot(): PersistedState {
    return {
      version: 1,
      masterKey: b64url(this.keys.masterKey),
      pin: this.pin ? { hash: b64url(this.pin.hash), retries: this.pin.retries } : null,
      resident: [...this.resident.values()],
      credentials: [...this.registry.values()],
    };
  }

  private save(): void {
    this.persist(this.snapshot());
  }

  // --- CTAP2 dispatch ------------------------------------------------------------------------

  /** Handles one CTAPHID_CBOR message; returns `status || CBOR`. */
  async handleCbor(message: Buffer, ctx: RequestContext): Promise<Buffer> {
    try {
      if (message.length > MAX_MSG_SIZE) throw new CtapStatus(ST.REQUEST_TOO_LARGE);
      const cmd = message[0]!;
      if (cmd !== CMD_GET_NEXT_ASSERTION) this.pending = undefined;
      let params = new Map<CborKey, CborValue>();
      if (message.length > 1) {
        const decoded = decodeCanonical(message.subarray(1));
        if (!(decoded instanceof Map)) throw new CtapStatus(ST.CBOR_UNEXPECTED_TYPE);
        params = decoded;
      }
      let response: CborInput | undefined;
      switch (cmd) {
        case CMD_GET_INFO:
          response = this.getInfo();
          break;
        case CMD_MAKE_CREDENTIAL:
          this.stats.makeCredential++;
          response = await this.makeCredential(params, ctx);
          break;
        case CMD_GET_ASSERTION:
          this.stats.getAssertion++;
          response = await this.getAssertion(params, ctx);
          break;
        case CMD_GET_NEXT_ASSERTION:
          response = this.getNextAssertion(ctx);
          break;
        case CMD_CLIENT_PIN:
          response = this.clientPin(params);
          break;
        case CMD_SELECTION:
          if (!this.fido21) throw new CtapStatus(ST.INVALID_COMMAND);
          this.stats.selection++;
          await this.touch(ctx);
          response = undefined;
          break;
        case CMD_RESET:
          // Reset is only allowed within seconds of power-up; a sandbox is never that fresh.
          throw new CtapStatus(ST.NOT_ALLOWED);
        default:
          throw new CtapStatus(ST.INVALID_COMMAND);
      }
      return response === undefined ? Buffer.from([ST.OK]) : Buffer.concat([Buffer.from([ST.OK]), encode(response)]);
    } catch (err) {
      if (err instanceof CtapStatus || err instanceof CborError || err instanceof ProtocolError || err instanceof TouchError) {
        return Buffer.from([err.status]);
      }
      throw err;
    }
  }

  private async touch(ctx: RequestContext): Promise<void> {
    await ctx.waitForTouch();
  }

  getInfo(): Map<CborKey, CborInput> {
    const options = new Map<CborKey, CborInput>([
      ['rk', true],
      ['up', true],
      ['plat', false],
      ['clientPin', this.pin !== undefined],
    ]);
    if (this.fido21) {
      options.set('pinUvAuthToken', true);
      options.set('makeCredUvNotRqd', true);
    }
    const extensions = this.fido21 ? ['credProtect'] : [];
    if (this.config.hmacSecret) extensions.push('hmac-secret');
    const info = new Map<CborKey, CborInput>([
      [0x01, this.config.versions],
      [0x02, extensions],
      [0x03, this.config.aaguid],
      [0x04, options],
      [0x05, MAX_MSG_SIZE],
      [0x06, this.config.pinProtocols],
      [0x07, MAX_CREDS_IN_LIST],
      [0x08, MAX_CRED_ID_LENGTH],
      [0x09, ['usb']],
      [0x0a, this.config.algorithms.map((alg) => ({ alg, type: 'public-key' }))],
    ]);
    if (this.fido21) {
      info.set(0x0c, false); // forcePINChange
      info.set(0x0d, MIN_PIN_LENGTH);
      info.set(0x0e, (FIRMWARE[0] << 16) | (FIRMWARE[1] << 8) | FIRMWARE[2]);
      info.set(0x14, MAX_RESIDENT - this.resident.size);
    }
    return info;
  }

  // --- pinUvAuthParam handling -----------------------------------------------------------------

  private readPinUvAuth(params: Map<CborKey, CborValue>, paramKey: number, protocolKey: number): { param?: Buffer; protocol?: PinUvAuthProtocol } {
    const p = asBytes(param(params, paramKey));
    const version = asInt(param(params, protocolKey));
    if (p === undefined || p.length === 0) return { param: p };
    if (version === undefined) throw new CtapStatus(ST.MISSING_PARAMETER);
    const protocol = this.config.pinProtocols.includes(version) ? pinProtocol(version) : undefined;
    if (!protocol) throw new CtapStatus(ST.INVALID_PARAMETER);
    return { param: p, protocol };
  }

  /** The zero-length pinUvAuthParam probe (platforms use it to ask "touch me"). */
  private async zeroLengthProbe(ctx: RequestContext): Promise<never> {
    await this.touch(ctx);
    throw new CtapStatus(this.pin ? ST.PIN_INVALID : ST.PIN_NOT_SET);
  }

  private checkToken(protocol: PinUvAuthProtocol, clientDataHash: Buffer, p: Buffer, permission: number, rpId: string): PinToken {
    if (!this.pin) throw new CtapStatus(ST.PIN_NOT_SET);
    const t = this.pinToken;
    if (!t || t.protocol !== protocol.version || !protocol.verify(t.token, clientDataHash, p)) throw new CtapStatus(ST.PIN_AUTH_INVALID);
    if ((t.permissions & permission) === 0) throw new CtapStatus(ST.PIN_AUTH_INVALID);
    if (t.rpId !== undefined && t.rpId !== rpId) throw new CtapStatus(ST.PIN_AUTH_INVALID);
    if (!t.legacy) t.rpId = rpId;
    return t;
  }

  /** After an operation that collected user presence, a permission-scoped token is spent (CTAP 2.1). */
  private spendToken(t: PinToken | undefined): void {
    if (t && !t.legacy) t.permissions &= PERM_LBW;
  }

  // --- credentials -----------------------------------------------------------------------------

  private find(rpId: string, rpIdHash: Buffer, id: Buffer): FoundCredential | undefined {
    const wrapped = this.keys.unwrap(rpIdHash, id);
    if (!wrapped) return undefined;
    const key = b64url(id);
    if (wrapped.resident) {
      const record = this.resident.get(key);
      if (!record || record.rpId !== rpId) return undefined; // overwritten discoverable credential
      return { id, wrapped, resident: record };
    }
    return { id, wrapped };
  }

  /** Strictly increasing creation stamps, so "newest first" is well defined. */
  private nextCreatedAt(): number {
    const newest = Math.max(0, ...[...this.resident.values()].map((r) => r.createdAt));
    return Math.max(Date.now(), newest + 1);
  }

  private register(id: Buffer, rpId: string, alg: number): CredentialRecord {
    const key = b64url(id);
    let rec = this.registry.get(key);
    if (!rec) {
      rec = { credentialId: key, rpId, alg, signCount: 0 };
      this.registry.set(key, rec);
    }
    return rec;
  }

  // --- makeCredential --------------------------------------------------------------------------

  private async makeCredential(params: Map<CborKey, CborValue>, ctx: RequestContext): Promise<CborInput> {
    const clientDataHash = need(asBytes(param(params, 0x01)));
    const rp = need(asMap(param(params, 0x02)));
    const rpId = need(asText(rp.get('id')));
    const rpName = asText(rp.get('name'));
    const user = need(asMap(param(params, 0x03)));
    const userId = need(asBytes(user.get('id')));
    const userName = asText(user.get('name'));
    const userDisplayName = asText(user.get('displayName'));
    const credParams = need(asArray(param(params, 0x04)));
    const excludeList = asArray(param(params, 0x05));
    const extensions = asMap(param(params, 0x06));
    const options = asMap(param(params, 0x07));
    const pinUv = this.readPinUvAuth(params, 0x08, 0x09);
    if (clientDataHash.length !== 32 || userId.length > 64) throw new CtapStatus(ST.INVALID_PARAMETER);

    if (pinUv.param !== undefined && pinUv.param.length === 0) await this.zeroLengthProbe(ctx);

    let alg: number | undefined;
    for (const entry of credParams) {
      const m = asMap(entry)!;
      const a = need(asInt(m.get('alg')));
      const type = need(asText(m.get('type')));
      if (alg === undefined && type === 'public-key' && this.config.algorithms.includes(a) && (a === ALG_ES256 || a === ALG_EDDSA)) alg = a;
    }
    if (alg === undefined) throw new CtapStatus(ST.UNSUPPORTED_ALGORITHM);

    const rk = asBool(options?.get('rk')) ?? false;
    const up = asBool(options?.get('up'));
    const uvOption = asBool(options?.get('uv')) ?? false;
    if (up === false) throw new CtapStatus(ST.INVALID_OPTION);
    if (uvOption && pinUv.param === undefined) throw new CtapStatus(ST.INVALID_OPTION); // no built-in UV
    if (param(params, 0x0a) !== undefined) throw new CtapStatus(ST.INVALID_PARAMETER); // no enterprise attestation

    if (pinUv.param === undefined && this.pin && (rk || !this.fido21)) throw new CtapStatus(ST.PUAT_REQUIRED);
    let token: PinToken | undefined;
    if (pinUv.param !== undefined && pinUv.protocol) token = this.checkToken(pinUv.protocol, clientDataHash, pinUv.param, PERM_MC, rpId);
    const uv = token !== undefined;

    const rpIdHash = sha256(Buffer.from(rpId, 'utf8'));
    if (excludeList) {
      if (excludeList.length > MAX_CREDS_IN_LIST) throw new CtapStatus(ST.LIMIT_EXCEEDED);
      let excluded = false;
      for (const d of excludeList) {
        const id = descriptor(d);
        const found = id ? this.find(rpId, rpIdHash, id) : undefined;
        if (found && !(found.wrapped.credProtect === 3 && !uv)) excluded = true;
      }
      if (excluded) {
        await this.touch(ctx);
        throw new CtapStatus(ST.CREDENTIAL_EXCLUDED);
      }
    }

    let hmacSecret = false;
    let credProtect = 0;
    if (extensions) {
      const hs = extensions.get('hmac-secret');
      if (hs !== undefined && asBool(hs) && this.config.hmacSecret) hmacSecret = true;
      const cp = extensions.get('credProtect');
      if (cp !== undefined && this.fido21) {
        credProtect = asInt(cp)!;
        if (credProtect < 1 || credProtect > 3) throw new CtapStatus(ST.INVALID_PARAMETER);
      }
    }
    if (rk && this.resident.size >= MAX_RESIDENT && ![...this.resident.values()].some((r) => r.rpId === rpId && r.user.id === b64url(userId))) {
      throw new CtapStatus(ST.KEY_STORE_FULL);
    }

    await this.touch(ctx);
    this.spendToken(token);

    const key = CredentialKey.generate(alg);
    const wrapped: WrappedCredential = { key, hmacSecret, resident: rk, credProtect };
    const credentialId = this.keys.wrap(rpIdHash, wrapped);
    if (rk) {
      for (const [k, r] of this.resident) if (r.rpId === rpId && r.user.id === b64url(userId)) this.resident.delete(k);
      this.resident.set(b64url(credentialId), {
        credentialId: b64url(credentialId),
        rpId,
        ...(rpName !== undefined ? { rpName } : {}),
        user: { id: b64url(userId), ...(userName !== undefined ? { name: userName } : {}), ...(userDisplayName !== undefined ? { displayName: userDisplayName } : {}) },
        createdAt: this.nextCreatedAt(),
      });
    }
    const record = this.register(credentialId, rpId, alg);
    this.save();

    const extOut = new Map<CborKey, CborInput>();
    if (credProtect) extOut.set('credProtect', credProtect);
    if (hmacSecret) extOut.set('hmac-secret', true);
    const flags = FLAG_UP | (uv ? FLAG_UV : 0) | FLAG_AT | (extOut.size ? FLAG_ED : 0);
    const authData = Buffer.concat([
      rpIdHash,
      Buffer.from([flags]),
      u32(record.signCount),
      this.config.aaguid,
      u16(credentialId.length),
      credentialId,
      encode(key.cosePublicKey),
      extOut.size ? encode(extOut) : Buffer.alloc(0),
    ]);
    const sig = key.sign(Buffer.concat([authData, clientDataHash]));
    return new Map<CborKey, CborInput>([
      [0x01, 'packed'],
      [0x02, authData],
      [0x03, { alg, sig }],
    ]);
  }

  // --- getAssertion ----------------------------------------------------------------------------

  private parseHmacSecret(input: CborValue): HmacSecretRequest {
    const m = asMap(input)!;
    const platformKey = need(m.get(1));
    const saltEnc = need(asBytes(m.get(2)));
    const saltAuth = need(asBytes(m.get(3)));
    const version = asInt(m.get(4)) ?? 1;
    const protocol = this.config.pinProtocols.includes(version) ? pinProtocol(version) : undefined;
    if (!protocol) throw new CtapStatus(ST.INVALID_PARAMETER);
    // One or two 32-byte salts: 32/64 bytes of ciphertext, plus a 16-byte IV under protocol 2.
    const overhead = protocol.version === 2 ? 16 : 0;
    if (saltEnc.length !== 32 + overhead && saltEnc.length !== 64 + overhead) throw new CtapStatus(ST.INVALID_LENGTH);
    const sharedSecret = this.keyAgreement.sharedSecret(protocol, platformKey);
    if (!protocol.verify(sharedSecret, saltEnc, saltAuth)) {
      throw new CtapStatus(this.fido21 ? ST.PIN_AUTH_INVALID : ST.EXTENSION_FIRST);
    }
    const salt = protocol.decrypt(sharedSecret, saltEnc);
    if (salt.length !== 32 && salt.length !== 64) throw new CtapStatus(ST.INVALID_LENGTH);
    const salts = salt.length === 32 ? [salt] : [salt.subarray(0, 32), salt.subarray(32)];
    return { protocol, sharedSecret, salts };
  }

  private async getAssertion(params: Map<CborKey, CborValue>, ctx: RequestContext): Promise<CborInput> {
    const rpId = need(asText(param(params, 0x01)));
    const clientDataHash = need(asBytes(param(params, 0x02)));
    const allowList = asArray(param(params, 0x03));
    const extensions = asMap(param(params, 0x04));
    const options = asMap(param(params, 0x05));
    const pinUv = this.readPinUvAuth(params, 0x06, 0x07);
    if (clientDataHash.length !== 32) throw new CtapStatus(ST.INVALID_PARAMETER);

    if (pinUv.param !== undefined && pinUv.param.length === 0) await this.zeroLengthProbe(ctx);

    if (options?.has('rk')) throw new CtapStatus(ST.UNSUPPORTED_OPTION);
    const up = asBool(options?.get('up')) ?? true;
    const uvOption = asBool(options?.get('uv')) ?? false;
    if (uvOption && pinUv.param === undefined) throw new CtapStatus(ST.INVALID_OPTION);

    let token: PinToken | undefined;
    if (pinUv.param !== undefined && pinUv.protocol) token = this.checkToken(pinUv.protocol, clientDataHash, pinUv.param, PERM_GA, rpId);
    const uv = token !== undefined;

    const rpIdHash = sha256(Buffer.from(rpId, 'utf8'));
    let creds: FoundCredential[] = [];
    if (allowList && allowList.length > 0) {
      if (allowList.length > MAX_CREDS_IN_LIST) throw new CtapStatus(ST.LIMIT_EXCEEDED);
      for (const d of allowList) {
        const id = descriptor(d);
        const found = id ? this.find(rpId, rpIdHash, id) : undefined;
        if (found && !(found.wrapped.credProtect === 3 && !uv)) {
          creds = [found];
          break;
        }
      }
    } else {
      creds = [...this.resident.values()]
        .filter((r) => r.rpId === rpId)
        .sort((a, b) => b.createdAt - a.createdAt)
        .map((r) => this.find(rpId, rpIdHash, Buffer.from(r.credentialId, 'base64url')))
        .filter((c): c is FoundCredential => c !== undefined && (uv || c.wrapped.credProtect < 2));
    }
    if (creds.length === 0) throw new CtapStatus(ST.NO_CREDENTIALS);

    if (up) {
      await this.touch(ctx);
      this.spendToken(token);
    }
    // Extensions are processed once the user has consented (CTAP 2.1 §12.5 for hmac-secret).
    let hmac: HmacSecretRequest | undefined;
    const hs = extensions?.get('hmac-secret');
    if (hs !== undefined && this.config.hmacSecret) hmac = this.parseHmacSecret(hs);
    const flags = (up ? FLAG_UP : 0) | (uv ? FLAG_UV : 0);
    const first = creds[0]!;
    const response = this.assertion(first, rpId, rpIdHash, clientDataHash, flags, hmac, uv);
    if (creds.length > 1) {
      response.set(0x05, creds.length);
      this.pending = { cid: ctx.cid, rpId, clientDataHash, flags, hmac, remaining: creds.slice(1), expires: Date.now() + NEXT_ASSERTION_TIMEOUT_MS };
    }
    return response;
  }

  private getNextAssertion(ctx: RequestContext): CborInput {
    const p = this.pending;
    if (!p || p.cid !== ctx.cid || Date.now() > p.expires || p.remaining.length === 0) {
      this.pending = undefined;
      throw new CtapStatus(ST.NOT_ALLOWED);
    }
    const next = p.remaining.shift()!;
    p.expires = Date.now() + NEXT_ASSERTION_TIMEOUT_MS;
    const rpIdHash = sha256(Buffer.from(p.rpId, 'utf8'));
    return this.assertion(next, p.rpId, rpIdHash, p.clientDataHash, p.flags, p.hmac, (p.flags & FLAG_UV) !== 0);
  }

  private assertion(
    cred: FoundCredential,
    rpId: string,
    rpIdHash: Buffer,
    clientDataHash: Buffer,
    baseFlags: number,
    hmac: HmacSecretRequest | undefined,
    uv: boolean,
  ): Map<CborKey, CborInput> {
    const extOut = new Map<CborKey, CborInput>();
    if (hmac && cred.wrapped.hmacSecret) {
      const credRandom = this.keys.credRandom(cred.wrapped, uv);
      const outputs = hmac.salts.map((s) => hmacSha256(credRandom, s));
      for (const one of outputs) recordSecret('hmac-output', one);
      const output = Buffer.concat(outputs);
      extOut.set('hmac-secret', hmac.protocol.encrypt(hmac.sharedSecret, output));
    }
    const record = this.register(cred.id, rpId, cred.wrapped.key.alg);
    record.signCount++;
    this.save();
    const flags = baseFlags | (extOut.size ? FLAG_ED : 0);
    const authData = Buffer.concat([rpIdHash, Buffer.from([flags]), u32(record.signCount), extOut.size ? encode(extOut) : Buffer.alloc(0)]);
    const signature = cred.wrapped.key.sign(Buffer.concat([authData, clientDataHash]));
    const response = new Map<CborKey, CborInput>([
      [0x01, { id: cred.id, type: 'public-key' }],
      [0x02, authData],
      [0x03, signature],
    ]);
    if (cred.resident) {
      const u = cred.resident.user;
      const userOut: Record<string, CborInput> = { id: Buffer.from(u.id, 'base64url') };
      if (uv && u.name !== undefined) userOut.name = u.name;
      if (uv && u.displayName !== undefined) userOut.displayName = u.displayName;
      response.set(0x04, userOut);
    }
    return response;
  }

  // --- clientPIN -------------------------------------------------------------------------------

  private clientPin(params: Map<CborKey, CborValue>): CborInput | undefined {
    const sub = need(asInt(param(params, 0x02)));
    const version = asInt(param(params, 0x01));
    const protocolFor = (): PinUvAuthProtocol => {
      if (version === undefined) throw new CtapStatus(ST.MISSING_PARAMETER);
      const p = this.config.pinProtocols.includes(version) ? pinProtocol(version) : undefined;
      if (!p) throw new CtapStatus(ST.INVALID_PARAMETER);
      return p;
    };
    switch (sub) {
      case 0x01: {
        // getPINRetries
        const out = new Map<CborKey, CborInput>([[0x03, this.pinRetries()]]);
        if (this.fido21) out.set(0x04, this.consecutivePinFailures >= PIN_MAX_CONSECUTIVE);
        return out;
      }
      case 0x02: {
        protocolFor();
        return new Map<CborKey, CborInput>([[0x01, this.keyAgreement.cosePublicKey()]]);
      }
      case 0x03:
        return this.setPinCommand(protocolFor(), params);
      case 0x04:
        return this.changePinCommand(protocolFor(), params);
      case 0x05:
        return this.getToken(protocolFor(), params, false);
      case 0x09:
        if (!this.fido21) throw new CtapStatus(ST.INVALID_SUBCOMMAND);
        return this.getToken(protocolFor(), params, true);
      default:
        // 0x06 getPinUvAuthTokenUsingUvWithPermissions / 0x07 getUVRetries: no built-in UV.
        throw new CtapStatus(ST.INVALID_SUBCOMMAND);
    }
  }

  private decodeNewPin(protocol: PinUvAuthProtocol, shared: Buffer, newPinEnc: Buffer): Buffer {
    const padded = protocol.decrypt(shared, newPinEnc);
    if (padded.length < 64) throw new CtapStatus(ST.INVALID_PARAMETER);
    const end = padded.indexOf(0);
    const pin = end < 0 ? padded : padded.subarray(0, end);
    if (pin.length > 63) throw new CtapStatus(ST.PIN_POLICY_VIOLATION);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(pin);
    } catch {
      throw new CtapStatus(ST.PIN_POLICY_VIOLATION);
    }
    if ([...text].length < MIN_PIN_LENGTH) throw new CtapStatus(ST.PIN_POLICY_VIOLATION);
    return Buffer.from(pin);
  }

  private setPinCommand(protocol: PinUvAuthProtocol, params: Map<CborKey, CborValue>): undefined {
    const platformKey = need(param(params, 0x03));
    const auth = need(asBytes(param(params, 0x04)));
    const newPinEnc = need(asBytes(param(params, 0x05)));
    if (this.pin) throw new CtapStatus(ST.PIN_AUTH_INVALID);
    const shared = this.keyAgreement.sharedSecret(protocol, platformKey);
    if (!protocol.verify(shared, newPinEnc, auth)) throw new CtapStatus(ST.PIN_AUTH_INVALID);
    const pin = this.decodeNewPin(protocol, shared, newPinEnc);
    this.pin = { hash: sha256(pin).subarray(0, 16), retries: PIN_MAX_RETRIES };
    this.consecutivePinFailures = 0;
    this.save();
    return undefined;
  }

  /** Checks pinHashEnc against the stored PIN, with retry counting; throws on mismatch. */
  private checkPinHash(protocol: PinUvAuthProtocol, shared: Buffer, pinHashEnc: Buffer): void {
    const pin = this.pin!;
    const pinHash = protocol.decrypt(shared, pinHashEnc);
    if (pinHash.length !== 16) throw new CtapStatus(ST.INVALID_PARAMETER);
    pin.retries--;
    if (!pinHash.equals(pin.hash)) {
      this.keyAgreement.regenerate();
      this.consecutivePinFailures++;
      this.save();
      if (pin.retries <= 0) throw new CtapStatus(ST.PIN_BLOCKED);
      if (this.consecutivePinFailures >= PIN_MAX_CONSECUTIVE) throw new CtapStatus(ST.PIN_AUTH_BLOCKED);
      throw new CtapStatus(ST.PIN_INVALID);
    }
    pin.retries = PIN_MAX_RETRIES;
    this.consecutivePinFailures = 0;
    this.save();
  }

  private checkPinUsable(): void {
    if (!this.pin) throw new CtapStatus(ST.PIN_NOT_SET);
    if (this.pin.retries <= 0) throw new CtapStatus(ST.PIN_BLOCKED);
    if (this.consecutivePinFailures >= PIN_MAX_CONSECUTIVE) throw new CtapStatus(ST.PIN_AUTH_BLOCKED);
  }

  private changePinCommand(protocol: PinUvAuthProtocol, params: Map<CborKey, CborValue>): undefined {
    const platformKey = need(param(params, 0x03));
    const auth = need(asBytes(param(params, 0x04)));
    const newPinEnc = need(asBytes(param(params, 0x05)));
    const pinHashEnc = need(asBytes(param(params, 0x06)));
    this.checkPinUsable();
    const shared = this.keyAgreement.sharedSecret(protocol, platformKey);
    if (!protocol.verify(shared, Buffer.concat([newPinEnc, pinHashEnc]), auth)) throw new CtapStatus(ST.PIN_AUTH_INVALID);
    this.checkPinHash(protocol, shared, pinHashEnc);
    const pin = this.decodeNewPin(protocol, shared, newPinEnc);
    this.pin = { hash: sha256(pin).subarray(0, 16), retries: PIN_MAX_RETRIES };
    this.pinToken = undefined;
    this.save();
    return undefined;
  }

  private getToken(protocol: PinUvAuthProtocol, params: Map<CborKey, CborValue>, withPermissions: boolean): CborInput {
    const platformKey = need(param(params, 0x03));
    const pinHashEnc = need(asBytes(param(params, 0x06)));
    let permissions = PERM_MC | PERM_GA;
    let rpId: string | undefined;
    if (withPermissions) {
      permissions = need(asInt(param(params, 0x09)));
      rpId = asText(param(params, 0x0a));
      if (permissions === 0) throw new CtapStatus(ST.INVALID_PARAMETER);
      if ((permissions & ~(PERM_MC | PERM_GA)) !== 0) throw new CtapStatus(ST.UNAUTHORIZED_PERMISSION);
    } else if (param(params, 0x09) !== undefined || param(params, 0x0a) !== undefined) {
      throw new CtapStatus(ST.INVALID_PARAMETER);
    }
    this.checkPinUsable();
    const shared = this.keyAgreement.sharedSecret(protocol, platformKey);
    this.checkPinHash(protocol, shared, pinHashEnc);
    const token = randomBytes(32);
    this.pinToken = { token, protocol: protocol.version, permissions, ...(rpId !== undefined ? { rpId } : {}), legacy: !withPermissions };
    return new Map<CborKey, CborInput>([[0x02, protocol.encrypt(shared, token)]]);
  }

  // --- U2F / CTAP1 -----------------------------------------------------------------------------

  /** Handles one CTAPHID_MSG APDU; returns response data || SW1 SW2. */
  handleU2f(apdu: Buffer, touch: TouchController): Buffer {
    const sw = (code: number, data: Buffer = Buffer.alloc(0)): Buffer => Buffer.concat([data, u16(code)]);
    const SW_OK = 0x9000;
    const SW_CONDITIONS = 0x6985;
    const SW_WRONG_DATA = 0x6a80;
    const SW_WRONG_LENGTH = 0x6700;
    const SW_INS = 0x6d00;
    const SW_CLA = 0x6e00;
    if (apdu.length < 4) return sw(SW_WRONG_LENGTH);
    const [cla, ins, p1] = [apdu[0]!, apdu[1]!, apdu[2]!];
    let data: Buffer;
    if (apdu.length === 4) data = Buffer.alloc(0);
    else if (apdu[4] === 0 && apdu.length >= 7) {
      const lc = apdu.readUInt16BE(5);
      if (apdu.length < 7 + lc) return sw(SW_WRONG_LENGTH);
      data = apdu.subarray(7, 7 + lc);
    } else {
      const lc = apdu[4]!;
      if (apdu.length < 5 + lc) return sw(SW_WRONG_LENGTH);
      data = apdu.subarray(5, 5 + lc);
    }
    if (cla !== 0) return sw(SW_CLA);
    if (ins === 0x03) return sw(SW_OK, Buffer.from('U2F_V2'));
    if (ins === 0x01) {
      if (data.length !== 64) return sw(SW_WRONG_LENGTH);
      if (!touch.u2fPresence()) return sw(SW_CONDITIONS);
      const challenge = data.subarray(0, 32);
      const app = data.subarray(32, 64);
      const key = CredentialKey.generate(ALG_ES256);
      const handle = this.keys.wrap(Buffer.from(app), { key, hmacSecret: false, resident: false, credProtect: 0 });
      this.register(handle, `u2f:${app.toString('hex')}`, ALG_ES256);
      this.save();
      this.attestation ??= makeAttestationIdentity('tng sandbox U2F attestation');
      const pub = key.uncompressedPoint();
      const sig = signWith('sha256', Buffer.concat([Buffer.from([0x00]), app, challenge, handle, pub]), this.attestation.privateKey);
      return sw(SW_OK, Buffer.concat([Buffer.from([0x05]), pub, Buffer.from([handle.length]), handle, this.attestation.certificateDer, sig]));
    }
    if (ins === 0x02) {
      if (data.length < 65 || data.length !== 65 + data[64]!) return sw(SW_WRONG_LENGTH);
      const challenge = data.subarray(0, 32);
      const app = Buffer.from(data.subarray(32, 64));
      const handle = Buffer.from(data.subarray(65));
      const wrapped = this.keys.unwrap(app, handle);
      if (!wrapped || wrapped.key.alg !== ALG_ES256 || wrapped.resident) return sw(SW_WRONG_DATA);
      if (p1 === 0x07) return sw(SW_CONDITIONS); // check-only: "this key handle is mine"
      if (p1 !== 0x03 && p1 !== 0x08) return sw(SW_WRONG_DATA);
      const present = p1 === 0x03 ? touch.u2fPresence() : false;
      if (p1 === 0x03 && !present) return sw(SW_CONDITIONS);
      const known = [...this.registry.values()].find((r) => r.credentialId === b64url(handle));
      const record = known ?? this.register(handle, `u2f:${app.toString('hex')}`, ALG_ES256);
      record.signCount++;
      this.save();
      const prefix = Buffer.concat([Buffer.from([present ? 0x01 : 0x00]), u32(record.signCount)]);
      const sig = wrapped.key.sign(Buffer.concat([app, prefix, challenge]));
      return sw(SW_OK, Buffer.concat([prefix, sig]));
    }
    return sw(SW_INS);
  }
}

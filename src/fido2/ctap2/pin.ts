/**
 * PIN/UV auth protocols 1 and 2 (CTAP 2.1 §6.5.6, §6.5.7) and the clientPIN flows tng uses.
 *
 * |               | protocol 1                     | protocol 2                                          |
 * | shared secret | SHA-256(Z)                     | HKDF(Z, "CTAP2 HMAC key") ‖ HKDF(Z, "CTAP2 AES key") |
 * | encrypt       | AES-256-CBC, IV 0              | random IV ‖ AES-256-CBC(key[32:64], IV)             |
 * | authenticate  | HMAC-SHA-256(key)[0:16]        | HMAC-SHA-256(key[0:32]) (whole 32-byte token)       |
 */
import { type ECDH, createCipheriv, createDecipheriv, createECDH, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { TngError } from '../../errors.ts';
import { hintFor, protocolError } from '../errors.ts';
import { asBuffer, concatBytes } from '../util.ts';
import type { CborMap } from './cbor.ts';
import { type AuthenticatorInfo, CLIENT_PIN_SUB, type CborCallOptions, type CborTransport, clientPin } from './commands.ts';
import { COSE_ALG, ecCoseKey, parseKeyAgreementKey } from './cose.ts';

export const PERMISSION = { MC: 0x01, GA: 0x02, CM: 0x04, BE: 0x08, LBW: 0x10, ACFG: 0x20, PCMR: 0x40 } as const;

export interface SharedSecret {
  /** Our ephemeral public key as a COSE map (alg -25), sent as keyAgreement. */
  keyAgreement: CborMap;
  /** 32 bytes (protocol 1) or 64 bytes (protocol 2). */
  sharedSecret: Uint8Array;
}

export interface PinProtocol {
  readonly version: 1 | 2;
  /** Derives the shared secret from the ECDH x-coordinate Z. */
  kdf(z: Uint8Array): Uint8Array;
  /** ECDH with the authenticator's key-agreement key (an ephemeral key pair unless one is given). */
  encapsulate(peer: CborMap, ecdh?: ECDH): SharedSecret;
  encrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array;
  decrypt(key: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  authenticate(key: Uint8Array, message: Uint8Array): Uint8Array;
  /** Checks a decrypted pinUvAuthToken's length. */
  validateToken(token: Uint8Array): Uint8Array;
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function aesCbc(mode: 'encrypt' | 'decrypt', key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError(`AES-256 needs a 32-byte key, not ${key.length}`);
  const cipher =
    mode === 'encrypt'
      ? createCipheriv('aes-256-cbc', asBuffer(key), asBuffer(iv))
      : createDecipheriv('aes-256-cbc', asBuffer(key), asBuffer(iv));
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(asBuffer(data)), cipher.final()]));
}

function encapsulateWith(protocol: PinProtocol, peer: CborMap, ecdh?: ECDH): SharedSecret {
  const { x, y } = parseKeyAgreementKey(peer);
  const own = ecdh ?? createECDH('prime256v1');
  if (!ecdh) own.generateKeys();
  let z: Uint8Array;
  try {
    z = new Uint8Array(own.computeSecret(Buffer.from(concatBytes(new Uint8Array([0x04]), x, y))));
  } catch (error) {
    throw protocolError('a key-agreement key that is not a valid P-256 point', error);
  }
  const publicKey = own.getPublicKey(undefined, 'uncompressed');
  return {
    keyAgreement: ecCoseKey(publicKey.subarray(1, 33), publicKey.subarray(33, 65), COSE_ALG.ECDH_ES_HKDF_256),
    sharedSecret: protocol.kdf(z),
  };
}

function checkBlocks(ciphertext: Uint8Array, minimum: number): void {
  if (ciphertext.length < minimum || (ciphertext.length - minimum) % 16 !== 0 || ciphertext.length === 0) {
    throw protocolError(`an encrypted value of ${ciphertext.length} bytes (not whole AES blocks)`);
  }
}

export class PinProtocolV1 implements PinProtocol {
  readonly version = 1 as const;

  kdf(z: Uint8Array): Uint8Array {
    return sha256(z);
  }

  encapsulate(peer: CborMap, ecdh?: ECDH): SharedSecret {
    return encapsulateWith(this, peer, ecdh);
  }

  encrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (plaintext.length % 16 !== 0) throw new RangeError('PIN protocol 1 encrypts whole AES blocks');
    return aesCbc('encrypt', key, new Uint8Array(16), plaintext);
  }

  decrypt(key: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    checkBlocks(ciphertext, 16);
    return aesCbc('decrypt', key, new Uint8Array(16), ciphertext);
  }

  authenticate(key: Uint8Array, message: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac('sha256', asBuffer(key)).update(message).digest().subarray(0, 16));
  }

  validateToken(token: Uint8Array): Uint8Array {
    if (token.length !== 16 && token.length !== 32) throw protocolError(`a PIN token of ${token.length} bytes`);
    return token;
  }
}

export class PinProtocolV2 implements PinProtocol {
  readonly version = 2 as const;

  constructor(private readonly randomIv: () => Uint8Array = () => new Uint8Array(randomBytes(16))) {}

  kdf(z: Uint8Array): Uint8Array {
    const salt = Buffer.alloc(32);
    const hmacKey = new Uint8Array(hkdfSync('sha256', asBuffer(z), salt, 'CTAP2 HMAC key', 32));
    const aesKey = new Uint8Array(hkdfSync('sha256', asBuffer(z), salt, 'CTAP2 AES key', 32));
    return concatBytes(hmacKey, aesKey);
  }

  encapsulate(peer: CborMap, ecdh?: ECDH): SharedSecret {
    return encapsulateWith(this, peer, ecdh);
  }

  private aesKey(key: Uint8Array): Uint8Array {
    if (key.length !== 64) throw new RangeError('PIN protocol 2 shared secrets are 64 bytes');
    return key.subarray(32, 64);
  }

  encrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (plaintext.length % 16 !== 0) throw new RangeError('PIN protocol 2 encrypts whole AES blocks');
    const iv = this.randomIv();
    if (iv.length !== 16) throw new RangeError('the IV must be 16 bytes');
    return concatBytes(iv, aesCbc('encrypt', this.aesKey(key), iv, plaintext));
  }

  decrypt(key: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    checkBlocks(ciphertext, 32);
    return aesCbc('decrypt', this.aesKey(key), ciphertext.subarray(0, 16), ciphertext.subarray(16));
  }

  authenticate(key: Uint8Array, message: Uint8Array): Uint8Array {
    const hmacKey = key.length === 64 ? key.subarray(0, 32) : key;
    return new Uint8Array(createHmac('sha256', asBuffer(hmacKey)).update(message).digest());
  }

  validateToken(token: Uint8Array): Uint8Array {
    if (token.length !== 32) throw protocolError(`a PIN token of ${token.length} bytes`);
    return token;
  }
}

/** The best protocol both sides speak: 2, else 1 (a CTAP 2.0 key with a PIN option but no list → 1). */
export function selectPinProtocol(info: AuthenticatorInfo): PinProtocol | undefined {
  const offered = info.pinUvAuthProtocols;
  if (offered.includes(2)) return new PinProtocolV2();
  if (offered.includes(1)) return new PinProtocolV1();
  if (offered.length === 0 && info.options.clientPin !== undefined) return new PinProtocolV1();
  return undefined;
}

/** getKeyAgreement, then ECDH with a fresh ephemeral key. */
export async function getSharedSecret(
  transport: CborTransport,
  protocol: PinProtocol,
  options: CborCallOptions = {},
): Promise<SharedSecret> {
  const response = await clientPin(
    transport,
    { pinUvAuthProtocol: protocol.version, subCommand: CLIENT_PIN_SUB.GET_KEY_AGREEMENT },
    options,
  );
  if (!response.keyAgreement) throw protocolError('getKeyAgreement without a key');
  return protocol.encapsulate(response.keyAgreement);
}

export async function getPinRetries(
  transport: CborTransport,
  protocol: PinProtocol,
  options: CborCallOptions = {},
): Promise<{ retries: number; powerCycleState?: boolean }> {
  const response = await clientPin(
    transport,
    { pinUvAuthProtocol: protocol.version, subCommand: CLIENT_PIN_SUB.GET_PIN_RETRIES },
    options,
  );
  if (response.pinRetries === undefined) throw protocolError('getPINRetries without a count');
  return {
    retries: response.pinRetries,
    ...(response.powerCycleState !== undefined ? { powerCycleState: response.powerCycleState } : {}),
  };
}

/** SHA-256(UTF-8 PIN), first 16 bytes. */
export function pinHash(pin: string): Uint8Array {
  return sha256(new TextEncoder().encode(pin)).subarray(0, 16);
}

/** CTAP PIN rules: at least `minLength` (≥ 4) code points, at most 63 bytes of UTF-8. */
export function checkPinPolicy(pin: string, minLength = 4): void {
  const codePoints = [...pin].length;
  const bytes = new TextEncoder().encode(pin).length;
  if (codePoints < Math.max(4, minLength) || bytes > 63) {
    throw new TngError(
      'authenticator',
      'fido2.pin-policy',
      `A PIN must have at least ${Math.max(4, minLength)} characters and at most 63 bytes.`,
      { hint: hintFor('fido2.pin-policy') },
    );
  }
}

export interface PinTokenRequest {
  /** PERMISSION bits (only sent with getPinUvAuthTokenUsingPinWithPermissions). */
  permissions?: number;
  rpId?: string;
}

/**
 * A PIN token: fresh key agreement, pinHashEnc, then 0x09 with permissions + rpId when the
 * authenticator supports `pinUvAuthToken`, else the legacy 0x05. Returns the token and the shared
 * secret (which the hmac-secret extension may reuse).
 */
export async function getPinToken(
  transport: CborTransport,
  info: AuthenticatorInfo,
  protocol: PinProtocol,
  pin: string,
  request: PinTokenRequest = {},
  options: CborCallOptions = {},
): Promise<{ token: Uint8Array; shared: SharedSecret }> {
  const shared = await getSharedSecret(transport, protocol, options);
  const pinHashEnc = protocol.encrypt(shared.sharedSecret, pinHash(pin));
  const withPermissions = info.options.pinUvAuthToken === true;
  const response = await clientPin(
    transport,
    withPermissions
      ? {
          pinUvAuthProtocol: protocol.version,
          subCommand: CLIENT_PIN_SUB.GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS,
          keyAgreement: shared.keyAgreement,
          pinHashEnc,
          permissions: request.permissions ?? PERMISSION.MC | PERMISSION.GA,
          ...(request.rpId !== undefined ? { rpId: request.rpId } : {}),
        }
      : {
          pinUvAuthProtocol: protocol.version,
          subCommand: CLIENT_PIN_SUB.GET_PIN_TOKEN,
          keyAgreement: shared.keyAgreement,
          pinHashEnc,
        },
    options,
  );
  if (!response.pinUvAuthToken) throw protocolError('a PIN token answer without a token');
  const token = protocol.validateToken(protocol.decrypt(shared.sharedSecret, response.pinUvAuthToken));
  return { token, shared };
}

function paddedPin(pin: string): Uint8Array {
  checkPinPolicy(pin);
  const padded = new Uint8Array(64);
  padded.set(new TextEncoder().encode(pin));
  return padded;
}

/** setPIN (no PIN set yet). */
export async function setPin(transport: CborTransport, protocol: PinProtocol, pin: string, options: CborCallOptions = {}): Promise<void> {
  const padded = paddedPin(pin);
  const shared = await getSharedSecret(transport, protocol, options);
  const newPinEnc = protocol.encrypt(shared.sharedSecret, padded);
  await clientPin(
    transport,
    {
      pinUvAuthProtocol: protocol.version,
      subCommand: CLIENT_PIN_SUB.SET_PIN,
      keyAgreement: shared.keyAgreement,
      newPinEnc,
      pinUvAuthParam: protocol.authenticate(shared.sharedSecret, newPinEnc),
    },
    options,
  );
}

/** changePIN. */
export async function changePin(
  transport: CborTransport,
  protocol: PinProtocol,
  currentPin: string,
  newPin: string,
  options: CborCallOptions = {},
): Promise<void> {
  const padded = paddedPin(newPin);
  const shared = await getSharedSecret(transport, protocol, options);
  const newPinEnc = protocol.encrypt(shared.sharedSecret, padded);
  const pinHashEnc = protocol.encrypt(shared.sharedSecret, pinHash(currentPin));
  await clientPin(
    transport,
    {
      pinUvAuthProtocol: protocol.version,
      subCommand: CLIENT_PIN_SUB.CHANGE_PIN,
      keyAgreement: shared.keyAgreement,
      pinHashEnc,
      newPinEnc,
      pinUvAuthParam: protocol.authenticate(shared.sharedSecret, concatBytes(newPinEnc, pinHashEnc)),
    },
    options,
  );
}

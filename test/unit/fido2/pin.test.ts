/**
 * PIN/UV auth protocols 1 and 2 against values computed independently in the test: ECDH through
 * KeyObjects and crypto.diffieHellman (not createECDH), HKDF written out with HMAC (RFC 5869), AES-CBC
 * chaining checked block by block with AES-ECB.
 */
import assert from 'node:assert/strict';
import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
} from 'node:crypto';
import { describe, it } from 'node:test';
import { type CborMap, decodeCbor, encodeCbor } from '../../../src/fido2/ctap2/cbor.ts';
import { type AuthenticatorInfo, type CborTransport, parseInfo } from '../../../src/fido2/ctap2/commands.ts';
import {
  PERMISSION,
  PinProtocolV1,
  PinProtocolV2,
  changePin,
  checkPinPolicy,
  getPinRetries,
  getPinToken,
  pinHash,
  selectPinProtocol,
  setPin,
} from '../../../src/fido2/ctap2/pin.ts';
import { concatBytes } from '../../../src/fido2/util.ts';
import { hex, rejectsWith, throwsWith, toHex } from './helpers.ts';

const PLATFORM_D = hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
const DEVICE_D = hex('519b423d715f8b581f4fa8ee59f4771a5b44c8130b4e3eacca54a56dda72b464');

function ecdhWith(d: Uint8Array) {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(d));
  return ecdh;
}

function keyObjects(d: Uint8Array): { priv: KeyObject; pub: KeyObject; x: Uint8Array; y: Uint8Array } {
  const point = ecdhWith(d).getPublicKey();
  const x = new Uint8Array(point.subarray(1, 33));
  const y = new Uint8Array(point.subarray(33, 65));
  const jwk = { kty: 'EC', crv: 'P-256', x: Buffer.from(x).toString('base64url'), y: Buffer.from(y).toString('base64url') };
  return {
    priv: createPrivateKey({ key: { ...jwk, d: Buffer.from(d).toString('base64url') }, format: 'jwk' }),
    pub: createPublicKey({ key: jwk, format: 'jwk' }),
    x,
    y,
  };
}

const device = keyObjects(DEVICE_D);
const platform = keyObjects(PLATFORM_D);
const deviceCose = new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, device.x], [-3, device.y]]);

/** Z computed the other way round: device private key × platform public key. */
const Z = new Uint8Array(diffieHellman({ privateKey: device.priv, publicKey: platform.pub }));

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const hmac = (k: Uint8Array, m: Uint8Array) => new Uint8Array(createHmac('sha256', k).update(m).digest());
/** RFC 5869 with L = 32 (one block). */
const hkdf32 = (ikm: Uint8Array, info: string) => hmac(hmac(new Uint8Array(32), ikm), concatBytes(new TextEncoder().encode(info), new Uint8Array([1])));
const aesEcbBlock = (key: Uint8Array, block: Uint8Array) => {
  const c = createCipheriv('aes-256-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
};
const xor = (a: Uint8Array, b: Uint8Array) => a.map((v, i) => v ^ (b[i] as number));
/** CBC by hand. */
const cbc = (key: Uint8Array, iv: Uint8Array, pt: Uint8Array) => {
  const out: Uint8Array[] = [];
  let prev = iv;
  for (let i = 0; i < pt.length; i += 16) {
    prev = aesEcbBlock(key, xor(pt.subarray(i, i + 16), prev));
    out.push(prev);
  }
  return concatBytes(...out);
};

describe('PIN/UV auth protocol 1', () => {
  const v1 = new PinProtocolV1();
  const expectedSecret = sha256(Z);

  it('derives SHA-256(Z) from fixed ECDH keys and sends its public key as a COSE key with alg -25', () => {
    const { keyAgreement, sharedSecret } = v1.encapsulate(deviceCose, ecdhWith(PLATFORM_D));
    assert.equal(toHex(sharedSecret), toHex(expectedSecret));
    assert.equal(sharedSecret.length, 32);
    assert.deepEqual(keyAgreement, new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, platform.x], [-3, platform.y]]));
  });

  it('encrypts with AES-256-CBC, IV 0, no padding; decrypts; authenticates with HMAC-SHA-256 truncated to 16', () => {
    const pt = new Uint8Array(64).map((_, i) => i);
    const ct = v1.encrypt(expectedSecret, pt);
    assert.equal(ct.length, 64);
    assert.equal(toHex(ct), toHex(cbc(expectedSecret, new Uint8Array(16), pt)));
    assert.deepEqual(v1.decrypt(expectedSecret, ct), pt);
    const tag = v1.authenticate(expectedSecret, ct);
    assert.equal(tag.length, 16);
    assert.equal(toHex(tag), toHex(hmac(expectedSecret, ct).subarray(0, 16)));
    assert.throws(() => v1.encrypt(expectedSecret, new Uint8Array(15)), RangeError);
    throwsWith(() => v1.decrypt(expectedSecret, new Uint8Array(17)), 'fido2.protocol');
    throwsWith(() => v1.decrypt(expectedSecret, new Uint8Array(0)), 'fido2.protocol');
  });

  it('accepts 16- and 32-byte tokens only', () => {
    assert.equal(v1.validateToken(new Uint8Array(16)).length, 16);
    assert.equal(v1.validateToken(new Uint8Array(32)).length, 32);
    throwsWith(() => v1.validateToken(new Uint8Array(48)), 'fido2.protocol');
  });
});

describe('PIN/UV auth protocol 2', () => {
  const iv = hex('000102030405060708090a0b0c0d0e0f');
  const v2 = new PinProtocolV2(() => new Uint8Array(iv));
  const hmacKey = hkdf32(Z, 'CTAP2 HMAC key');
  const aesKey = hkdf32(Z, 'CTAP2 AES key');

  it('derives HKDF(Z, "CTAP2 HMAC key") ‖ HKDF(Z, "CTAP2 AES key") (64 bytes) from fixed ECDH keys', () => {
    const { sharedSecret } = v2.encapsulate(deviceCose, ecdhWith(PLATFORM_D));
    assert.equal(sharedSecret.length, 64);
    assert.equal(toHex(sharedSecret), toHex(concatBytes(hmacKey, aesKey)));
    assert.notEqual(toHex(hmacKey), toHex(aesKey));
  });

  it('encrypts as IV ‖ AES-256-CBC(key[32:64]) and authenticates with the full HMAC under key[0:32]', () => {
    const ss = concatBytes(hmacKey, aesKey);
    const pt = new Uint8Array(32).fill(0x5a);
    const ct = v2.encrypt(ss, pt);
    assert.equal(ct.length, 48);
    assert.equal(toHex(ct), toHex(concatBytes(iv, cbc(aesKey, iv, pt))));
    assert.deepEqual(v2.decrypt(ss, ct), pt);
    assert.equal(toHex(v2.authenticate(ss, ct)), toHex(hmac(hmacKey, ct)));
    const token = new Uint8Array(32).fill(9);
    assert.equal(toHex(v2.authenticate(token, pt)), toHex(hmac(token, pt)));
    throwsWith(() => v2.decrypt(ss, new Uint8Array(16)), 'fido2.protocol');
    throwsWith(() => v2.decrypt(ss, new Uint8Array(40)), 'fido2.protocol');
    throwsWith(() => v2.validateToken(new Uint8Array(16)), 'fido2.protocol');
  });

  it('uses a fresh random IV by default', () => {
    const random = new PinProtocolV2();
    const ss = new Uint8Array(64).fill(1);
    const a = random.encrypt(ss, new Uint8Array(16));
    const b = random.encrypt(ss, new Uint8Array(16));
    assert.notEqual(toHex(a.subarray(0, 16)), toHex(b.subarray(0, 16)));
    assert.deepEqual(random.decrypt(ss, a), new Uint8Array(16));
  });

  it('refuses an invalid authenticator point as fido2.protocol', () => {
    const bad = new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, new Uint8Array(32).fill(1)], [-3, new Uint8Array(32).fill(2)]]);
    throwsWith(() => v2.encapsulate(bad), 'fido2.protocol');
  });
});

describe('PIN helpers', () => {
  it('hashes the PIN as SHA-256(UTF-8)[0:16]', () => {
    assert.equal(toHex(pinHash('1234')), '03ac674216f3e15c761ee1a5e255f067');
    assert.equal(toHex(pinHash('pïn€')), toHex(sha256(new TextEncoder().encode('pïn€')).subarray(0, 16)));
  });

  it('enforces ≥ 4 code points and ≤ 63 bytes', () => {
    checkPinPolicy('1234');
    checkPinPolicy('🔑🔑🔑🔑');
    checkPinPolicy('a'.repeat(63));
    throwsWith(() => checkPinPolicy('123'), 'fido2.pin-policy');
    throwsWith(() => checkPinPolicy('a'.repeat(64)), 'fido2.pin-policy');
    throwsWith(() => checkPinPolicy('12345', 6), 'fido2.pin-policy');
  });

  it('prefers protocol 2, falls back to 1, and assumes 1 for a CTAP 2.0 key with clientPin but no list', () => {
    const info = (protocols: number[] | undefined, clientPin?: boolean): AuthenticatorInfo =>
      parseInfo(
        new Map<number, unknown>([
          [1, ['FIDO_2_0']],
          [3, new Uint8Array(16)],
          ...(clientPin === undefined ? [] : [[4, new Map([['clientPin', clientPin]])] as [number, unknown]]),
          ...(protocols ? [[6, protocols] as [number, unknown]] : []),
        ]),
      );
    assert.equal(selectPinProtocol(info([1, 2]))?.version, 2);
    assert.equal(selectPinProtocol(info([1]))?.version, 1);
    assert.equal(selectPinProtocol(info(undefined, true))?.version, 1);
    assert.equal(selectPinProtocol(info([3])), undefined);
    assert.equal(selectPinProtocol(info(undefined)), undefined);
  });
});

/** A scripted clientPIN peer with the fixed device key; it checks what tng sends, with independent crypto. */
function pinPeer(opts: { protocol: 1 | 2; pin: string; token: Uint8Array; retries?: number }) {
  const requests: CborMap[] = [];
  const secretFor = (platformCose: CborMap) => {
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(platformCose.get(-2) as Uint8Array).toString('base64url'),
      y: Buffer.from(platformCose.get(-3) as Uint8Array).toString('base64url'),
    };
    const z = new Uint8Array(diffieHellman({ privateKey: device.priv, publicKey: createPublicKey({ key: jwk, format: 'jwk' }) }));
    return opts.protocol === 1 ? sha256(z) : concatBytes(hkdf32(z, 'CTAP2 HMAC key'), hkdf32(z, 'CTAP2 AES key'));
  };
  const decrypt = (ss: Uint8Array, ct: Uint8Array) => {
    const key = opts.protocol === 1 ? ss : ss.subarray(32);
    const iv = opts.protocol === 1 ? new Uint8Array(16) : ct.subarray(0, 16);
    const d = createDecipheriv('aes-256-cbc', key, iv);
    d.setAutoPadding(false);
    return new Uint8Array(Buffer.concat([d.update(opts.protocol === 1 ? ct : ct.subarray(16)), d.final()]));
  };
  const encrypt = (ss: Uint8Array, pt: Uint8Array) =>
    opts.protocol === 1 ? cbc(ss, new Uint8Array(16), pt) : concatBytes(new Uint8Array(16), cbc(ss.subarray(32), new Uint8Array(16), pt));
  const transport: CborTransport = {
    async cbor(request) {
      assert.equal(request[0], 0x06);
      const params = decodeCbor(request.subarray(1)) as CborMap;
      requests.push(params);
      assert.equal(params.get(1), opts.protocol);
      switch (params.get(2)) {
        case 0x01:
          return concatBytes(new Uint8Array([0]), encodeCbor(new Map([[3, opts.retries ?? 8]])));
        case 0x02:
          return concatBytes(new Uint8Array([0]), encodeCbor(new Map([[1, deviceCose]])));
        case 0x05:
        case 0x09: {
          const ss = secretFor(params.get(3) as CborMap);
          const sent = decrypt(ss, params.get(6) as Uint8Array);
          if (toHex(sent) !== toHex(sha256(new TextEncoder().encode(opts.pin)).subarray(0, 16))) return new Uint8Array([0x31]);
          return concatBytes(new Uint8Array([0]), encodeCbor(new Map([[2, encrypt(ss, opts.token)]])));
        }
        case 0x03:
        case 0x04: {
          const ss = secretFor(params.get(3) as CborMap);
          const newPinEnc = params.get(5) as Uint8Array;
          const authed = params.get(2) === 0x03 ? newPinEnc : concatBytes(newPinEnc, params.get(6) as Uint8Array);
          const tag = opts.protocol === 1 ? hmac(ss, authed).subarray(0, 16) : hmac(ss.subarray(0, 32), authed);
          if (toHex(tag) !== toHex(params.get(4) as Uint8Array)) return new Uint8Array([0x33]);
          const padded = decrypt(ss, newPinEnc);
          requests.push(new Map([['newPin', new TextDecoder().decode(padded.subarray(0, padded.indexOf(0)))]]));
          return new Uint8Array([0]);
        }
        default:
          return new Uint8Array([0x3e]);
      }
    },
  };
  return { transport, requests };
}

const infoWith = (options: Record<string, boolean>, protocols: number[]) =>
  parseInfo(new Map<number, unknown>([[1, ['FIDO_2_0', 'FIDO_2_1']], [3, new Uint8Array(16)], [4, new Map(Object.entries(options))], [6, protocols]]));

describe('clientPIN flows', () => {
  for (const protocol of [1, 2] as const) {
    it(`protocol ${protocol}: getPinUvAuthTokenUsingPinWithPermissions sends permissions and rpId, decrypts the token`, async () => {
      const token = new Uint8Array(32).map((_, i) => 100 + i);
      const peer = pinPeer({ protocol, pin: '4711', token });
      const info = infoWith({ clientPin: true, pinUvAuthToken: true }, [protocol]);
      const proto = protocol === 1 ? new PinProtocolV1() : new PinProtocolV2();
      const result = await getPinToken(peer.transport, info, proto, '4711', { permissions: PERMISSION.GA, rpId: 'tng.example' });
      assert.deepEqual(result.token, token);
      assert.equal(result.shared.sharedSecret.length, protocol === 1 ? 32 : 64);
      const [ka, tokenRequest] = peer.requests;
      assert.deepEqual([...(ka as CborMap).keys()], [1, 2]);
      assert.equal(tokenRequest?.get(2), 0x09);
      assert.equal(tokenRequest?.get(9), PERMISSION.GA);
      assert.equal(tokenRequest?.get(10), 'tng.example');
      assert.deepEqual([...(tokenRequest as CborMap).keys()], [1, 2, 3, 6, 9, 10]);
    });
  }

  it('uses the legacy getPinToken (0x05) without permissions when pinUvAuthToken is not supported', async () => {
    const token = new Uint8Array(16).fill(7);
    const peer = pinPeer({ protocol: 1, pin: '123456', token });
    const result = await getPinToken(peer.transport, infoWith({ clientPin: true }, [1]), new PinProtocolV1(), '123456', {
      permissions: PERMISSION.MC,
      rpId: 'x',
    });
    assert.deepEqual(result.token, token);
    assert.equal(peer.requests[1]?.get(2), 0x05);
    assert.equal(peer.requests[1]?.has(9), false);
    assert.equal(peer.requests[1]?.has(10), false);
  });

  it('a wrong PIN is fido2.pin-invalid (a typed CtapError with status 0x31)', async () => {
    const peer = pinPeer({ protocol: 2, pin: 'right', token: new Uint8Array(32) });
    const error = await rejectsWith(
      getPinToken(peer.transport, infoWith({ clientPin: true, pinUvAuthToken: true }, [2]), new PinProtocolV2(), 'wrong'),
      'fido2.pin-invalid',
      'authenticator',
    );
    assert.equal((error as unknown as { status: number }).status, 0x31);
  });

  it('a fresh key agreement is made for every attempt', async () => {
    const peer = pinPeer({ protocol: 2, pin: 'right', token: new Uint8Array(32) });
    const info = infoWith({ clientPin: true, pinUvAuthToken: true }, [2]);
    await getPinToken(peer.transport, info, new PinProtocolV2(), 'right').catch(() => undefined);
    await getPinToken(peer.transport, info, new PinProtocolV2(), 'right');
    const keys = peer.requests.filter((r) => r.get(2) === 0x09).map((r) => toHex((r.get(3) as CborMap).get(-2) as Uint8Array));
    assert.equal(keys.length, 2);
    assert.notEqual(keys[0], keys[1]);
  });

  it('reads the PIN retry counter', async () => {
    const peer = pinPeer({ protocol: 1, pin: 'x', token: new Uint8Array(16), retries: 5 });
    assert.deepEqual(await getPinRetries(peer.transport, new PinProtocolV1()), { retries: 5 });
  });

  it('setPIN and changePIN send a padded encrypted PIN with a valid pinUvAuthParam', async () => {
    for (const protocol of [1, 2] as const) {
      const peer = pinPeer({ protocol, pin: 'old-pin', token: new Uint8Array(32) });
      const proto = protocol === 1 ? new PinProtocolV1() : new PinProtocolV2();
      await setPin(peer.transport, proto, 'first-pin');
      await changePin(peer.transport, proto, 'old-pin', 'new-pin');
      const newPins = peer.requests.filter((r) => r.has('newPin')).map((r) => r.get('newPin'));
      assert.deepEqual(newPins, ['first-pin', 'new-pin']);
      const setRequest = peer.requests.find((r) => r.get(2) === 0x03);
      assert.equal((setRequest?.get(5) as Uint8Array).length, protocol === 1 ? 64 : 80);
    }
    const peer = pinPeer({ protocol: 1, pin: 'x', token: new Uint8Array(16) });
    await rejectsWith(setPin(peer.transport, new PinProtocolV1(), '12'), 'fido2.pin-policy');
  });
});

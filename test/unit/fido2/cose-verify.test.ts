import assert from 'node:assert/strict';
import { X509Certificate, createHash, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { newKeyPair } from '../../sandbox/signing-keys.ts';
import { decodeCbor, encodeCbor } from '../../../src/fido2/ctap2/cbor.ts';
import { coseToKeyObject, decodeCoseKey, encodeCoseKey, keyObjectToCose, parseKeyAgreementKey } from '../../../src/fido2/ctap2/cose.ts';
import { rpIdHash, verifyAssertion, verifySignature } from '../../../src/fido2/ctap2/verify.ts';
import { concatBytes } from '../../../src/fido2/util.ts';
import { throwsWith, toHex } from './helpers.ts';
import { DEV_PUB_X, DEV_PUB_Y, PACKED_CLIENT_DATA_HASH, PACKED_MC_RESP, PUB_KEY_X, PUB_KEY_Y } from './vectors.ts';

const flip = (bytes: Uint8Array, index: number, bit = 0x01) => {
  const copy = new Uint8Array(bytes);
  copy[index] = (copy[index] as number) ^ bit;
  return copy;
};

function authData(rpId: string, flags: number, count: number): Uint8Array {
  const out = new Uint8Array(37);
  out.set(createHash('sha256').update(rpId).digest());
  out[32] = flags;
  new DataView(out.buffer).setUint32(33, count);
  return out;
}

describe('COSE keys', () => {
  it('turns the python-fido2 ES256 key into a P-256 KeyObject and back, byte for byte', () => {
    const cose = new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, PUB_KEY_X], [-3, PUB_KEY_Y]]);
    const { alg, key } = coseToKeyObject(cose);
    assert.equal(alg, -7);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const jwk = key.export({ format: 'jwk' });
    assert.equal(Buffer.from(jwk.x as string, 'base64url').toString('hex'), toHex(PUB_KEY_X));
    const bytes = encodeCoseKey(keyObjectToCose(key));
    assert.equal(toHex(bytes), 'a5010203262001215820' + toHex(PUB_KEY_X) + '225820' + toHex(PUB_KEY_Y));
    assert.deepEqual(decodeCoseKey(bytes), cose);
  });

  it('round-trips Ed25519 keys as EdDSA {1:1, 3:-8, -1:6, -2:x}', () => {
    const { publicKey, privateKey } = newKeyPair('EdDSA');
    const cose = keyObjectToCose(privateKey); // a private key exports its public half
    assert.deepEqual([...cose.keys()], [1, 3, -1, -2]);
    assert.equal(cose.get(1), 1);
    assert.equal(cose.get(3), -8);
    assert.equal(cose.get(-1), 6);
    const back = coseToKeyObject(encodeCoseKey(cose));
    assert.equal(back.alg, -8);
    assert.ok(back.key.equals(publicKey));
  });

  it('round-trips generated P-256 keys', () => {
    const { publicKey } = newKeyPair('ES256');
    assert.ok(coseToKeyObject(keyObjectToCose(publicKey)).key.equals(publicKey));
  });

  it('rejects broken or unsupported COSE keys as fido2.protocol', () => {
    const good = new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, PUB_KEY_X], [-3, PUB_KEY_Y]]);
    const variants: Map<number, unknown>[] = [
      new Map([...good, [3, -257]]), // RS256: not supported
      new Map([...good, [-1, 2]]), // P-384 curve id with ES256
      new Map([...good, [1, 1]]), // wrong kty
      new Map([...good, [-2, PUB_KEY_X.subarray(1)]]), // short x
      new Map([...good, [-3, new Uint8Array(32).fill(1)]]), // not on the curve
      new Map<number, unknown>([[1, 1], [3, -8], [-1, 6], [-2, new Uint8Array(31)]]),
      new Map<number, unknown>([[1, 1], [3, -8], [-1, 4], [-2, new Uint8Array(32)]]), // X25519 curve id
    ];
    for (const cose of variants) throwsWith(() => coseToKeyObject(cose), 'fido2.protocol');
    throwsWith(() => decodeCoseKey(encodeCbor([1, 2])), 'fido2.protocol');
  });

  it('reads a key-agreement key (alg -25) and refuses other shapes', () => {
    const ka = new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, DEV_PUB_X], [-3, DEV_PUB_Y]]);
    assert.deepEqual(parseKeyAgreementKey(ka), { x: DEV_PUB_X, y: DEV_PUB_Y });
    throwsWith(() => parseKeyAgreementKey(new Map([[1, 1]])), 'fido2.protocol');
    throwsWith(() => parseKeyAgreementKey('nope'), 'fido2.protocol');
  });
});

describe('signature verification', () => {
  it('verifies a real YubiKey ES256 (DER) signature over authData ‖ clientDataHash, and not a flipped one', () => {
    const response = decodeCbor(PACKED_MC_RESP) as Map<number, unknown>;
    const authDataBytes = response.get(2) as Uint8Array;
    const attStmt = response.get(3) as Map<string, unknown>;
    const certificate = new X509Certificate((attStmt.get('x5c') as Uint8Array[])[0] as Uint8Array);
    const key = { alg: -7, key: certificate.publicKey };
    const sig = attStmt.get('sig') as Uint8Array;
    assert.equal(verifySignature(key, concatBytes(authDataBytes, PACKED_CLIENT_DATA_HASH), sig), true);
    assert.equal(verifySignature(key, concatBytes(authDataBytes, flip(PACKED_CLIENT_DATA_HASH, 31)), sig), false);
    assert.equal(verifySignature(key, concatBytes(flip(authDataBytes, 40, 0x80), PACKED_CLIENT_DATA_HASH), sig), false);
    assert.equal(verifySignature(key, concatBytes(authDataBytes, PACKED_CLIENT_DATA_HASH), flip(sig, sig.length - 1)), false);
    assert.equal(verifySignature(key, concatBytes(authDataBytes, PACKED_CLIENT_DATA_HASH), new Uint8Array([0x30, 0x00])), false);
  });

  for (const [label, alg] of [['ES256', -7], ['EdDSA', -8]] as const) {
    it(`verifies a ${label} assertion end to end and rejects tampering`, () => {
      const pair = alg === -7 ? newKeyPair('ES256') : newKeyPair('EdDSA');
      const cose = encodeCoseKey(keyObjectToCose(pair.publicKey));
      const data = authData('tng.example', 0x05, 17);
      const clientDataHash = new Uint8Array(createHash('sha256').update('audit entry').digest());
      const message = concatBytes(data, clientDataHash);
      const signature = new Uint8Array(alg === -7 ? sign('sha256', message, pair.privateKey) : sign(null, message, pair.privateKey));
      if (alg === -8) assert.equal(signature.length, 64);
      const base = { publicKey: cose, rpId: 'tng.example', authData: data, clientDataHash, signature };
      const ok = verifyAssertion({ ...base, requireUserVerification: true });
      assert.equal(ok.ok, true);
      assert.equal(ok.ok && ok.authData.signCount, 17);
      assert.deepEqual(verifyAssertion({ ...base, publicKey: coseToKeyObject(cose) }).ok, true);

      const fail = (o: Partial<typeof base> & Record<string, unknown>) => {
        const r = verifyAssertion({ ...base, ...o });
        return r.ok ? 'ok' : r.reason;
      };
      assert.equal(fail({ signature: flip(signature, 10) }), 'signature');
      assert.equal(fail({ authData: flip(data, 36) }), 'signature'); // the counter is signed too
      assert.equal(fail({ clientDataHash: flip(clientDataHash, 0, 0x40) }), 'signature');
      assert.equal(fail({ rpId: 'evil.example' }), 'rp-id-hash');
      assert.equal(fail({ authData: flip(data, 3) }), 'rp-id-hash'); // wrong rpIdHash
      const unsignedUv = authData('tng.example', 0x01, 17);
      assert.equal(fail({ authData: unsignedUv, requireUserVerification: true }), 'user-verification');
      assert.equal(fail({ authData: authData('tng.example', 0x04, 17) }), 'user-presence');
      assert.equal(fail({ publicKey: new Uint8Array([0xa0]) }), 'malformed');
      assert.equal(fail({ authData: data.subarray(0, 20) }), 'malformed');
      assert.equal(fail({ clientDataHash: new Uint8Array(31) }), 'malformed');
    });
  }

  it('does not accept an ES256 signature under an EdDSA key or vice versa', () => {
    const ec = newKeyPair('ES256');
    const ed = newKeyPair('EdDSA');
    const message = new Uint8Array(69).fill(1);
    const ecSig = new Uint8Array(sign('sha256', message, ec.privateKey));
    assert.equal(verifySignature({ alg: -8, key: ed.publicKey }, message, ecSig), false);
    assert.equal(verifySignature({ alg: -7, key: ed.publicKey }, message, ecSig), false);
    assert.equal(verifySignature({ alg: -257, key: ec.publicKey }, message, ecSig), false);
  });

  it('hashes the RP ID with SHA-256', () => {
    assert.equal(toHex(rpIdHash('example.com')), 'a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947');
  });
});

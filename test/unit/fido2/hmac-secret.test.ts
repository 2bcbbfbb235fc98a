import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { type CborMap, decodeCbor, encodeCbor } from '../../../src/fido2/ctap2/cbor.ts';
import { decryptHmacSecretOutput, hmacSecretInput } from '../../../src/fido2/ctap2/hmac-secret.ts';
import { PinProtocolV1, PinProtocolV2, type PinProtocol, type SharedSecret } from '../../../src/fido2/ctap2/pin.ts';
import { concatBytes } from '../../../src/fido2/util.ts';
import { throwsWith, toHex } from './helpers.ts';

const keyAgreement = new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, new Uint8Array(32).fill(1)], [-3, new Uint8Array(32).fill(2)]]);
const shared = (size: number): SharedSecret => ({ keyAgreement, sharedSecret: new Uint8Array(size).map((_, i) => i * 7) });
const salt1 = new Uint8Array(32).fill(0x11);
const salt2 = new Uint8Array(32).fill(0x22);
const credRandom = new Uint8Array(32).fill(0xcc);
const hmac = (salt: Uint8Array) => new Uint8Array(createHmac('sha256', credRandom).update(salt).digest());

/** What an authenticator does with the input: check saltAuth, decrypt the salts, HMAC them, encrypt the outputs. */
function authenticatorSide(protocol: PinProtocol, ss: Uint8Array, input: CborMap): Uint8Array {
  const saltEnc = input.get(2) as Uint8Array;
  assert.equal(toHex(input.get(3) as Uint8Array), toHex(protocol.authenticate(ss, saltEnc)));
  const salts = protocol.decrypt(ss, saltEnc);
  const outputs = salts.length === 64 ? concatBytes(hmac(salts.subarray(0, 32)), hmac(salts.subarray(32))) : hmac(salts);
  return protocol.encrypt(ss, outputs);
}

describe('hmac-secret extension', () => {
  for (const [protocol, size] of [[new PinProtocolV1(), 32], [new PinProtocolV2(), 64]] as const) {
    it(`protocol ${protocol.version}: builds {1: keyAgreement, 2: saltEnc, 3: saltAuth${protocol.version === 2 ? ', 4: 2' : ''}} and round-trips one salt`, () => {
      const ss = shared(size);
      const input = hmacSecretInput(protocol, ss, salt1);
      assert.deepEqual([...input.keys()], protocol.version === 2 ? [1, 2, 3, 4] : [1, 2, 3]);
      assert.equal(input.get(1), keyAgreement);
      assert.equal((input.get(2) as Uint8Array).length, protocol.version === 1 ? 32 : 48);
      assert.equal((input.get(3) as Uint8Array).length, protocol.version === 1 ? 16 : 32);
      if (protocol.version === 2) assert.equal(input.get(4), 2);
      // As it travels: inside the getAssertion extensions map, canonical CBOR.
      const wire = decodeCbor(encodeCbor({ 'hmac-secret': input })) as Map<string, CborMap>;
      const encrypted = authenticatorSide(protocol, ss.sharedSecret, wire.get('hmac-secret') as CborMap);
      const { output1, output2 } = decryptHmacSecretOutput(protocol, ss.sharedSecret, encrypted, 1);
      assert.deepEqual(output1, hmac(salt1));
      assert.equal(output2, undefined);
    });

    it(`protocol ${protocol.version}: round-trips two salts`, () => {
      const ss = shared(size);
      const input = hmacSecretInput(protocol, ss, salt1, salt2);
      assert.equal((input.get(2) as Uint8Array).length, protocol.version === 1 ? 64 : 80);
      const encrypted = authenticatorSide(protocol, ss.sharedSecret, input);
      const out = decryptHmacSecretOutput(protocol, ss.sharedSecret, encrypted, 2);
      assert.deepEqual(out.output1, hmac(salt1));
      assert.deepEqual(out.output2, hmac(salt2));
      assert.notDeepEqual(out.output1, out.output2);
    });
  }

  it('refuses salts that are not 32 bytes (a bug in the caller: exit 1)', () => {
    const error = throwsWith(() => hmacSecretInput(new PinProtocolV2(), shared(64), new Uint8Array(16)), 'fido2.bad-salt');
    assert.equal(error.kind, 'internal');
    throwsWith(() => hmacSecretInput(new PinProtocolV1(), shared(32), salt1, new Uint8Array(33)), 'fido2.bad-salt');
  });

  it('rejects outputs of the wrong size or type as fido2.protocol', () => {
    const v1 = new PinProtocolV1();
    const ss = shared(32).sharedSecret;
    throwsWith(() => decryptHmacSecretOutput(v1, ss, v1.encrypt(ss, new Uint8Array(64)), 1), 'fido2.protocol');
    throwsWith(() => decryptHmacSecretOutput(v1, ss, v1.encrypt(ss, new Uint8Array(32)), 2), 'fido2.protocol');
    throwsWith(() => decryptHmacSecretOutput(v1, ss, new Uint8Array(33), 1), 'fido2.protocol');
    throwsWith(() => decryptHmacSecretOutput(v1, ss, true, 1), 'fido2.protocol');
  });
});

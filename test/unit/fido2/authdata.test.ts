import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseAuthenticatorData } from '../../../src/fido2/ctap2/authdata.ts';
import { encodeCbor } from '../../../src/fido2/ctap2/cbor.ts';
import { concatBytes } from '../../../src/fido2/util.ts';
import { throwsWith, toHex } from './helpers.ts';
import { AAGUID, ATT_CRED_DATA, AUTH_DATA_GA, AUTH_DATA_MC, CRED_ID, PUB_KEY_X, PUB_KEY_Y, RP_ID_HASH } from './vectors.ts';

const header = (flags: number, count: number) => {
  const out = new Uint8Array(37);
  out.set(createHash('sha256').update('example.com').digest(), 0);
  out[32] = flags;
  new DataView(out.buffer).setUint32(33, count);
  return out;
};

describe('authenticator data', () => {
  it('parses python-fido2 _AUTH_DATA_MC: flags 0x41, counter 28, the attested credential data', () => {
    const data = parseAuthenticatorData(AUTH_DATA_MC);
    assert.deepEqual(data.rpIdHash, RP_ID_HASH);
    assert.equal(data.flags, 0x41);
    assert.equal(data.userPresent, true);
    assert.equal(data.userVerified, false);
    assert.equal(data.signCount, 28);
    assert.equal(data.extensions, undefined);
    const cred = data.attestedCredentialData;
    assert.ok(cred);
    assert.deepEqual(cred.aaguid, AAGUID);
    assert.equal(cred.aaguidText, 'f8a011f3-8c0a-4d15-8006-17111f9edc7d');
    assert.deepEqual(cred.credentialId, CRED_ID);
    assert.deepEqual(
      cred.publicKeyMap,
      new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, PUB_KEY_X], [-3, PUB_KEY_Y]]),
    );
    // aaguid ‖ len ‖ credId ‖ COSE key is exactly _ATT_CRED_DATA: the key length was found by decoding.
    assert.equal(toHex(concatBytes(cred.aaguid, new Uint8Array([0, 64]), cred.credentialId, cred.publicKey)), toHex(ATT_CRED_DATA));
  });

  it('parses python-fido2 _AUTH_DATA_GA: flags 0x01, counter 29, nothing else', () => {
    const data = parseAuthenticatorData(AUTH_DATA_GA);
    assert.deepEqual(data.rpIdHash, RP_ID_HASH);
    assert.equal(data.flags, 0x01);
    assert.equal(data.signCount, 29);
    assert.equal(data.attestedCredentialData, undefined);
    assert.equal(data.extensions, undefined);
  });

  it('parses extensions after the attested credential data (AT|ED) and alone (ED), and UV/BE/BS flags', () => {
    const cose = encodeCbor(new Map<number, unknown>([[1, 1], [3, -8], [-1, 6], [-2, new Uint8Array(32).fill(7)]]));
    const ext = encodeCbor({ 'hmac-secret': true, credProtect: 1 });
    const credId = new Uint8Array(16).fill(0xc1);
    const mc = concatBytes(header(0xc5, 1), new Uint8Array(16).fill(0xaa), new Uint8Array([0, 16]), credId, cose, ext);
    const parsed = parseAuthenticatorData(mc);
    assert.equal(parsed.userVerified, true);
    assert.deepEqual(parsed.attestedCredentialData?.credentialId, credId);
    assert.deepEqual(parsed.attestedCredentialData?.publicKey, cose);
    assert.deepEqual(parsed.extensions, new Map<string, unknown>([['credProtect', 1], ['hmac-secret', true]]));

    const out = new Uint8Array(48).fill(3);
    const ga = concatBytes(header(0x80 | 0x18 | 0x01, 0xfffffffe), encodeCbor({ 'hmac-secret': out }));
    const parsedGa = parseAuthenticatorData(ga);
    assert.equal(parsedGa.signCount, 0xfffffffe);
    assert.equal(parsedGa.backupEligible, true);
    assert.equal(parsedGa.backedUp, true);
    assert.deepEqual(parsedGa.extensions?.get('hmac-secret'), out);
  });

  it('rejects malformed authenticator data as fido2.protocol', () => {
    const cases: [string, Uint8Array][] = [
      ['too short', AUTH_DATA_GA.subarray(0, 36)],
      ['trailing bytes', concatBytes(AUTH_DATA_GA, new Uint8Array([0]))],
      ['AT flag without data', header(0x41, 0)],
      ['credential id cut short', AUTH_DATA_MC.subarray(0, 37 + 18 + 10)],
      ['COSE key cut short', AUTH_DATA_MC.subarray(0, AUTH_DATA_MC.length - 1)],
      ['ED flag without extensions', header(0x81, 0)],
      ['extensions that are not a map', concatBytes(header(0x81, 0), encodeCbor([1]))],
      ['extensions keyed by integers', concatBytes(header(0x81, 0), encodeCbor(new Map([[1, 1]])))],
      ['a zero-length credential id', concatBytes(header(0x41, 0), new Uint8Array(16), new Uint8Array([0, 0]), encodeCbor(new Map([[1, 2]])))],
      ['a COSE key that is not a map', concatBytes(header(0x41, 0), new Uint8Array(16), new Uint8Array([0, 1, 9]), encodeCbor([1]))],
    ];
    for (const [what, bytes] of cases) {
      const error = throwsWith(() => parseAuthenticatorData(bytes), 'fido2.protocol');
      assert.equal(error.kind, 'authenticator', what);
    }
  });
});

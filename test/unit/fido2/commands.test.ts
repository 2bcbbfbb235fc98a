import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { encodeCbor } from '../../../src/fido2/ctap2/cbor.ts';
import {
  type CborTransport,
  clientPin,
  getAssertion,
  getInfo,
  getNextAssertion,
  makeCredential,
  parseCborResponse,
  parseInfo,
  selection,
  sendCbor,
} from '../../../src/fido2/ctap2/commands.ts';
import { CtapError, statusName } from '../../../src/fido2/ctap2/status.ts';
import { concatBytes } from '../../../src/fido2/util.ts';
import { hex, rejectsWith, throwsWith, toHex } from './helpers.ts';
import { AAGUID, AUTH_DATA_GA, AUTH_DATA_MC, CRED_ID, GA_RESP, GA_SIGNATURE, INFO, INFO_EXTRA_KEY, MC_RESP } from './vectors.ts';

/** A transport that records requests and answers from a list. */
function scripted(...answers: (Uint8Array | ((request: Uint8Array) => Uint8Array))[]) {
  const requests: Uint8Array[] = [];
  const transport: CborTransport = {
    async cbor(request) {
      requests.push(request);
      const next = answers.shift();
      if (!next) throw new Error('no scripted answer left');
      return typeof next === 'function' ? next(request) : next;
    },
  };
  return { transport, requests };
}
const ok = (body?: Uint8Array) => concatBytes(new Uint8Array([0]), body ?? new Uint8Array(0));
const str = (s: string) => toHex(new TextEncoder().encode(s));

describe('authenticatorGetInfo', () => {
  it('sends the single byte 0x04 and parses python-fido2 _INFO', async () => {
    const { transport, requests } = scripted(ok(INFO));
    const info = await getInfo(transport);
    assert.equal(toHex(requests[0] as Uint8Array), '04');
    assert.deepEqual(info.versions, ['U2F_V2', 'FIDO_2_0']);
    assert.deepEqual(info.extensions, ['uvm', 'hmac-secret']);
    assert.deepEqual(info.aaguid, AAGUID);
    assert.equal(info.aaguidText, 'f8a011f3-8c0a-4d15-8006-17111f9edc7d');
    assert.deepEqual({ ...info.options }, { rk: true, up: true, plat: false, clientPin: false });
    assert.equal(info.maxMsgSize, 1200);
    assert.deepEqual(info.pinUvAuthProtocols, [1]);
    assert.equal(info.maxCredentialCountInList, undefined);
  });

  it('ignores unknown keys (_INFO_EXTRA_KEY) and keeps them in raw', async () => {
    const info = await getInfo(scripted(ok(INFO_EXTRA_KEY)).transport);
    assert.deepEqual(info.versions, ['U2F_V2', 'FIDO_2_0']);
    assert.equal(info.raw.get(0x63), 1234);
  });

  it('parses the CTAP 2.1 fields and defaults maxMsgSize to 1024', () => {
    const info = parseInfo(
      new Map<number, unknown>([
        [1, ['FIDO_2_0', 'FIDO_2_1']],
        [2, ['credProtect', 'hmac-secret']],
        [3, new Uint8Array(16)],
        [4, new Map<string, boolean>([['clientPin', true], ['pinUvAuthToken', true], ['__proto__', true]])],
        [6, [2, 1]],
        [7, 8],
        [8, 128],
        [9, ['usb', 'nfc']],
        [10, [new Map<string, unknown>([['alg', -7], ['type', 'public-key']])]],
        [13, 4],
        [14, 328966],
      ]),
    );
    assert.equal(info.maxMsgSize, 1024);
    assert.equal(info.options.pinUvAuthToken, true);
    assert.equal(Object.getPrototypeOf(info.options), Object.prototype); // '__proto__' stayed a plain key
    assert.equal(info.maxCredentialCountInList, 8);
    assert.equal(info.maxCredentialIdLength, 128);
    assert.deepEqual(info.transports, ['usb', 'nfc']);
    assert.deepEqual(info.algorithms, [{ alg: -7, type: 'public-key' }]);
    assert.equal(info.minPinLength, 4);
    assert.equal(info.firmwareVersion, 328966);
  });

  it('rejects getInfo answers with missing or mistyped fields', () => {
    const base = () => new Map<number, unknown>([[1, ['FIDO_2_0']], [3, new Uint8Array(16)]]);
    const broken: Map<number, unknown>[] = [
      new Map([[3, new Uint8Array(16)]]),
      new Map([...base(), [3, new Uint8Array(15)]]),
      new Map([...base(), [1, 'FIDO_2_0']]),
      new Map([...base(), [4, new Map([['rk', 1]])]]),
      new Map([...base(), [5, -1]]),
      new Map([...base(), [6, ['1']]]),
      new Map([...base(), [10, [new Map([['alg', 'x']])]]]),
    ];
    for (const map of broken) throwsWith(() => parseInfo(map), 'fido2.protocol');
  });
});

describe('CTAP2 responses and status codes', () => {
  it('turns a non-zero status into a typed CtapError with the client-level code', () => {
    const cases: [number, string, string][] = [
      [0x27, 'fido2.denied', 'OPERATION_DENIED'],
      [0x2e, 'fido2.no-credential', 'NO_CREDENTIALS'],
      [0x31, 'fido2.pin-invalid', 'PIN_INVALID'],
      [0x32, 'fido2.pin-blocked', 'PIN_BLOCKED'],
      [0x34, 'fido2.pin-auth-blocked', 'PIN_AUTH_BLOCKED'],
      [0x36, 'fido2.pin-required', 'PUAT_REQUIRED'],
      [0x2f, 'fido2.touch-timeout', 'USER_ACTION_TIMEOUT'],
      [0x2d, 'fido2.cancelled', 'KEEPALIVE_CANCEL'],
      [0x19, 'fido2.already-enrolled', 'CREDENTIAL_EXCLUDED'],
      [0x12, 'fido2.protocol', 'INVALID_CBOR'],
      [0x2b, 'fido2.not-supported', 'UNSUPPORTED_OPTION'],
      [0xf3, 'fido2.ctap-error', 'VENDOR_0xf3'],
      [0xe1, 'fido2.ctap-error', 'EXTENSION_0xe1'],
      [0x50, 'fido2.ctap-error', 'UNKNOWN_0x50'],
    ];
    for (const [status, code, name] of cases) {
      const error = throwsWith(() => parseCborResponse(new Uint8Array([status])), code);
      assert.ok(error instanceof CtapError);
      assert.equal(error.status, status);
      assert.equal(error.statusName, name);
      assert.equal(error.exitCode, 5);
      assert.equal(statusName(status), name);
    }
    const blocked = new CtapError(0x34);
    assert.match(blocked.message + blocked.hint, /reinsert/i);
    assert.match(new CtapError(0x2e).message, /not enrolled/);
  });

  it('accepts a bare success status and rejects empty, non-map and string-keyed bodies', () => {
    assert.deepEqual(parseCborResponse(new Uint8Array([0])), new Map());
    throwsWith(() => parseCborResponse(new Uint8Array(0)), 'fido2.protocol');
    throwsWith(() => parseCborResponse(ok(encodeCbor([1]))), 'fido2.protocol');
    throwsWith(() => parseCborResponse(ok(encodeCbor({ a: 1 }))), 'fido2.protocol');
    throwsWith(() => parseCborResponse(ok(hex('a20100 0000'))), 'fido2.protocol'); // unsorted
  });

  it('sends params as canonical CBOR after the command byte', async () => {
    const { transport, requests } = scripted(ok());
    await sendCbor(transport, 0x06, new Map<number, unknown>([[2, 2], [1, 1]]));
    assert.equal(toHex(requests[0] as Uint8Array), '06a201010202');
  });
});

describe('authenticatorMakeCredential', () => {
  it('encodes the request exactly (keys 1..4, sorted entity maps) and parses python-fido2 _MC_RESP', async () => {
    const { transport, requests } = scripted(ok(MC_RESP));
    const response = await makeCredential(transport, {
      clientDataHash: new Uint8Array(32),
      rp: { id: 'example.com', name: 'Example' },
      user: { id: new TextEncoder().encode('user_id'), name: 'user' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    });
    const expected =
      '01' +
      'a4' +
      '01' + '5820' + '00'.repeat(32) +
      '02' + 'a2' + '62' + str('id') + '6b' + str('example.com') + '64' + str('name') + '67' + str('Example') +
      '03' + 'a2' + '62' + str('id') + '47' + str('user_id') + '64' + str('name') + '64' + str('user') +
      '04' + '81' + 'a2' + '63' + str('alg') + '26' + '64' + str('type') + '6a' + str('public-key');
    assert.equal(toHex(requests[0] as Uint8Array), expected);
    assert.equal(response.fmt, 'packed');
    assert.deepEqual(response.authData, AUTH_DATA_MC);
    assert.deepEqual([...response.attStmt.keys()], ['alg', 'sig', 'x5c']);
    assert.equal(response.attStmt.get('alg'), -7);
    assert.deepEqual(response.parsedAuthData.attestedCredentialData?.credentialId, CRED_ID);
  });

  it('encodes exclude list, extensions, options and PIN parameters under keys 5..9', async () => {
    const { transport, requests } = scripted(ok(MC_RESP));
    await makeCredential(transport, {
      clientDataHash: new Uint8Array(32),
      rp: { id: 'a' },
      user: { id: new Uint8Array([1]), name: 'u', displayName: 'U' },
      pubKeyCredParams: [{ alg: -7, type: 'public-key' }, { alg: -8, type: 'public-key' }],
      excludeList: [{ id: new Uint8Array([0xee]), type: 'public-key' }],
      extensions: { 'hmac-secret': true },
      options: { rk: false },
      pinUvAuthParam: new Uint8Array(16).fill(0xab),
      pinUvAuthProtocol: 1,
    });
    const tail =
      '05' + '81' + 'a2' + '62' + str('id') + '41ee' + '64' + str('type') + '6a' + str('public-key') +
      '06' + 'a1' + '6b' + str('hmac-secret') + 'f5' +
      '07' + 'a1' + '62' + str('rk') + 'f4' +
      '08' + '50' + 'ab'.repeat(16) +
      '09' + '01';
    const request = toHex(requests[0] as Uint8Array);
    assert.ok(request.startsWith('01a9'), request.slice(0, 4));
    assert.ok(request.endsWith(tail));
    assert.ok(request.includes('a3' + '62' + str('id') + '4101' + '64' + str('name') + '6175' + '6b' + str('displayName') + '6155'));
  });

  it('rejects a response without authData, or whose authData holds no credential', async () => {
    await rejectsWith(makeCredential(scripted(ok(encodeCbor(new Map<number, unknown>([[1, 'none'], [3, new Map()]])))).transport, minimalMc()), 'fido2.protocol');
    const noCred = encodeCbor(new Map<number, unknown>([[1, 'none'], [2, AUTH_DATA_GA], [3, new Map()]]));
    await rejectsWith(makeCredential(scripted(ok(noCred)).transport, minimalMc()), 'fido2.protocol');
  });
});

function minimalMc() {
  return { clientDataHash: new Uint8Array(32), rp: { id: 'a' }, user: { id: new Uint8Array([1]) }, pubKeyCredParams: [{ alg: -7, type: 'public-key' }] };
}

describe('authenticatorGetAssertion', () => {
  it('encodes rpId and clientDataHash and parses python-fido2 _GA_RESP', async () => {
    const { transport, requests } = scripted(ok(GA_RESP));
    const response = await getAssertion(transport, { rpId: 'example.com', clientDataHash: new Uint8Array(32) });
    assert.equal(toHex(requests[0] as Uint8Array), '02a2' + '01' + '6b' + str('example.com') + '02' + '5820' + '00'.repeat(32));
    assert.deepEqual(response.credential, { id: CRED_ID, type: 'public-key' });
    assert.deepEqual(response.authData, AUTH_DATA_GA);
    assert.deepEqual(response.signature, GA_SIGNATURE);
    assert.equal(response.user, undefined);
    assert.equal(response.numberOfCredentials, undefined);
    assert.equal(response.parsedAuthData.signCount, 29);
  });

  it('encodes allowList, extensions, options {up:false} and PIN parameters under keys 3..7', async () => {
    const { transport, requests } = scripted(ok(GA_RESP));
    await getAssertion(transport, {
      rpId: 'r',
      clientDataHash: new Uint8Array(32),
      allowList: [{ id: CRED_ID, type: 'public-key' }],
      options: { up: false },
      pinUvAuthParam: new Uint8Array(32),
      pinUvAuthProtocol: 2,
    });
    const request = toHex(requests[0] as Uint8Array);
    assert.ok(request.startsWith('02a6'));
    assert.ok(request.includes('05' + 'a1' + '62' + str('up') + 'f4' + '06' + '5820'));
    assert.ok(request.endsWith('0702'));
  });

  it('fills in the omitted credential from a one-entry allowList, and rejects it otherwise', async () => {
    const body = encodeCbor(new Map<number, unknown>([[2, AUTH_DATA_GA], [3, GA_SIGNATURE]]));
    const one = [{ id: new Uint8Array([7]), type: 'public-key' }];
    const response = await getAssertion(scripted(ok(body)).transport, { rpId: 'r', clientDataHash: new Uint8Array(32), allowList: one });
    assert.deepEqual(response.credential.id, new Uint8Array([7]));
    await rejectsWith(getAssertion(scripted(ok(body)).transport, { rpId: 'r', clientDataHash: new Uint8Array(32) }), 'fido2.protocol');
  });

  it('getNextAssertion sends 0x08 alone and parses user and count fields', async () => {
    const body = encodeCbor(
      new Map<number, unknown>([
        [1, { id: CRED_ID, type: 'public-key' }],
        [2, AUTH_DATA_GA],
        [3, GA_SIGNATURE],
        [4, { id: new Uint8Array([1]) }],
        [5, 2],
        [6, true],
      ]),
    );
    const { transport, requests } = scripted(ok(body));
    const response = await getNextAssertion(transport);
    assert.equal(toHex(requests[0] as Uint8Array), '08');
    assert.equal(response.numberOfCredentials, 2);
    assert.equal(response.userSelected, true);
    assert.deepEqual(response.user?.get('id'), new Uint8Array([1]));
  });
});

describe('authenticatorClientPIN', () => {
  it('encodes getKeyAgreement as {1: protocol, 2: 2} and parses the answer fields', async () => {
    const ka = new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, new Uint8Array(32)], [-3, new Uint8Array(32)]]);
    const { transport, requests } = scripted(ok(encodeCbor(new Map<number, unknown>([[1, ka], [3, 8], [4, false], [5, 3]]))));
    const response = await clientPin(transport, { pinUvAuthProtocol: 2, subCommand: 2 });
    assert.equal(toHex(requests[0] as Uint8Array), '06a2' + '0102' + '0202');
    assert.deepEqual(response, { keyAgreement: ka, pinRetries: 8, powerCycleState: false, uvRetries: 3 });
  });
});

describe('authenticatorSelection', () => {
  const info21 = parseInfo(new Map<number, unknown>([[1, ['FIDO_2_0', 'FIDO_2_1']], [3, new Uint8Array(16)]]));
  const info20 = parseInfo(new Map<number, unknown>([[1, ['U2F_V2', 'FIDO_2_0', 'FIDO_2_1_PRE']], [3, new Uint8Array(16)]]));

  it('sends 0x0B to CTAP 2.1 authenticators', async () => {
    const { transport, requests } = scripted(ok());
    await selection(transport, info21);
    assert.equal(toHex(requests[0] as Uint8Array), '0b');
  });

  for (const status of [0x35, 0x31, 0x33]) {
    it(`on CTAP 2.0 sends makeCredential with a zero-length pinUvAuthParam; status 0x${status.toString(16)} means touched`, async () => {
      const { transport, requests } = scripted(new Uint8Array([status]));
      await selection(transport, info20);
      const request = toHex(requests[0] as Uint8Array);
      assert.ok(request.startsWith('01a6'));
      assert.ok(request.endsWith('08' + '40' + '09' + '01'));
    });
  }

  it('passes other errors through', async () => {
    const error = await rejectsWith(selection(scripted(new Uint8Array([0x27])).transport, info20), 'fido2.denied');
    assert.ok(error instanceof TngError);
    await rejectsWith(selection(scripted(new Uint8Array([0x2f])).transport, info21), 'fido2.touch-timeout');
  });
});

// Checks the virtual authenticator against independent implementations: Yubico's python-fido2 0.9.1
// (Debian's, under /usr/bin/python3) drives it over the UNIX socket, libfido2's fido2-cred / fido2-assert
// verify what it produced, and a small CTAPHID host of the test's own (CBOR via cbor-x) probes framing
// corner cases, touch modes and request validation.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startVirtualAuthenticator, type VirtualAuthenticator, type VirtualAuthenticatorOptions } from './authenticator/index.ts';
import { TestHidClient, BROADCAST, cborDecodeAll, cborEncode } from './authenticator/client.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const AUTHN_DIR = join(HERE, 'authenticator');
const PYTHON = '/usr/bin/python3';
const FIDO2_CRED = '/usr/bin/fido2-cred';
const FIDO2_ASSERT = '/usr/bin/fido2-assert';

const RP = 'example.com';
const HID = { PING: 0x01, MSG: 0x03, LOCK: 0x04, INIT: 0x06, WINK: 0x08, CBOR: 0x10, CANCEL: 0x11, KEEPALIVE: 0x3b, ERROR: 0x3f };

// ---------------------------------------------------------------------------------------------------
// helpers

const open: VirtualAuthenticator[] = [];
async function start(options: VirtualAuthenticatorOptions = {}): Promise<VirtualAuthenticator> {
  const a = await startVirtualAuthenticator(options);
  open.push(a);
  return a;
}
after(async () => {
  await Promise.all(open.map((a) => a.close()));
});

function run(cmd: string, args: string[], input?: string, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { cwd, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(input ?? '');
  });
}

/** Runs a python-fido2 scenario (pyfido2_scenarios.py) against `device`; returns its JSON. */
async function py(scenario: string, device: string, ...args: string[]): Promise<any> {
  const r = await run(PYTHON, ['pyfido2_scenarios.py', scenario, device, ...args], undefined, AUTHN_DIR);
  assert.equal(r.code, 0, `python-fido2 scenario ${scenario} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** A COSE public key (as the python scenarios print it) → SPKI PEM, with Node's crypto. */
function cosePem(cose: { kty: number; crv: number; x: string; y?: string }): string {
  const x = Buffer.from(cose.x, 'base64').toString('base64url');
  const jwk =
    cose.kty === 2
      ? { kty: 'EC', crv: 'P-256', x, y: Buffer.from(cose.y!, 'base64').toString('base64url') }
      : { kty: 'OKP', crv: 'Ed25519', x };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
}

/** libfido2 tools take authenticator data CBOR-encoded (a byte string), base64. */
function authDataForLibfido2(authDataB64: string): string {
  return cborEncode(Buffer.from(authDataB64, 'base64')).toString('base64');
}

async function fido2CredVerify(c: { clientDataHash: string; rpId: string; authData: string; credentialId: string; sig: string }, flags: string[], type?: string) {
  const input = [c.clientDataHash, c.rpId, 'packed', authDataForLibfido2(c.authData), c.credentialId, c.sig].join('\n') + '\n';
  return run(FIDO2_CRED, ['-V', ...flags, ...(type ? [type] : [])], input);
}

async function fido2AssertVerify(a: { clientDataHash: string; rpId: string; authData: string; signature: string }, pem: string, type: string, flags: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'tng-authn-test-'));
  try {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, pem);
    const input = [a.clientDataHash, a.rpId, authDataForLibfido2(a.authData), a.signature].join('\n') + '\n';
    return await run(FIDO2_ASSERT, ['-V', ...flags, keyFile, type], input);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sha256 = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();

function mcParams(
  cdh: Buffer,
  opts: { rk?: boolean; algs?: number[]; hmac?: boolean; credProtect?: number; userId?: Buffer; exclude?: Buffer[]; up?: boolean } = {},
): Map<number, unknown> {
  const m = new Map<number, unknown>([
    [1, cdh],
    [2, { id: RP, name: 'Example' }],
    [3, { id: opts.userId ?? Buffer.from('user-1'), name: 'alice', displayName: 'Alice' }],
    [4, (opts.algs ?? [-7]).map((alg) => ({ alg, type: 'public-key' }))],
  ]);
  if (opts.exclude) m.set(5, opts.exclude.map((id) => ({ id, type: 'public-key' })));
  if (opts.hmac || opts.credProtect !== undefined) {
    const ext: Record<string, unknown> = {}; // canonical order: "credProtect" before "hmac-secret"
    if (opts.credProtect !== undefined) ext.credProtect = opts.credProtect;
    if (opts.hmac) ext['hmac-secret'] = true;
    m.set(6, ext);
  }
  if (opts.rk !== undefined || opts.up !== undefined) {
    const o: Record<string, boolean> = {};
    if (opts.rk !== undefined) o.rk = opts.rk;
    if (opts.up !== undefined) o.up = opts.up;
    m.set(7, o);
  }
  return m;
}

function gaParams(cdh: Buffer, credentialId?: Buffer, up?: boolean): Map<number, unknown> {
  const m = new Map<number, unknown>([
    [1, RP],
    [2, cdh],
  ]);
  if (credentialId) m.set(3, [{ id: credentialId, type: 'public-key' }]);
  if (up !== undefined) m.set(5, { up });
  return m;
}

interface ParsedAuthData {
  rpIdHash: Buffer;
  flags: number;
  counter: number;
  aaguid?: Buffer;
  credentialId?: Buffer;
  cose?: Map<number, any>;
  extensions?: Map<string, any>;
}

function parseAuthData(ad: Buffer): ParsedAuthData {
  const out: ParsedAuthData = { rpIdHash: ad.subarray(0, 32), flags: ad[32]!, counter: ad.readUInt32BE(33) };
  let rest = ad.subarray(37);
  if (out.flags & 0x40) {
    out.aaguid = rest.subarray(0, 16);
    const len = rest.readUInt16BE(16);
    out.credentialId = rest.subarray(18, 18 + len);
    rest = rest.subarray(18 + len);
  }
  const items = rest.length ? cborDecodeAll(rest) : [];
  if (out.flags & 0x40) out.cose = items.shift() as Map<number, any>;
  if (out.flags & 0x80) out.extensions = items.shift() as Map<string, any>;
  assert.equal(items.length, 0, 'nothing after the extensions');
  return out;
}

function coseToJson(cose: Map<number, any>): { kty: number; crv: number; x: string; y?: string } {
  const out: { kty: number; crv: number; x: string; y?: string } = { kty: cose.get(1), crv: cose.get(-1), x: Buffer.from(cose.get(-2)).toString('base64') };
  if (cose.has(-3)) out.y = Buffer.from(cose.get(-3)).toString('base64');
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForKeepalive(c: TestHidClient, status = 0x02): Promise<void> {
  for (;;) {
    const m = await c.readMessage(3000);
    assert.equal(m.cmd, HID.KEEPALIVE, `expected a keepalive, got 0x${m.cmd.toString(16)}`);
    if (m.payload[0] === status) return;
  }
}

// ---------------------------------------------------------------------------------------------------

describe('python-fido2 0.9.1 drives the virtual authenticator', () => {
  let credentialsResult: any;
  let pinResult: any;

  test('INIT and getInfo look like a YubiKey 5 (CTAP 2.1)', async () => {
    const a = await start();
    const info = await py('info', a.device);
    assert.equal(info.hidVersion, 2);
    assert.deepEqual(info.deviceVersion, [5, 4, 3]);
    assert.equal(info.capabilities, 0x01 | 0x04, 'WINK | CBOR, and U2F (no NMSG)');
    assert.equal(info.ping, true);
    assert.deepEqual(info.versions, ['U2F_V2', 'FIDO_2_0', 'FIDO_2_1']);
    assert.deepEqual(info.extensions, ['credProtect', 'hmac-secret']);
    assert.equal(info.aaguid, 'cb69481e8ff7403993ec0a2729a154a8');
    assert.deepEqual(info.options, { rk: true, up: true, plat: false, clientPin: false, pinUvAuthToken: true, makeCredUvNotRqd: true });
    assert.equal(info.maxMsgSize, 1200);
    assert.deepEqual(info.pinUvProtocols, [2, 1]);
    assert.equal(info.maxCredsInList, 8);
    assert.equal(info.maxCredIdLength, 128);
    assert.deepEqual(info.transports, ['usb']);
    assert.deepEqual(info.algorithms, [
      { alg: -7, type: 'public-key' },
      { alg: -8, type: 'public-key' },
    ]);
  });

  test('getInfo follows the options: PIN set, no hmac-secret, protocol 1 only, other AAGUID', async () => {
    const a = await start({ pin: '1234', hmacSecret: false, pinProtocols: [1], aaguid: '00112233-4455-6677-8899-aabbccddeeff', algorithms: [-7] });
    const info = await py('info', a.device);
    assert.equal(info.options.clientPin, true);
    assert.deepEqual(info.extensions, ['credProtect']);
    assert.deepEqual(info.pinUvProtocols, [1]);
    assert.equal(info.aaguid, '00112233445566778899aabbccddeeff');
    assert.deepEqual(info.algorithms, [{ alg: -7, type: 'public-key' }]);
  });

  test('makeCredential (ES256, EdDSA) with hmac-secret, packed self attestation, verified assertions', async () => {
    const a = await start();
    const r = await py('credentials', a.device);
    credentialsResult = r;
    assert.deepEqual(
      r.credentials.map((c: any) => c.alg),
      [-7, -8],
    );
    for (const c of r.credentials) {
      assert.equal(c.attAlg, c.alg);
      assert.deepEqual(
        c.assertions.map((x: any) => [x.flags, x.counter]),
        [
          [0x01, 1],
          [0x01, 2],
        ],
        'UP only, counter increments',
      );
      assert.equal(c.probeFlags, 0x00, 'up:false probe has no UP flag');
      assert.equal(c.probeCounter, 3);
      assert.equal(Buffer.from(c.credentialId, 'base64').length <= 128, true);
    }
    assert.deepEqual(r.keepaliveStatuses, [2], 'UPNEEDED keepalives reach python-fido2');
    assert.deepEqual(r.errors, {
      unknownCredential: 0x2e,
      otherRp: 0x2e,
      noAllowListNoResident: 0x2e,
      excluded: 0x19,
      mcUpFalse: 0x2c,
      mcUvTrue: 0x2c,
      gaUvTrue: 0x2c,
      gaRk: 0x2b,
      rs256Only: 0x26,
    });
    assert.equal(r.resident.count, 2);
    assert.deepEqual(r.resident.users, [Buffer.from('rk-user-2').toString('base64'), Buffer.from('rk-user-1').toString('base64')]);
    assert.equal(r.resident.afterLast, 0x30);
    // The sandbox's own bookkeeping agrees.
    const creds = a.credentials();
    for (const c of r.credentials) {
      const mine = creds.find((x) => x.credentialId === Buffer.from(c.credentialId, 'base64').toString('base64url'));
      assert.ok(mine, 'credential listed');
      assert.equal(mine.rpId, RP);
      assert.equal(mine.alg, c.alg);
      assert.equal(mine.signCount, 3);
    }
    assert.ok(a.stats().touches >= 6);
  });

  test('hmac-secret via HmacSecretExtension: stable outputs, protocol-independent, different with and without UV', async () => {
    const a = await start({ pin: '1234' });
    const r = await py('hmac', a.device, '1234');
    const noUv = r.noUv.v2[0];
    assert.match(noUv, /^[0-9a-f]{64}$/);
    assert.deepEqual(r.noUv.v2again, [noUv], 'same salt, same output');
    assert.deepEqual(r.noUv.v1, [noUv], 'protocol 1 gives the same output');
    assert.deepEqual(r.noUv.v1NoProtocolKey, [noUv], 'hmac-secret key 4 absent means protocol 1');
    assert.equal(r.noUv.twoSalts.length, 2);
    assert.equal(r.noUv.twoSalts[0], noUv);
    assert.notEqual(r.noUv.twoSalts[1], noUv);
    const uv = r.uv.v2[0];
    assert.notEqual(uv, noUv, 'CredRandomWithUV differs from CredRandomWithoutUV');
    assert.deepEqual(r.uv.v2again, [uv]);
    assert.deepEqual(r.uv.v1, [uv]);
    assert.equal(r.uv.twoSalts[0], uv);
    assert.notEqual(r.uv.twoSalts[1], r.noUv.twoSalts[1]);
    assert.equal(r.badSaltAuth, 0x33, 'bad saltAuth → PIN_AUTH_INVALID (CTAP 2.1)');
    assert.equal(r.shortSalt, 0x03, 'a salt that is not 32/64 bytes → INVALID_LENGTH');
    assert.equal(r.withoutHmacCredential, null, 'no output for a credential made without hmac-secret');
  });

  test('ClientPin with PinProtocolV1 and V2: set, tokens and permissions, change, policy, retries, PIN_AUTH_BLOCKED', async () => {
    const a = await start();
    const r = await py('pin', a.device);
    pinResult = r;
    assert.equal(r.clientPinBefore, false);
    assert.equal(r.tokenWithoutPin, 0x35);
    assert.equal(r.clientPinAfter, true);
    assert.equal(r.setPinAgain, 0x33);
    assert.deepEqual(r.retries, [8, false]);
    for (const v of ['v1', 'v2']) {
      const t = r.tokens[v];
      assert.equal(t.tokenLength, 32);
      assert.equal(t.mcUv, true, `${v}: token → UV flag in makeCredential`);
      assert.equal(t.reuseAfterUse, 0x33, `${v}: a permission token is spent by the operation`);
      assert.equal(t.gaUv, true);
      assert.equal(t.wrongRp, 0x33);
      assert.equal(t.missingPermission, 0x33);
    }
    assert.deepEqual(r.legacyToken, [true, true], 'legacy getPinToken (0x05) works and is reusable');
    assert.equal(r.rkWithoutToken, 0x36, 'discoverable credential needs a token when a PIN is set');
    assert.equal(r.nonRkWithoutTokenUv, false, 'makeCredUvNotRqd: non-discoverable credential without UV');
    assert.equal(r.badPinUvAuthParam, 0x33);
    assert.equal(r.pinUvAuthParamWithoutProtocol, 0x14);
    assert.equal(r.oldPinAfterChange, 0x31);
    assert.equal(r.retriesAfterOneWrong, 7);
    assert.equal(r.newPinAfterChange, 0);
    assert.equal(r.retriesAfterRight, 8);
    assert.equal(r.policyTooShort, 0x37);
    assert.equal(r.policyTooLong, 0x37);
    assert.equal(r.policyThreeEmoji, 0x37, '3 code points is too short even at 12 bytes');
    assert.equal(r.stillOldPin, 0);
    assert.deepEqual(r.keyAgreement, { stable: true, changedAfterWrongPin: true, wrong: 0x31, alg: -25 });
    assert.deepEqual(r.wrongSequence, [0x31, 0x31, 0x34], 'third consecutive wrong PIN → PIN_AUTH_BLOCKED');
    assert.equal(r.rightWhileBlocked, 0x34, 'blocked until a power cycle, even with the right PIN');
    assert.deepEqual(r.retriesBlocked, [5, true], 'powerCycleState reported');
    assert.equal(r.uvRetries, 0x3e, 'no built-in UV');
    assert.equal(a.pinRetries(), 5);

    // A new connection is not a power cycle; powerCycle() is.
    assert.equal((await py('pin-token', a.device, '5678')).status, 0x34);
    a.powerCycle();
    assert.deepEqual(await py('pin-token', a.device, '5678'), { status: 0, retries: [8, false] });
  });

  test('wrong PINs down to PIN_BLOCKED (retries 0), with power cycles between blocks', async () => {
    const a = await start({ pin: '2468' });
    assert.deepEqual(await py('wrong-pins', a.device, '3'), { statuses: [0x31, 0x31, 0x34], retries: 5 });
    a.powerCycle();
    assert.deepEqual(await py('wrong-pins', a.device, '3'), { statuses: [0x31, 0x31, 0x34], retries: 2 });
    a.powerCycle();
    assert.deepEqual(await py('wrong-pins', a.device, '3'), { statuses: [0x31, 0x32, 0x32], retries: 0 });
    assert.equal((await py('pin-token', a.device, '2468')).status, 0x32, 'the right PIN no longer helps');
    assert.equal(a.pinRetries(), 0);
    a.setPin('1357');
    assert.equal(a.pinRetries(), 8);
    assert.equal((await py('pin-token', a.device, '1357')).status, 0);
  });

  test('a U2F-only device is refused as CTAP2 and works through Ctap1', async () => {
    const a = await start({ u2fOnly: true });
    const r = await py('u2f', a.device);
    assert.equal(r.capabilities, 0x01, 'WINK only: no CBOR, U2F supported');
    assert.equal(r.ctap2, 'Device does not support CTAP2.');
    assert.equal(r.cborCall, 0x01, 'CTAPHID_CBOR → ERROR INVALID_CMD');
    assert.equal(r.version, 'U2F_V2');
    assert.ok(r.registerPolls >= 1, 'REGISTER answers 0x6985 until touched');
    assert.ok(r.authenticatePolls >= 1);
    assert.equal(r.userPresence, 1);
    assert.equal(r.counter, 1);
    assert.equal(r.checkOnly, 0x6985, 'check-only on a known handle');
    assert.equal(r.otherApp, 0x6a80, 'key handle bound to its app id');
    const cert = new X509Certificate(Buffer.from(r.certificate, 'base64'));
    assert.match(cert.subject, /OU=Authenticator Attestation/);
    assert.ok(cert.verify(cert.publicKey), 'self-signed attestation certificate');
  });

  test('selection (0x0B) waits for the touch', async () => {
    const a = await start({ touch: { kind: 'auto', delayMs: 150 } });
    const r = await py('selection', a.device);
    assert.deepEqual(r, { status: 0, keepalives: [2] });
    assert.equal(a.stats().selection, 1);
  });

  describe('libfido2 verifies what python-fido2 got from it', () => {
    test('fido2-cred -V accepts the packed self attestations (ES256, EdDSA) and fido2-assert -V the assertions', async () => {
      assert.ok(credentialsResult, 'needs the makeCredential test above');
      for (const c of credentialsResult.credentials) {
        const type = c.alg === -7 ? 'es256' : 'eddsa';
        const cred = { clientDataHash: c.clientDataHash, rpId: RP, authData: c.authData, credentialId: c.credentialId, sig: c.attSig };
        const withoutH = await fido2CredVerify(cred, [], type);
        assert.notEqual(withoutH.code, 0, 'libfido2 insists that the hmac-secret extension was asked for');
        const v = await fido2CredVerify(cred, ['-h'], type);
        assert.equal(v.code, 0, v.stderr);
        const [credId, ...pemLines] = v.stdout.trim().split('\n');
        assert.equal(credId, c.credentialId);
        const pem = pemLines.join('\n') + '\n';
        assert.ok(createPublicKey(pem).equals(createPublicKey(cosePem(c.cose))), 'libfido2 and Node read the same COSE key');
        for (const x of c.assertions) {
          const assertion = { clientDataHash: x.clientDataHash, rpId: RP, authData: x.authData, signature: x.signature };
          const ok = await fido2AssertVerify(assertion, cosePem(c.cose), type, ['-p']);
          assert.equal(ok.code, 0, ok.stderr);
          assert.notEqual((await fido2AssertVerify(assertion, cosePem(c.cose), type, ['-v'])).code, 0, 'no UV flag → -v fails');
          const badSig = Buffer.from(x.signature, 'base64');
          badSig[badSig.length - 5]! ^= 0x01;
          assert.notEqual((await fido2AssertVerify({ ...assertion, signature: badSig.toString('base64') }, cosePem(c.cose), type)).code, 0);
          assert.notEqual((await fido2AssertVerify({ ...assertion, rpId: 'other.example' }, cosePem(c.cose), type)).code, 0);
        }
      }
      const tampered = credentialsResult.credentials[0];
      const badAtt = Buffer.from(tampered.attSig, 'base64');
      badAtt[badAtt.length - 3]! ^= 0x01;
      const r = await fido2CredVerify({ clientDataHash: tampered.clientDataHash, rpId: RP, authData: tampered.authData, credentialId: tampered.credentialId, sig: badAtt.toString('base64') }, ['-h'], 'es256');
      assert.notEqual(r.code, 0);
    });

    test('fido2-assert -V -v accepts the PIN-token (UV) assertions of both protocols', async () => {
      assert.ok(pinResult, 'needs the ClientPin test above');
      for (const v of ['v1', 'v2']) {
        const u = pinResult.tokens[v].uvAssertion;
        const r = await fido2AssertVerify({ clientDataHash: u.clientDataHash, rpId: RP, authData: u.authData, signature: u.signature }, cosePem(u.cose), 'es256', ['-p', '-v']);
        assert.equal(r.code, 0, r.stderr);
      }
    });
  });
});

describe('libfido2 verifies what a raw CTAPHID host gets', () => {
  test('makeCredential/getAssertion over the socket → fido2-cred -V and fido2-assert -V (ES256 and EdDSA)', async () => {
    const a = await start({ touch: { kind: 'auto', delayMs: 0 } });
    const c = await TestHidClient.open(a.socketPath);
    for (const [alg, type] of [
      [-7, 'es256'],
      [-8, 'eddsa'],
    ] as const) {
      const cdh = randomBytes(32);
      const mc = await c.ctap(0x01, mcParams(cdh, { algs: [alg] }));
      assert.equal(mc.status, 0);
      assert.equal(mc.body.get(1), 'packed');
      const authData: Buffer = Buffer.from(mc.body.get(2));
      const att = mc.body.get(3);
      assert.equal(att.get('alg'), alg);
      assert.equal(att.has('x5c'), false, 'self attestation');
      const parsed = parseAuthData(authData);
      assert.ok(parsed.rpIdHash.equals(sha256(RP)));
      assert.equal(parsed.flags, 0x41);
      assert.equal(parsed.aaguid!.toString('hex'), 'cb69481e8ff7403993ec0a2729a154a8');
      const pem = cosePem(coseToJson(parsed.cose!));
      const sigOk = verifySignature(alg === -7 ? 'sha256' : null, Buffer.concat([authData, cdh]), pem, Buffer.from(att.get('sig')));
      assert.ok(sigOk, 'Node verifies the attestation signature too');

      const cred = await fido2CredVerify(
        { clientDataHash: cdh.toString('base64'), rpId: RP, authData: authData.toString('base64'), credentialId: parsed.credentialId!.toString('base64'), sig: Buffer.from(att.get('sig')).toString('base64') },
        [],
        type,
      );
      assert.equal(cred.code, 0, cred.stderr);
      assert.ok(createPublicKey(cred.stdout.trim().split('\n').slice(1).join('\n') + '\n').equals(createPublicKey(pem)));

      const gcdh = randomBytes(32);
      const ga = await c.ctap(0x02, gaParams(gcdh, parsed.credentialId));
      assert.equal(ga.status, 0);
      assert.ok(Buffer.from(ga.body.get(1).get('id')).equals(parsed.credentialId!));
      const gaAuth = Buffer.from(ga.body.get(2));
      assert.equal(parseAuthData(gaAuth).counter, 1);
      const sig = Buffer.from(ga.body.get(3));
      if (alg === -7) assert.equal(sig[0], 0x30, 'ES256 signature is DER');
      else assert.equal(sig.length, 64, 'EdDSA signature is raw');
      const r = await fido2AssertVerify({ clientDataHash: gcdh.toString('base64'), rpId: RP, authData: gaAuth.toString('base64'), signature: sig.toString('base64') }, pem, type, ['-p']);
      assert.equal(r.code, 0, r.stderr);
    }
    c.close();
  });
});

// ---------------------------------------------------------------------------------------------------

describe('CTAPHID framing', () => {
  let a: VirtualAuthenticator;
  before(async () => {
    a = await start({ touch: { kind: 'never' } });
  });

  test('INIT allocates fresh channels and reports version, firmware and capabilities', async () => {
    const c = await TestHidClient.connect(a.socketPath);
    const p1 = await c.init();
    const cid1 = c.cid;
    assert.equal(p1.length, 17);
    assert.deepEqual([...p1.subarray(12)], [2, 5, 4, 3, 0x05]);
    assert.notEqual(cid1, 0);
    assert.notEqual(cid1, BROADCAST);
    await c.init();
    assert.notEqual(c.cid, cid1, 'a second INIT on broadcast gives another channel');
    // INIT with a payload that is not 8 bytes
    c.sendReport(TestHidClient.initPacket(BROADCAST, HID.INIT, 4, randomBytes(4)));
    const m = await c.readMessage();
    assert.deepEqual([m.cmd, m.payload[0]], [HID.ERROR, 0x03]);
    c.close();
  });

  test('a 7609-byte PING is fragmented and echoed exactly; 7610 is INVALID_LEN', async () => {
    const c = await TestHidClient.open(a.socketPath);
    const data = randomBytes(7609);
    const frames = TestHidClient.frames(c.cid, HID.PING, data);
    assert.equal(frames.length, 129, 'one initialization packet and 128 continuations');
    for (const f of frames) c.sendReport(f);
    const m = await c.readResponse();
    assert.equal(m.cmd, HID.PING);
    assert.ok(m.payload.equals(data));
    c.sendReport(TestHidClient.initPacket(c.cid, HID.PING, 7610, data));
    const e = await c.readMessage();
    assert.deepEqual([e.cmd, e.payload[0]], [HID.ERROR, 0x03]);
    // zero-length PING
    const z = await c.request(HID.PING);
    assert.deepEqual([z.cmd, z.payload.length], [HID.PING, 0]);
    c.close();
  });

  test('interleaved channels: a second channel is busy while the first is mid-message; channels belong to the device', async () => {
    const c1 = await TestHidClient.open(a.socketPath);
    const c2 = await TestHidClient.open(a.socketPath);
    const data = randomBytes(300);
    const frames = TestHidClient.frames(c1.cid, HID.PING, data);
    c1.sendReport(frames[0]!);
    c1.sendReport(frames[1]!);
    const busy = await c2.request(HID.PING, Buffer.from('hi'));
    assert.deepEqual([busy.cmd, busy.payload[0]], [HID.ERROR, 0x06]);
    for (const f of frames.slice(2)) c1.sendReport(f);
    const echo = await c1.readResponse();
    assert.ok(echo.payload.equals(data));
    const ok = await c2.request(HID.PING, Buffer.from('hi'));
    assert.equal(ok.payload.toString(), 'hi');
    // c1's channel used from c2's connection: the answer goes where the request came from.
    c2.send(HID.PING, Buffer.from('borrowed'), c1.cid);
    const borrowed = await c2.readResponse();
    assert.deepEqual([borrowed.cid, borrowed.payload.toString()], [c1.cid, 'borrowed']);
    assert.equal(await c1.nextReport(100), undefined);
    c1.close();
    c2.close();
  });

  test('busy device: other channels get CHANNEL_BUSY while a request waits for a touch, INIT still works; CANCEL ends it with 0x2D', async () => {
    const c1 = await TestHidClient.open(a.socketPath);
    const c2 = await TestHidClient.open(a.socketPath);
    const before = a.stats();
    c1.send(HID.CBOR, Buffer.concat([Buffer.from([0x01]), cborEncode(mcParams(randomBytes(32)))]));
    await waitForKeepalive(c1);
    const busy = await c2.request(HID.PING, Buffer.from('x'));
    assert.deepEqual([busy.cmd, busy.payload[0]], [HID.ERROR, 0x06]);
    const busyCbor = await c2.request(HID.CBOR, Buffer.from([0x04]));
    assert.deepEqual([busyCbor.cmd, busyCbor.payload[0]], [HID.ERROR, 0x06]);
    const c3 = await TestHidClient.open(a.socketPath); // channel allocation is not blocked
    assert.notEqual(c3.cid, c1.cid);
    // CANCEL from another channel does nothing
    c2.send(HID.CANCEL);
    assert.equal(await c2.nextReport(150), undefined, 'CANCEL has no response');
    c1.send(HID.CANCEL);
    const r = await c1.readResponse();
    assert.deepEqual([r.cmd, r.payload.length, r.payload[0]], [HID.CBOR, 1, 0x2d]);
    assert.equal(a.stats().cancels - before.cancels, 2);
    assert.equal(a.stats().makeCredential - before.makeCredential, 1);
    const ok = await c2.request(HID.PING, Buffer.from('free'));
    assert.equal(ok.payload.toString(), 'free');
    for (const c of [c1, c2, c3]) c.close();
  });

  test('INIT on an allocated channel resynchronises it (mid-message and mid-request)', async () => {
    const c = await TestHidClient.open(a.socketPath);
    const cid = c.cid;
    const frames = TestHidClient.frames(cid, HID.PING, randomBytes(200));
    c.sendReport(frames[0]!);
    const nonce = randomBytes(8);
    c.send(HID.INIT, nonce, cid);
    const init = await c.readMessage();
    assert.equal(init.cmd, HID.INIT);
    assert.equal(init.cid, cid);
    assert.ok(init.payload.subarray(0, 8).equals(nonce));
    assert.equal(init.payload.readUInt32BE(8), cid, 'same channel');
    c.sendReport(frames[1]!); // a leftover continuation is ignored
    assert.equal(await c.nextReport(150), undefined);
    // A pending CBOR request is dropped without an answer.
    c.send(HID.CBOR, Buffer.concat([Buffer.from([0x01]), cborEncode(mcParams(randomBytes(32)))]));
    await waitForKeepalive(c);
    c.send(HID.INIT, randomBytes(8), cid);
    const init2 = await c.readResponse();
    assert.equal(init2.cmd, HID.INIT);
    const ping = await c.request(HID.PING, Buffer.from('after'));
    assert.deepEqual([ping.cmd, ping.payload.toString()], [HID.PING, 'after']);
    assert.equal(await c.nextReport(250), undefined, 'no late response or keepalive for the dropped request');
    c.close();
  });

  test('MSG_TIMEOUT when a continuation does not arrive within ~500 ms; INVALID_SEQ on a wrong sequence number', async () => {
    const c = await TestHidClient.open(a.socketPath);
    const frames = TestHidClient.frames(c.cid, HID.PING, randomBytes(100));
    const t0 = Date.now();
    c.sendReport(frames[0]!);
    const m = await c.readMessage(3000);
    const elapsed = Date.now() - t0;
    assert.deepEqual([m.cmd, m.payload[0]], [HID.ERROR, 0x05]);
    assert.ok(elapsed >= 450 && elapsed < 1500, `timeout after ${elapsed} ms`);

    const data = randomBytes(200);
    const f = TestHidClient.frames(c.cid, HID.PING, data);
    c.sendReport(f[0]!);
    c.sendReport(TestHidClient.contPacket(c.cid, 1, data.subarray(57)));
    const e = await c.readMessage();
    assert.deepEqual([e.cmd, e.payload[0]], [HID.ERROR, 0x04]);
    const ok = await c.request(HID.PING, Buffer.from('ok'));
    assert.equal(ok.payload.toString(), 'ok');
    c.close();
  });

  test('INVALID_CHANNEL, INVALID_CMD, INVALID_PAR, INVALID_LEN; WINK and LOCK', async () => {
    const c = await TestHidClient.open(a.socketPath);
    const other = await TestHidClient.open(a.socketPath);
    const expectError = async (cid: number, cmd: number, payload: Buffer, code: number): Promise<void> => {
      c.send(cmd, payload, cid);
      const m = await c.readMessage();
      assert.deepEqual([m.cid, m.cmd, m.payload[0]], [cid, HID.ERROR, code], `cmd 0x${cmd.toString(16)} on 0x${cid.toString(16)}`);
    };
    await expectError(0x12345678, HID.PING, Buffer.from('x'), 0x0b);
    await expectError(BROADCAST, HID.PING, Buffer.from('x'), 0x0b);
    await expectError(0, HID.PING, Buffer.from('x'), 0x0b);
    await expectError(c.cid, 0x40, Buffer.alloc(0), 0x01);
    await expectError(c.cid, HID.CBOR, Buffer.alloc(0), 0x03);
    await expectError(c.cid, HID.LOCK, Buffer.from([11]), 0x02);
    await expectError(c.cid, HID.LOCK, Buffer.from([1, 2]), 0x03);
    const wink = await c.request(HID.WINK);
    assert.deepEqual([wink.cmd, wink.payload.length], [HID.WINK, 0]);
    const lock = await c.request(HID.LOCK, Buffer.from([5]));
    assert.equal(lock.cmd, HID.LOCK);
    const locked = await other.request(HID.PING, Buffer.from('x'));
    assert.deepEqual([locked.cmd, locked.payload[0]], [HID.ERROR, 0x06]);
    assert.equal((await c.request(HID.PING, Buffer.from('mine'))).payload.toString(), 'mine');
    await c.request(HID.LOCK, Buffer.from([0]));
    assert.equal((await other.request(HID.PING, Buffer.from('x'))).cmd, HID.PING);
    // U2F through CTAPHID_MSG: VERSION
    const version = await c.request(HID.MSG, Buffer.from('00030000000000' + '0000', 'hex'));
    assert.equal(version.payload.toString('hex'), Buffer.from('U2F_V2').toString('hex') + '9000');
    c.close();
    other.close();
  });

  test('without U2F_V2 the NMSG capability is set and MSG is refused; FIDO_2_0-only has no 2.1 features', async () => {
    const b = await start({ versions: ['FIDO_2_0'] });
    const c = await TestHidClient.open(b.socketPath);
    assert.equal(c.capabilities, 0x01 | 0x04 | 0x08);
    const msg = await c.request(HID.MSG, Buffer.from('000300000000000000', 'hex'));
    assert.deepEqual([msg.cmd, msg.payload[0]], [HID.ERROR, 0x01]);
    const info = await c.ctap(0x04);
    assert.deepEqual([...info.body.get(4).keys()], ['rk', 'up', 'plat', 'clientPin']);
    assert.deepEqual(info.body.get(2), ['hmac-secret']);
    assert.equal((await c.ctap(0x0b)).status, 0x01, 'no authenticatorSelection on 2.0');
    c.close();
  });

  test('a connection closed mid-request cancels it: the device is free at once', async () => {
    const c1 = await TestHidClient.open(a.socketPath);
    const c2 = await TestHidClient.open(a.socketPath);
    c1.send(HID.CBOR, Buffer.concat([Buffer.from([0x01]), cborEncode(mcParams(randomBytes(32)))]));
    await waitForKeepalive(c1);
    c1.close();
    await sleep(50);
    const ok = await c2.request(HID.PING, Buffer.from('free'));
    assert.deepEqual([ok.cmd, ok.payload.toString()], [HID.PING, 'free']);
    c2.close();
  });
});

describe('CTAP2 request validation', () => {
  let a: VirtualAuthenticator;
  let c: TestHidClient;
  before(async () => {
    a = await start({ touch: { kind: 'never' } });
    c = await TestHidClient.open(a.socketPath);
  });
  after(() => c.close());

  const raw = async (hex: string): Promise<number> => {
    const m = await c.request(HID.CBOR, Buffer.from(hex, 'hex'));
    assert.equal(m.cmd, HID.CBOR);
    return m.payload[0]!;
  };
  const mcPrefix = (): string => cborEncode(mcParams(Buffer.alloc(32))).toString('hex');

  test('malformed or non-canonical CBOR → INVALID_CBOR (0x12)', async () => {
    assert.equal(await raw('01a101'), 0x12, 'truncated');
    assert.equal(await raw('01' + mcPrefix() + '00'), 0x12, 'trailing byte');
    assert.equal(await raw('01a2025820' + '00'.repeat(32) + '0101'), 0x12, 'keys out of order');
    assert.equal(await raw('01a201010101'), 0x12, 'duplicate key');
    assert.equal(await raw('01a1180101'), 0x12, 'integer not in shortest form');
    assert.equal(await raw('01bf0101ff'), 0x12, 'indefinite-length map');
    assert.equal(await raw('01a101c24101'), 0x12, 'tag');
    assert.equal(await raw('01a101f93c00'), 0x12, 'float');
    assert.equal(await raw('01a10162c328'), 0x12, 'invalid UTF-8');
    assert.equal(await raw('01a10178020102'), 0x12, 'text length in a longer head than needed');
  });

  test('wrong types → 0x11, missing parameters → 0x14, too large → 0x39, unknown command → 0x01', async () => {
    assert.equal(await raw('0182' + '0102'), 0x11, 'top level is not a map');
    const m = mcParams(Buffer.alloc(32));
    m.set(1, 'not bytes');
    assert.equal(await raw('01' + cborEncode(m).toString('hex')), 0x11);
    const missing = mcParams(Buffer.alloc(32));
    missing.delete(2);
    assert.equal(await raw('01' + cborEncode(missing).toString('hex')), 0x14);
    const noAlg = mcParams(Buffer.alloc(32));
    noAlg.set(4, [{ type: 'public-key' }]);
    assert.equal(await raw('01' + cborEncode(noAlg).toString('hex')), 0x14);
    assert.equal(await raw('02a1015820' + '00'.repeat(32)), 0x11, 'getAssertion rpId must be text');
    assert.equal(await raw('02a1016b6578616d706c652e636f6d'), 0x14, 'getAssertion without clientDataHash');
    const big = mcParams(Buffer.alloc(32));
    big.set(3, { id: Buffer.from('u'), name: 'x'.repeat(1300) });
    assert.equal(await raw('01' + cborEncode(big).toString('hex')), 0x39, 'REQUEST_TOO_LARGE above maxMsgSize');
    assert.equal(await raw('55'), 0x01);
    assert.equal(await raw('07'), 0x30, 'reset is not allowed this long after power-up');
    assert.equal(await raw('06a2010302' + '02'), 0x02, 'clientPIN with protocol 3');
    assert.equal(await raw('06a201020208'), 0x3e, 'clientPIN unknown subcommand');
    assert.equal(a.stats().touches, 0, 'none of this waited for a touch');
  });

  test('getNextAssertion without a preceding getAssertion → NOT_ALLOWED', async () => {
    assert.equal(await raw('08'), 0x30);
  });
});

describe('touch modes', () => {
  test('auto: the touch comes after delayMs, with UPNEEDED keepalives meanwhile', async () => {
    const a = await start({ touch: { kind: 'auto', delayMs: 350 } });
    const c = await TestHidClient.open(a.socketPath);
    const t0 = Date.now();
    const r = await c.ctap(0x01, mcParams(randomBytes(32)));
    const elapsed = Date.now() - t0;
    assert.equal(r.status, 0);
    assert.ok(elapsed >= 340, `took ${elapsed} ms`);
    assert.ok(c.keepalives.length >= 3, `keepalives: ${c.keepalives.length}`);
    assert.ok(c.keepalives.every((s) => s === 0x02));
    assert.equal(a.stats().touches, 1);
    assert.ok(a.stats().keepalivesSent >= 3);
    c.close();
  });

  test('deny: OPERATION_DENIED (0x27) after delayMs, for makeCredential, getAssertion and selection', async () => {
    const a = await start({ touch: { kind: 'auto', delayMs: 0 } });
    const c = await TestHidClient.open(a.socketPath);
    const mc = await c.ctap(0x01, mcParams(randomBytes(32)));
    const credId = parseAuthData(Buffer.from(mc.body.get(2))).credentialId!;
    a.setTouch({ kind: 'deny', delayMs: 120 });
    const t0 = Date.now();
    assert.equal((await c.ctap(0x01, mcParams(randomBytes(32)))).status, 0x27);
    assert.ok(Date.now() - t0 >= 110);
    assert.equal((await c.ctap(0x02, gaParams(randomBytes(32), credId))).status, 0x27);
    assert.equal((await c.ctap(0x0b)).status, 0x27);
    // An up:false probe needs no touch, so it is not denied.
    const probe = await c.ctap(0x02, gaParams(randomBytes(32), credId, false));
    assert.equal(probe.status, 0);
    assert.equal(parseAuthData(Buffer.from(probe.body.get(2))).flags & 0x01, 0);
    assert.equal(a.stats().touches, 1);
    c.close();
  });

  test('never: keepalives until USER_ACTION_TIMEOUT (0x2F); a touch can be given later with setTouch', async () => {
    const a = await start({ touch: { kind: 'never' }, userActionTimeoutMs: 600 });
    const c = await TestHidClient.open(a.socketPath);
    const t0 = Date.now();
    const r = await c.ctap(0x0b);
    const elapsed = Date.now() - t0;
    assert.equal(r.status, 0x2f);
    assert.ok(elapsed >= 580 && elapsed < 2000, `timed out after ${elapsed} ms`);
    assert.ok(c.keepalives.length >= 5, `keepalives every ~100 ms: ${c.keepalives.length}`);

    c.send(HID.CBOR, Buffer.concat([Buffer.from([0x01]), cborEncode(mcParams(randomBytes(32)))]));
    await waitForKeepalive(c);
    a.setTouch({ kind: 'auto', delayMs: 0 });
    const done = await c.readResponse();
    assert.deepEqual([done.cmd, done.payload[0]], [HID.CBOR, 0x00]);
    assert.equal(a.stats().touches, 1);
    c.close();
  });

  test('selection: touched → 0x00; cancelled → 0x2D', async () => {
    const a = await start({ touch: { kind: 'auto', delayMs: 30 } });
    const c = await TestHidClient.open(a.socketPath);
    assert.equal((await c.ctap(0x0b)).status, 0);
    a.setTouch({ kind: 'never' });
    c.send(HID.CBOR, Buffer.from([0x0b]));
    await waitForKeepalive(c);
    c.send(HID.CANCEL);
    const r = await c.readResponse();
    assert.deepEqual([r.cmd, r.payload[0]], [HID.CBOR, 0x2d]);
    assert.equal(a.stats().selection, 2);
    assert.equal(a.stats().cancels, 1);
    c.close();
  });

  test('unplug: every connection closes afterMs into a touch wait; the device can be opened again, with new channels', async () => {
    const a = await start({ touch: { kind: 'unplug', afterMs: 200 } });
    const c1 = await TestHidClient.open(a.socketPath);
    const c2 = await TestHidClient.open(a.socketPath);
    const t0 = Date.now();
    c1.send(HID.CBOR, Buffer.from([0x0b]));
    await Promise.all([c1.closedPromise(), c2.closedPromise()]);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 190 && elapsed < 2000, `unplugged after ${elapsed} ms`);
    await assert.rejects(c1.readResponse(500), /connection closed/);
    const c3 = await TestHidClient.open(a.socketPath);
    const again = await c3.request(HID.PING, Buffer.from('x'));
    assert.deepEqual([again.cmd, again.payload.toString()], [HID.PING, 'x'], 'the replugged device answers');
    c3.send(HID.PING, Buffer.from('old channel'), c1.cid);
    const m = await c3.readMessage();
    assert.deepEqual([m.cmd, m.payload[0]], [HID.ERROR, 0x0b], 'channels did not survive the unplug');
    c3.close();
  });
});

describe('API and standalone use', () => {
  test('credentials(), stats(), hmacSecret:false', async () => {
    const a = await start({ touch: { kind: 'auto', delayMs: 0 }, hmacSecret: false });
    const c = await TestHidClient.open(a.socketPath);
    const mc = await c.ctap(0x01, mcParams(randomBytes(32), { hmac: true, algs: [-8, -7] }));
    assert.equal(mc.status, 0);
    const parsed = parseAuthData(Buffer.from(mc.body.get(2)));
    assert.equal(parsed.flags & 0x80, 0, 'hmac-secret ignored when not supported');
    assert.equal(parsed.cose!.get(3), -8);
    for (let i = 0; i < 3; i++) assert.equal((await c.ctap(0x02, gaParams(randomBytes(32), parsed.credentialId))).status, 0);
    assert.deepEqual(a.credentials(), [{ credentialId: parsed.credentialId!.toString('base64url'), rpId: RP, alg: -8, signCount: 3 }]);
    const s = a.stats();
    assert.deepEqual({ mc: s.makeCredential, ga: s.getAssertion, touches: s.touches }, { mc: 1, ga: 3, touches: 4 });
    // excludeList hit: a touch, then CREDENTIAL_EXCLUDED
    assert.equal((await c.ctap(0x01, mcParams(randomBytes(32), { exclude: [parsed.credentialId!] }))).status, 0x19);
    assert.equal(a.stats().touches, 5);
    c.close();
  });

  test('credProtect: echoed in authData; level 3 needs UV, level 2 keeps a discoverable credential out of list-less requests without UV', async () => {
    const a = await start({ touch: { kind: 'auto', delayMs: 0 } });
    const c = await TestHidClient.open(a.socketPath);
    const mc3 = await c.ctap(0x01, mcParams(randomBytes(32), { credProtect: 3, hmac: true }));
    assert.equal(mc3.status, 0);
    const p3 = parseAuthData(Buffer.from(mc3.body.get(2)));
    assert.deepEqual([...p3.extensions!.entries()], [
      ['credProtect', 3],
      ['hmac-secret', true],
    ]);
    assert.equal((await c.ctap(0x02, gaParams(randomBytes(32), p3.credentialId))).status, 0x2e, 'userVerificationRequired without UV');

    const mc2 = await c.ctap(0x01, mcParams(randomBytes(32), { credProtect: 2, rk: true, userId: Buffer.from('protected') }));
    const p2 = parseAuthData(Buffer.from(mc2.body.get(2)));
    assert.deepEqual([...p2.extensions!.entries()], [['credProtect', 2]]);
    assert.equal((await c.ctap(0x02, gaParams(randomBytes(32)))).status, 0x2e, 'not discoverable without UV');
    const ga = await c.ctap(0x02, gaParams(randomBytes(32), p2.credentialId));
    assert.equal(ga.status, 0, 'but usable with its credential ID');
    assert.deepEqual([...ga.body.get(4).entries()], [['id', Buffer.from('protected')]], 'user id only, no name without UV');
    assert.equal((await c.ctap(0x01, mcParams(randomBytes(32), { credProtect: 4 }))).status, 0x02);
    c.close();
  });

  test('standalone: prints the unix: device, serves until SIGINT, persists credentials and PIN with --state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tng-authn-cli-'));
    const socket = join(dir, 'key.sock');
    const state = join(dir, 'state.json');
    const startCli = async (args: string[]): Promise<{ stop: () => Promise<number | null>; device: string }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(AUTHN_DIR, 'index.ts'), '--socket', socket, '--state', state, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      const device = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      return {
        device,
        stop: () =>
          new Promise((resolve) => {
            child.once('exit', (code) => resolve(code));
            child.kill('SIGINT');
          }),
      };
    };
    try {
      const first = await startCli(['--pin', '1234', '--touch', 'auto', '--touch-delay', '0']);
      assert.equal(first.device, `unix:${socket}`);
      let c = await TestHidClient.open(socket);
      const mc = await c.ctap(0x01, mcParams(randomBytes(32)));
      assert.equal(mc.status, 0, 'non-discoverable credential without a token (makeCredUvNotRqd)');
      const credId = parseAuthData(Buffer.from(mc.body.get(2))).credentialId!;
      const ga1 = await c.ctap(0x02, gaParams(randomBytes(32), credId));
      assert.equal(parseAuthData(Buffer.from(ga1.body.get(2))).counter, 1);
      c.close();
      assert.equal(await first.stop(), 0);
      assert.equal(statSync(state).mode & 0o777, 0o600);
      const saved = JSON.parse(readFileSync(state, 'utf8'));
      assert.equal(saved.version, 1);
      assert.equal(saved.pin.retries, 8);

      const second = await startCli(['--touch', 'auto', '--touch-delay', '0']);
      c = await TestHidClient.open(socket);
      const info = await c.ctap(0x04);
      assert.equal(info.body.get(4).get('clientPin'), true, 'the PIN survived the restart');
      const gcdh = randomBytes(32);
      const ga2 = await c.ctap(0x02, gaParams(gcdh, credId));
      assert.equal(ga2.status, 0, 'the credential survived the restart');
      const ad = Buffer.from(ga2.body.get(2));
      assert.equal(parseAuthData(ad).counter, 2, 'and so did its counter');
      c.close();
      assert.equal(await second.stop(), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The client over scripted channels: each test answers CTAP2 requests itself (a few lines per command,
 * with just enough crypto for PIN tokens and hmac-secret), so device choice, PIN prompting, retries,
 * cancellation and error translation can be checked without hardware.
 */
import assert from 'node:assert/strict';
import { createECDH, createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { type ClientChannel, type TouchPrompts, createFido2Client } from '../../../src/fido2/client.ts';
import { type CborMap, decodeCbor, encodeCbor } from '../../../src/fido2/ctap2/cbor.ts';
import type { CborCallOptions } from '../../../src/fido2/ctap2/commands.ts';
import { PinProtocolV2 } from '../../../src/fido2/ctap2/pin.ts';
import { fidoError, interruptedError } from '../../../src/fido2/errors.ts';
import type { OpenedDevice } from '../../../src/fido2/hid/devices.ts';
import { concatBytes } from '../../../src/fido2/util.ts';
import { ScriptedDevice, hex, rejectsWith, toHex } from './helpers.ts';

const YUBIKEY_AAGUID = hex('ee882879721c491397753dfcce97072a');
const OTHER_AAGUID = hex('00112233445566778899aabbccddeeff');
const RP = 'tng.example';
const CDH = createHash('sha256').update('challenge').digest();
const CRED = hex('c0ffee00c0ffee00c0ffee00c0ffee00');
const SALT = new Uint8Array(32).fill(0x5a);

type Handler = (command: number, params: CborMap, options: CborCallOptions) => Uint8Array | Promise<Uint8Array>;

class FakeChannel implements ClientChannel {
  readonly requests: { command: number; params: CborMap }[] = [];
  closed = false;
  constructor(
    private readonly handler: Handler,
    readonly supportsCbor = true,
  ) {}
  async cbor(request: Uint8Array, options: CborCallOptions = {}): Promise<Uint8Array> {
    const params = request.length > 1 ? (decodeCbor(request.subarray(1)) as CborMap) : new Map();
    this.requests.push({ command: request[0] as number, params });
    if (options.signal?.aborted) throw interruptedError();
    return this.handler(request[0] as number, params, options);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  sent(command: number) {
    return this.requests.filter((r) => r.command === command).map((r) => r.params);
  }
}

const ok = (map?: Map<unknown, unknown> | Record<string, unknown>) => concatBytes(new Uint8Array([0]), map ? encodeCbor(map) : new Uint8Array(0));
const status = (s: number) => new Uint8Array([s]);

function infoMap(o: { aaguid?: Uint8Array; options?: Record<string, boolean>; extensions?: string[]; versions?: string[]; extra?: [number, unknown][] } = {}) {
  return new Map<number, unknown>([
    [1, o.versions ?? ['FIDO_2_0', 'FIDO_2_1']],
    [2, o.extensions ?? ['credProtect', 'hmac-secret']],
    [3, o.aaguid ?? YUBIKEY_AAGUID],
    [4, new Map(Object.entries(o.options ?? { rk: true, up: true, clientPin: false }))],
    [6, [2, 1]],
    ...(o.extra ?? []),
  ]);
}

function authData(rpId: string, flags: number, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = new Uint8Array(37);
  head.set(createHash('sha256').update(rpId).digest());
  head[32] = flags;
  new DataView(head.buffer).setUint32(33, 42);
  return concatBytes(head, extra);
}

const prompts = (pins: string[] = []) => {
  const log: string[] = [];
  const p: TouchPrompts = {
    touch: (name) => log.push(`touch:${name}`),
    pin: async (retries, name) => {
      log.push(`pin:${retries}:${name}`);
      const pin = pins.shift();
      if (pin === undefined) throw new Error('no PIN left in the test');
      return pin;
    },
    selectDevice: (count) => log.push(`select:${count}`),
    insert: () => log.push('insert'),
  };
  return { prompts: p, log };
};

const device = (name: string): OpenedDevice => ({ name, path: name, device: new ScriptedDevice() });

/** A client whose devices are fake channels. */
function clientWith(channels: FakeChannel[], extra: Parameters<typeof createFido2Client>[0] = {}) {
  const devices = channels.map((_, i) => device(`dev${i}`));
  return createFido2Client({
    openDevices: async () => devices,
    openChannel: async (d) => channels[devices.indexOf(d)] as FakeChannel,
    ...extra,
  });
}

/** Device-side key agreement (protocol 2) for PIN tokens and hmac-secret. */
function keyAgreementPeer() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const point = ecdh.getPublicKey();
  const cose = new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, point.subarray(1, 33)], [-3, point.subarray(33)]]);
  const v2 = new PinProtocolV2();
  const secret = (platform: CborMap) =>
    v2.kdf(new Uint8Array(ecdh.computeSecret(Buffer.concat([Buffer.from([4]), platform.get(-2) as Uint8Array, platform.get(-3) as Uint8Array]))));
  return { cose, v2, secret };
}

describe('Fido2Client.open', () => {
  it('fails at once with fido2.none-found (exit 5) when no authenticator is present', async () => {
    let slept = 0;
    const client = createFido2Client({ openDevices: async () => [], sleep: async () => void slept++ });
    const error = await rejectsWith(client.open({ prompts: prompts().prompts }), 'fido2.none-found', 'authenticator');
    assert.equal(error.exitCode, 5);
    assert.equal(slept, 0);
  });

  it('with waitForDeviceMs polls discovery until a device appears, announcing the wait once', async () => {
    let calls = 0;
    const channel = new FakeChannel(() => ok(infoMap()));
    const dev = device('key');
    const p = prompts();
    let clock = 0;
    const client = createFido2Client({
      openDevices: async () => (++calls < 3 ? [] : [dev]),
      openChannel: async () => channel,
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
      pollMs: 250,
    });
    const auth = await client.open({ prompts: p.prompts, waitForDeviceMs: 30_000 });
    assert.equal(calls, 3);
    assert.deepEqual(p.log, ['insert']);
    assert.equal(auth.name, 'YubiKey 5 Series');
    assert.equal(auth.aaguid, 'ee882879-721c-4913-9775-3dfcce97072a');
    assert.equal(auth.supportsHmacSecret, true);
    assert.equal(auth.hasPin, false);
  });

  it('with waitForDeviceMs gives up after the deadline, and an abort while waiting is interrupted (130)', async () => {
    let clock = 0;
    const waiting = createFido2Client({ openDevices: async () => [], now: () => clock, sleep: async (ms) => void (clock += ms) });
    await rejectsWith(waiting.open({ prompts: prompts().prompts, waitForDeviceMs: 1000 }), 'fido2.none-found');
    assert.ok(clock >= 1000);
    const controller = new AbortController();
    const aborting = createFido2Client({ openDevices: async () => [], pollMs: 10 });
    setTimeout(() => controller.abort(), 30);
    const error = await rejectsWith(
      aborting.open({ prompts: prompts().prompts, waitForDeviceMs: 60_000, signal: controller.signal }),
      'fido2.interrupted',
      'interrupted',
    );
    assert.equal(error.exitCode, 130);
  });

  it('refuses U2F-only keys (no CBOR capability, or CTAPHID_CBOR refused) and closes them', async () => {
    const noCbor = new FakeChannel(() => ok(infoMap()), false);
    await rejectsWith(clientWith([noCbor]).open({ prompts: prompts().prompts }), 'fido2.u2f-only');
    assert.equal(noCbor.closed, true);
    assert.equal(noCbor.requests.length, 0);
    const refusing = new FakeChannel(() => status(0x01));
    const error = await rejectsWith(clientWith([refusing]).open({ prompts: prompts().prompts }), 'fido2.u2f-only');
    assert.match(error.hint, /only U2F.*hmac-secret/);
  });

  it('names unknown models by AAGUID', async () => {
    const auth = await clientWith([new FakeChannel(() => ok(infoMap({ aaguid: OTHER_AAGUID })))]).open({ prompts: prompts().prompts });
    assert.equal(auth.name, 'FIDO2 authenticator 00112233-4455-6677-8899-aabbccddeeff');
  });

  it('with several keys runs selection on all: the first touched wins, the others are cancelled and closed', async () => {
    const slow = new FakeChannel((command, _p, options) => {
      if (command === 0x04) return ok(infoMap());
      return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(interruptedError())));
    });
    const touched = new FakeChannel(async (command) => {
      if (command === 0x04) return ok(infoMap({ aaguid: OTHER_AAGUID }));
      await new Promise((r) => setTimeout(r, 20));
      return ok();
    });
    const legacy = new FakeChannel((command, _p, options) => {
      if (command === 0x04) return ok(infoMap({ versions: ['FIDO_2_0'] }));
      return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(interruptedError())));
    });
    const p = prompts();
    const auth = await clientWith([slow, touched, legacy]).open({ prompts: p.prompts });
    assert.match(auth.name, /00112233/);
    assert.deepEqual(p.log, ['select:3']);
    assert.equal(slow.closed, true);
    assert.equal(legacy.closed, true);
    assert.equal(touched.closed, false);
    assert.deepEqual(slow.requests.map((r) => r.command), [0x04, 0x0b]);
    // The CTAP 2.0 key got the makeCredential emulation with a zero-length pinUvAuthParam.
    assert.deepEqual(legacy.sent(0x01)[0]?.get(8), new Uint8Array(0));
  });

  it('openAll returns every key with no touch; select then runs selection among them; needsPin is uv required without built-in UV', async () => {
    const pinKey = new FakeChannel((command) => (command === 0x04 ? ok(infoMap({ options: { up: true, clientPin: true } })) : ok()));
    const bioKey = new FakeChannel((command) => (command === 0x04 ? ok(infoMap({ aaguid: OTHER_AAGUID, options: { up: true, uv: true, clientPin: true } })) : ok()));
    const p = prompts();
    const client = clientWith([pinKey, bioKey]);
    const all = await client.openAll({ prompts: p.prompts });
    assert.equal(all.length, 2);
    assert.deepEqual(p.log, [], 'no selection asked');
    assert.deepEqual([...pinKey.requests, ...bioKey.requests].map((r) => r.command), [0x04, 0x04], 'only getInfo');
    assert.deepEqual(all.map((a) => [a.needsPin('required'), a.needsPin('discouraged')]), [[true, false], [false, false]]);
    const chosen = await client.select(all, { prompts: p.prompts });
    assert.deepEqual(p.log, ['select:2']);
    assert.equal(chosen, all[0], 'the first to answer selection');
    assert.ok(bioKey.closed && !pinKey.closed);
    await assert.rejects(client.select([{ ...chosen }], { prompts: p.prompts }), TypeError, 'only authenticators this client opened');
  });

  it('when no key is touched in time, selection ends with fido2.touch-timeout', async () => {
    const timeout = (command: number) => (command === 0x04 ? ok(infoMap()) : Promise.reject(fidoError('fido2.timeout', 'no answer')));
    const a = new FakeChannel(timeout);
    const b = new FakeChannel(timeout);
    await rejectsWith(clientWith([a, b]).open({ prompts: prompts().prompts }), 'fido2.touch-timeout', 'authenticator');
    assert.ok(a.closed && b.closed);
  });

  it('an abort during selection is interrupted', async () => {
    const waitForever: Handler = (command, _p, options) =>
      command === 0x04 ? ok(infoMap()) : new Promise((_r, reject) => options.signal?.addEventListener('abort', () => reject(interruptedError())));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await rejectsWith(
      clientWith([new FakeChannel(waitForever), new FakeChannel(waitForever)]).open({ prompts: prompts().prompts, signal: controller.signal }),
      'fido2.interrupted',
      'interrupted',
    );
  });
});

describe('Authenticator.makeCredential', () => {
  const credentialKey = new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, hex('643566c206dd00227005fa5de69320616ca268043a38f08bde2e9dc45a5cafaf')], [-3, hex('171353b2932434703726aae579fa6542432861fe591e481ea22d63997e1a5290')]]);
  const attested = (hmacSecret: boolean) =>
    concatBytes(YUBIKEY_AAGUID, new Uint8Array([0, CRED.length]), CRED, encodeCbor(credentialKey), encodeCbor({ 'hmac-secret': hmacSecret }));

  it('asks for hmac-secret with ES256 then EdDSA, prompts for the touch once, and returns the credential', async () => {
    const channel = new FakeChannel((command, _params, options) => {
      if (command === 0x04) return ok(infoMap());
      options.onKeepalive?.(1);
      options.onKeepalive?.(2);
      options.onKeepalive?.(2);
      return ok(new Map<number, unknown>([[1, 'none'], [2, authData(RP, 0xc1, attested(true))], [3, new Map()]]));
    });
    const p = prompts();
    const auth = await clientWith([channel]).open({ prompts: p.prompts });
    const made = await auth.makeCredential({ rpId: RP, rpName: 'tng', userId: new Uint8Array([1, 2]), userName: 'alice', clientDataHash: CDH, uv: 'discouraged' });
    assert.deepEqual(made.credentialId, CRED);
    assert.equal(made.alg, -7);
    assert.deepEqual(decodeCbor(made.publicKey), credentialKey);
    assert.equal(made.aaguid, 'ee882879-721c-4913-9775-3dfcce97072a');
    assert.equal(made.attestation.fmt, 'none');
    assert.deepEqual(p.log, ['touch:YubiKey 5 Series']);
    const sent = channel.sent(0x01)[0] as CborMap;
    assert.deepEqual(sent.get(2), new Map([['id', RP], ['name', 'tng']]));
    assert.deepEqual((sent.get(4) as CborMap[]).map((m) => m.get('alg')), [-7, -8]);
    assert.deepEqual(sent.get(6), new Map([['hmac-secret', true]]));
    assert.equal(sent.has(8), false);
  });

  it('uv discouraged on a key with a PIN (and no makeCredUvNotRqd) is fido2.pin-required before any request', async () => {
    const channel = new FakeChannel(() => ok(infoMap({ options: { clientPin: true } })));
    const auth = await clientWith([channel]).open({ prompts: prompts().prompts });
    await rejectsWith(auth.makeCredential({ rpId: RP, userId: new Uint8Array([1]), userName: 'a', clientDataHash: CDH, uv: 'discouraged' }), 'fido2.pin-required');
    assert.equal(channel.sent(0x01).length, 0);
  });

  it('a key without hmac-secret, or a credential made without it, is fido2.no-hmac-secret', async () => {
    const plain = await clientWith([new FakeChannel(() => ok(infoMap({ extensions: ['credProtect'] })))]).open({ prompts: prompts().prompts });
    assert.equal(plain.supportsHmacSecret, false);
    await rejectsWith(plain.makeCredential({ rpId: RP, userId: new Uint8Array([1]), userName: 'a', clientDataHash: CDH, uv: 'discouraged' }), 'fido2.no-hmac-secret');
    const forgetful = await clientWith([
      new FakeChannel((c) => (c === 0x04 ? ok(infoMap()) : ok(new Map<number, unknown>([[1, 'none'], [2, authData(RP, 0xc1, attested(false))], [3, new Map()]])))),
    ]).open({ prompts: prompts().prompts });
    await rejectsWith(forgetful.makeCredential({ rpId: RP, userId: new Uint8Array([1]), userName: 'a', clientDataHash: CDH, uv: 'discouraged' }), 'fido2.no-hmac-secret');
  });

  it('an excluded (already enrolled) key is fido2.already-enrolled; authData for another RP is fido2.protocol', async () => {
    const excluded = await clientWith([new FakeChannel((c) => (c === 0x04 ? ok(infoMap()) : status(0x19)))]).open({ prompts: prompts().prompts });
    await rejectsWith(
      excluded.makeCredential({ rpId: RP, userId: new Uint8Array([1]), userName: 'a', clientDataHash: CDH, uv: 'discouraged', excludeCredentialIds: [CRED] }),
      'fido2.already-enrolled',
    );
    const wrongRp = await clientWith([
      new FakeChannel((c) => (c === 0x04 ? ok(infoMap()) : ok(new Map<number, unknown>([[1, 'none'], [2, authData('evil.example', 0xc1, attested(true))], [3, new Map()]])))),
    ]).open({ prompts: prompts().prompts });
    await rejectsWith(wrongRp.makeCredential({ rpId: RP, userId: new Uint8Array([1]), userName: 'a', clientDataHash: CDH, uv: 'discouraged' }), 'fido2.protocol');
  });
});

/** A PIN-protected key holding CRED, answering with protocol 2, counting PIN attempts. */
function pinKey(o: { pin: string; retries?: number; blockAfter?: number; credRandom?: Uint8Array; hmac?: boolean } ) {
  const peer = keyAgreementPeer();
  const token = new Uint8Array(32).fill(0x77);
  let retries = o.retries ?? 8;
  let wrongInARow = 0;
  const credRandom = o.credRandom ?? new Uint8Array(32).fill(0x99);
  const channel = new FakeChannel((command, params, options) => {
    switch (command) {
      case 0x04:
        return ok(infoMap({ options: { clientPin: true, pinUvAuthToken: true }, extra: [[7, 8]] }));
      case 0x06: {
        const sub = params.get(2);
        if (sub === 0x01) return ok(new Map([[3, retries]]));
        if (sub === 0x02) return ok(new Map([[1, peer.cose]]));
        if (sub === 0x09) {
          const ss = peer.secret(params.get(3) as CborMap);
          const sent = peer.v2.decrypt(ss, params.get(6) as Uint8Array);
          const right = createHash('sha256').update(o.pin).digest().subarray(0, 16);
          if (toHex(sent) !== toHex(right)) {
            retries--;
            wrongInARow++;
            return status(o.blockAfter !== undefined && wrongInARow >= o.blockAfter ? 0x34 : 0x31);
          }
          assert.equal(params.get(9), 0x02); // getAssertion permission
          assert.equal(params.get(10), RP);
          return ok(new Map([[2, peer.v2.encrypt(ss, token)]]));
        }
        return status(0x3e);
      }
      case 0x02: {
        const allow = (params.get(3) as CborMap[]).map((d) => d.get('id') as Uint8Array);
        const has = allow.some((id) => toHex(id) === toHex(CRED));
        const probe = (params.get(5) as CborMap | undefined)?.get('up') === false;
        if (!has) return status(0x2e);
        if (probe) return ok(new Map<number, unknown>([[1, { id: CRED, type: 'public-key' }], [2, authData(RP, 0x00)], [3, new Uint8Array(70)]]));
        // The real assertion: check the PIN token MAC, answer hmac-secret.
        const mac = peer.v2.authenticate(token, params.get(2) as Uint8Array);
        if (toHex(mac) !== toHex(params.get(6) as Uint8Array) || params.get(7) !== 2) return status(0x33);
        options.onKeepalive?.(2);
        let ext: Uint8Array = new Uint8Array(0);
        const input = (params.get(4) as CborMap | undefined)?.get('hmac-secret') as CborMap | undefined;
        if (input && o.hmac !== false) {
          const ss = peer.secret(input.get(1) as CborMap);
          assert.equal(toHex(input.get(3) as Uint8Array), toHex(peer.v2.authenticate(ss, input.get(2) as Uint8Array)));
          assert.equal(input.get(4), 2);
          const salt = peer.v2.decrypt(ss, input.get(2) as Uint8Array);
          const output = createHmac('sha256', credRandom).update(salt).digest();
          ext = encodeCbor({ 'hmac-secret': peer.v2.encrypt(ss, output) });
        }
        return ok(
          new Map<number, unknown>([
            [1, { id: CRED, type: 'public-key' }],
            [2, authData(RP, ext.length ? 0x85 : 0x05, ext)],
            [3, new Uint8Array([0x30, 0x06, 1, 2, 3, 4, 5, 6])],
          ]),
        );
      }
      default:
        return status(0x01);
    }
  });
  return { channel, credRandom };
}

describe('Authenticator.getAssertion', () => {
  it('uv required: asks for the PIN with the retry count, re-asks after a wrong PIN, unwraps hmac-secret', async () => {
    const key = pinKey({ pin: 'correct horse' });
    const p = prompts(['wrong pin', 'correct horse']);
    const auth = await clientWith([key.channel]).open({ prompts: p.prompts });
    assert.equal(auth.hasPin, true);
    const assertion = await auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [hex('0badc0de'), CRED], hmacSalt: SALT, uv: 'required' });
    assert.deepEqual(assertion.credentialId, CRED);
    assert.equal(assertion.userPresent, true);
    assert.equal(assertion.userVerified, true);
    assert.equal(assertion.signCount, 42);
    assert.equal(toHex(assertion.hmacOutput as Uint8Array), toHex(createHmac('sha256', key.credRandom).update(SALT).digest()));
    assert.deepEqual(p.log, ['pin:8:YubiKey 5 Series', 'pin:7:YubiKey 5 Series', 'touch:YubiKey 5 Series']);
    // A fresh key agreement for every PIN attempt; the probe went first; the real request names only CRED.
    const platformKeys = key.channel.sent(0x06).filter((r) => r.get(2) === 0x09).map((r) => toHex((r.get(3) as CborMap).get(-2) as Uint8Array));
    assert.equal(new Set(platformKeys).size, 2);
    const assertions = key.channel.sent(0x02);
    assert.equal((assertions[0]?.get(5) as CborMap).get('up'), false);
    assert.deepEqual((assertions[1]?.get(3) as CborMap[]).map((d) => toHex(d.get('id') as Uint8Array)), [toHex(CRED)]);
  });

  it('a key that is not enrolled fails with fido2.no-credential before asking for the PIN', async () => {
    const key = pinKey({ pin: '1234' });
    const p = prompts(['1234']);
    const auth = await clientWith([key.channel]).open({ prompts: p.prompts });
    const error = await rejectsWith(
      auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [hex('0badc0de')], hmacSalt: SALT, uv: 'required' }),
      'fido2.no-credential',
      'authenticator',
    );
    assert.match(error.message, /not enrolled/);
    assert.deepEqual(p.log, []);
  });

  it('a blocked PIN fails without prompting; three wrong in a row is fido2.pin-auth-blocked', async () => {
    const blocked = await clientWith([pinKey({ pin: '1234', retries: 0 }).channel]).open({ prompts: prompts().prompts });
    await rejectsWith(blocked.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [CRED], uv: 'required' }), 'fido2.pin-blocked');
    const p = prompts(['aaaa', 'bbbb', 'cccc', 'dddd']);
    const auth = await clientWith([pinKey({ pin: '1234', blockAfter: 3 }).channel]).open({ prompts: p.prompts });
    const error = await rejectsWith(auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [CRED], uv: 'required' }), 'fido2.pin-auth-blocked');
    assert.match(error.message + error.hint, /reinsert/i);
    assert.equal(p.log.length, 3);
  });

  it('a PIN that cannot be valid is refused locally (no retry spent)', async () => {
    const key = pinKey({ pin: '1234' });
    const auth = await clientWith([key.channel]).open({ prompts: prompts(['12']).prompts });
    await rejectsWith(auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [CRED], uv: 'required' }), 'fido2.pin-policy');
    assert.equal(key.channel.sent(0x06).filter((r) => r.get(2) === 0x09).length, 0);
  });

  it('no hmac-secret output when one was asked for is fido2.no-hmac-secret', async () => {
    const auth = await clientWith([pinKey({ pin: '1234', hmac: false }).channel]).open({ prompts: prompts(['1234']).prompts });
    await rejectsWith(auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [CRED], hmacSalt: SALT, uv: 'required' }), 'fido2.no-hmac-secret');
  });

  it('no touch within the limit is fido2.touch-timeout (from tng’s timer or the key’s own 0x2F)', async () => {
    for (const failure of [() => Promise.reject(fidoError('fido2.timeout', 'no answer')), () => status(0x2f)]) {
      const channel = new FakeChannel((command, params) => {
        if (command === 0x04) return ok(infoMap());
        if ((params.get(5) as CborMap | undefined)?.get('up') === false) {
          return ok(new Map<number, unknown>([[1, { id: CRED, type: 'public-key' }], [2, authData(RP, 0)], [3, new Uint8Array(8)]]));
        }
        return failure();
      });
      const auth = await clientWith([channel], { touchTimeoutMs: 30_000 }).open({ prompts: prompts().prompts });
      const error = await rejectsWith(auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [CRED], uv: 'discouraged' }), 'fido2.touch-timeout');
      assert.equal(error.exitCode, 5);
    }
  });

  it('an abort while waiting for the touch is interrupted (130)', async () => {
    const controller = new AbortController();
    const channel = new FakeChannel((command, params, options) => {
      if (command === 0x04) return ok(infoMap());
      if ((params.get(5) as CborMap | undefined)?.get('up') === false) {
        return ok(new Map<number, unknown>([[1, { id: CRED, type: 'public-key' }], [2, authData(RP, 0)], [3, new Uint8Array(8)]]));
      }
      setTimeout(() => controller.abort(), 5);
      return new Promise((_r, reject) => options.signal?.addEventListener('abort', () => reject(interruptedError())));
    });
    const auth = await clientWith([channel]).open({ prompts: prompts().prompts });
    const error = await rejectsWith(
      auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [CRED], uv: 'discouraged', signal: controller.signal }),
      'fido2.interrupted',
    );
    assert.ok(error instanceof TngError && error.exitCode === 130);
  });

  it('rejects bad arguments as internal errors (bugs), not authenticator failures', async () => {
    const auth = await clientWith([new FakeChannel(() => ok(infoMap()))]).open({ prompts: prompts().prompts });
    const error = await rejectsWith(auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [CRED], hmacSalt: new Uint8Array(16), uv: 'discouraged' }), 'fido2.bad-argument');
    assert.equal(error.kind, 'internal');
    await rejectsWith(auth.getAssertion({ rpId: RP, clientDataHash: new Uint8Array(31), credentialIds: [CRED], uv: 'discouraged' }), 'fido2.bad-argument');
    await rejectsWith(auth.getAssertion({ rpId: RP, clientDataHash: CDH, credentialIds: [], uv: 'discouraged' }), 'fido2.no-credential');
  });
});

describe('Authenticator.hasCredential', () => {
  it('probes silently (up:false) in chunks of maxCredentialCountInList and returns the id found', async () => {
    const ids = [1, 2, 3, 4, 5].map((n) => new Uint8Array(16).fill(n));
    const channel = new FakeChannel((command, params) => {
      if (command === 0x04) return ok(infoMap({ extra: [[7, 2], [8, 16]] }));
      assert.equal((params.get(5) as CborMap).get('up'), false);
      const allow = (params.get(3) as CborMap[]).map((d) => d.get('id') as Uint8Array);
      const hit = allow.find((id) => id[0] === 5);
      return hit ? ok(new Map<number, unknown>([[1, { id: hit, type: 'public-key' }], [2, authData(RP, 0)], [3, new Uint8Array(8)]])) : status(0x2e);
    });
    const auth = await clientWith([channel]).open({ prompts: prompts().prompts });
    const tooLong = new Uint8Array(17).fill(5); // beyond maxCredentialIdLength: never sent
    assert.deepEqual(await auth.hasCredential(RP, [...ids, tooLong]), ids[4]);
    assert.deepEqual(channel.sent(0x02).map((r) => (r.get(3) as CborMap[]).length), [2, 2, 1]);
    assert.equal(await auth.hasCredential(RP, ids.slice(0, 2)), undefined);
    await auth.close();
    assert.equal(channel.closed, true);
  });
});

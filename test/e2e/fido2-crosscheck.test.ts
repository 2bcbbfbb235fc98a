/**
 * tng's own FIDO2 client against the independently written virtual authenticator, with libfido2's
 * `fido2-assert -V` as the referee for the assertions tng makes and verifies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode } from 'cbor-x';
import { TngError } from '../../src/errors.ts';
import { createFido2Client, type Authenticator, type TouchPrompts } from '../../src/fido2/client.ts';
import { coseToKeyObject } from '../../src/fido2/ctap2/cose.ts';
import { verifyAssertion } from '../../src/fido2/ctap2/verify.ts';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { tempDirs } from '../temp-dirs.ts';

const newDir = tempDirs('fido2');

const PIN = '4711-tng';
let plain: VirtualAuthenticator;
let withPin: VirtualAuthenticator;
before(async () => {
  plain = await startVirtualAuthenticator();
  withPin = await startVirtualAuthenticator({ pin: PIN });
});
after(async () => {
  await Promise.allSettled([plain.close(), withPin.close()]);
});

function prompts(pins: string[] = []): TouchPrompts & { asked: number } {
  const state = {
    asked: 0,
    touch: () => undefined,
    selectDevice: () => undefined,
    pin: async () => {
      state.asked++;
      const next = pins.shift();
      if (next === undefined) throw new TngError('interrupted', 'test.no-more-pins', 'no more PINs', { hint: '' });
      return next;
    },
  };
  return state;
}

const open = (device: VirtualAuthenticator, p: TouchPrompts): Promise<Authenticator> => createFido2Client().open({ spec: device.device, prompts: p });
const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** libfido2's offline verification: client data hash, RP id, CBOR-wrapped authData, signature (base64 lines). */
async function fido2AssertVerify(publicKeyCose: Uint8Array, alg: number, rpId: string, clientDataHash: Uint8Array, authData: Uint8Array, signature: Uint8Array, flags: string[] = []) {
  const dir = await newDir();
  const pem = join(dir, 'key.pem');
  await writeFile(pem, coseToKeyObject(publicKeyCose).key.export({ format: 'pem', type: 'spki' }) as string);
  const input = [Buffer.from(clientDataHash).toString('base64'), rpId, Buffer.from(encode(Buffer.from(authData))).toString('base64'), Buffer.from(signature).toString('base64')].join('\n') + '\n';
  return spawnSync('/usr/bin/fido2-assert', ['-V', ...flags, pem, alg === -8 ? 'eddsa' : 'es256'], { input, encoding: 'utf8' });
}

describe('tng FIDO2 client × virtual authenticator × libfido2', () => {
  it('makes a credential and an assertion that tng and fido2-assert -V both verify', async () => {
    const auth = await open(plain, prompts());
    try {
      assert.equal(auth.supportsHmacSecret, true);
      const rpId = 'tng:dex.example.com';
      const made = await auth.makeCredential({ rpId, userId: randomBytes(16), userName: 'work', clientDataHash: sha256('enrol'), uv: 'discouraged' });
      assert.equal(made.aaguid, 'cb69481e-8ff7-4039-93ec-0a2729a154a8');
      const clientDataHash = sha256('login entry');
      const assertion = await auth.getAssertion({ rpId, clientDataHash, credentialIds: [made.credentialId], uv: 'discouraged' });
      assert.equal(assertion.userPresent, true);
      assert.deepEqual(verifyAssertion({ publicKey: made.publicKey, rpId, authData: assertion.authData, clientDataHash, signature: assertion.signature }).ok, true);

      const ok = await fido2AssertVerify(made.publicKey, made.alg, rpId, clientDataHash, assertion.authData, assertion.signature, ['-p']);
      assert.equal(ok.status, 0, ok.stderr);
      const tampered = Buffer.from(assertion.signature);
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
      assert.notEqual((await fido2AssertVerify(made.publicKey, made.alg, rpId, clientDataHash, assertion.authData, tampered)).status, 0);
      assert.equal(verifyAssertion({ publicKey: made.publicKey, rpId, authData: assertion.authData, clientDataHash, signature: tampered }).ok, false);
      assert.notEqual((await fido2AssertVerify(made.publicKey, made.alg, 'tng:other.example.com', clientDataHash, assertion.authData, assertion.signature)).status, 0);
    } finally {
      await auth.close();
    }
  });

  it('hmac-secret: stable per salt, different per salt and between the UV modes', async () => {
    const p = prompts([PIN, PIN, PIN, PIN, PIN]);
    const auth = await open(withPin, p);
    try {
      const rpId = 'tng:dex.example.com';
      const made = await auth.makeCredential({ rpId, userId: randomBytes(16), userName: 'work', clientDataHash: sha256('enrol'), uv: 'required' });
      const salt = randomBytes(32);
      const ask = async (uv: 'required' | 'discouraged', hmacSalt: Uint8Array) =>
        (await auth.getAssertion({ rpId, clientDataHash: sha256('x'), credentialIds: [made.credentialId], hmacSalt, uv })).hmacOutput;
      const withUv = await ask('required', salt);
      const again = await ask('required', salt);
      const otherSalt = await ask('required', randomBytes(32));
      assert.equal(withUv?.length, 32);
      assert.deepEqual(again, withUv);
      assert.notDeepEqual(otherSalt, withUv);
      assert.ok(p.asked >= 3, 'uv required asks for the PIN');
    } finally {
      await auth.close();
    }
    // Without UV (a key that requires no PIN for assertions would give this output; ours has a PIN, so a
    // fresh credential on the PIN-less key stands in) the output differs from the UV one.
    const plainAuth = await open(plain, prompts());
    try {
      const rpId = 'tng:dex.example.com';
      const made = await plainAuth.makeCredential({ rpId, userId: randomBytes(16), userName: 'w', clientDataHash: sha256('e'), uv: 'discouraged' });
      const salt = randomBytes(32);
      const a = await plainAuth.getAssertion({ rpId, clientDataHash: sha256('x'), credentialIds: [made.credentialId], hmacSalt: salt, uv: 'discouraged' });
      const b = await plainAuth.getAssertion({ rpId, clientDataHash: sha256('y'), credentialIds: [made.credentialId], hmacSalt: salt, uv: 'discouraged' });
      assert.deepEqual(a.hmacOutput, b.hmacOutput);
      assert.equal(a.userVerified, false);
    } finally {
      await plainAuth.close();
    }
  });

  it('a wrong PIN is re-asked with the retries left, and the right one then works', async () => {
    const p = prompts(['0000-wrong', PIN]);
    const auth = await open(withPin, p);
    try {
      const made = await auth.makeCredential({ rpId: 'tng:x', userId: randomBytes(16), userName: 'w', clientDataHash: sha256('e'), uv: 'required' });
      assert.ok(made.credentialId.length > 0);
      assert.equal(p.asked, 2);
      assert.equal(withPin.pinRetries(), 8);
    } finally {
      await auth.close();
    }
  });

  it('every failure is exit 5: denied, not enrolled on this key, no device', async () => {
    const auth = await open(plain, prompts());
    try {
      const made = await auth.makeCredential({ rpId: 'tng:x', userId: randomBytes(16), userName: 'w', clientDataHash: sha256('e'), uv: 'discouraged' });
      plain.setTouch({ kind: 'deny', delayMs: 10 });
      await assert.rejects(auth.getAssertion({ rpId: 'tng:x', clientDataHash: sha256('a'), credentialIds: [made.credentialId], uv: 'discouraged' }), (e: unknown) => e instanceof TngError && e.exitCode === 5);
      plain.setTouch({ kind: 'auto', delayMs: 10 });
      await assert.rejects(auth.getAssertion({ rpId: 'tng:x', clientDataHash: sha256('a'), credentialIds: [randomBytes(64)], uv: 'discouraged' }), (e: unknown) => e instanceof TngError && e.exitCode === 5 && e.code === 'fido2.no-credential');
    } finally {
      plain.setTouch({ kind: 'auto', delayMs: 50 });
      await auth.close();
    }
    await assert.rejects(createFido2Client().open({ spec: 'unix:/nonexistent/tng.sock', prompts: prompts() }), (e: unknown) => e instanceof TngError && e.exitCode === 5);
  });

  it('Ctrl-C during a touch sends CANCEL and is exit 130', async () => {
    const auth = await open(plain, prompts());
    try {
      const made = await auth.makeCredential({ rpId: 'tng:x', userId: randomBytes(16), userName: 'w', clientDataHash: sha256('e'), uv: 'discouraged' });
      plain.setTouch({ kind: 'never' });
      const controller = new AbortController();
      const cancels = plain.stats().cancels;
      setTimeout(() => controller.abort(), 300);
      await assert.rejects(
        auth.getAssertion({ rpId: 'tng:x', clientDataHash: sha256('a'), credentialIds: [made.credentialId], uv: 'discouraged', signal: controller.signal }),
        (e: unknown) => e instanceof TngError && e.exitCode === 130,
      );
      assert.ok(plain.stats().cancels > cancels);
    } finally {
      plain.setTouch({ kind: 'auto', delayMs: 50 });
      await auth.close();
    }
  });
});

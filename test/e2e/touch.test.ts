import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { createOsKeychain } from '../../src/keychain/os.ts';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { createWorld, initProfile, login, runProcess, whoamiJson, type World } from './harness.ts';

let sandbox: Sandbox;
let primary: VirtualAuthenticator;
let backup: VirtualAuthenticator;
before(async () => {
  sandbox = await startSandbox();
  primary = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 50 } });
  backup = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 50 }, aaguid: 'ee882879-721c-4913-9775-3dfcce97072a' });
});
after(async () => {
  await Promise.allSettled([sandbox.close(), primary.close(), backup.close()]);
});

async function storedItem(world: World, kind: string): Promise<string | undefined> {
  return createOsKeychain().get(`profile:${world.profile}:${kind}`);
}

async function fido2Entries(world: World): Promise<Array<Record<string, string>>> {
  const config = parse(await readFile(world.config, 'utf8')) as { profiles: Record<string, { fido2?: Array<Record<string, string>> }> };
  return config.profiles[world.profile]?.fido2 ?? [];
}

/** `tng enroll --add` of the backup key, both keys plugged in. */
async function enrollBackup(world: World): Promise<void> {
  const added = await world.run(['enroll', '--add', '--profile', world.profile, '--uv', 'discouraged'], { env: { TNG_FIDO2_DEVICE: `${primary.device},${backup.device}` } });
  assert.equal(added.code, 0, added.stderr);
}

/** The entries of the world's audit trail. */
async function trailLines(world: World): Promise<Array<Record<string, any>>> {
  return (await readFile(`${world.state}/audit.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
}

async function enrolledWorld(): Promise<World> {
  const world = await createWorld();
  world.env.TNG_FIDO2_DEVICE = primary.device;
  await initProfile(world, sandbox);
  assert.equal((await login(world)).code, 0, 'a login before enrolment, so there is a refresh token to seal');
  const enrolled = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  return world;
}

describe('tng enroll', () => {
  it('writes the public values, seals the stored refresh token, and whoami shows the hardware', async () => {
    const world = await enrolledWorld();
    try {
      const [entry, ...rest] = await fido2Entries(world);
      assert.equal(rest.length, 0);
      assert.ok(entry);
      assert.equal(entry.rp_id, 'tng:127.0.0.1');
      assert.equal(entry.aaguid, 'cb69481e-8ff7-4039-93ec-0a2729a154a8');
      assert.equal(entry.uv, 'discouraged');
      assert.equal(Buffer.from(entry.salt ?? '', 'base64url').length, 32);
      assert.ok(primary.credentials().some((c) => c.credentialId === entry.credential_id && c.rpId === 'tng:127.0.0.1'));
      assert.match((await storedItem(world, 'refresh-token')) ?? '', /^tng-sealed:v1:/);
      const { report } = await whoamiJson(world);
      assert.equal(report?.hardware?.credential_id, entry.credential_id);
      assert.equal(report?.hardware?.aaguid, entry.aaguid);
      assert.equal(report?.hardware?.last_touch, null, 'enrolled, but no login has touched it yet');
    } finally {
      await world.dispose();
    }
  });
});

describe('touch-gated login', () => {
  it('a login touches the key first, even without a TTY, and the sealed refresh token works', async () => {
    const world = await enrolledWorld();
    try {
      const touches = primary.stats().getAssertion;
      const result = await world.run(['login', '--profile', world.profile]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Touch your security key to log in/);
      assert.ok(primary.stats().getAssertion > touches);
      assert.equal((await world.browserRuns()).length, 1, 'only the very first login used the browser');
    } finally {
      await world.dispose();
    }
  });

  it('a profile whose data key is in the item of earlier versions logs in, and the data key moves', async () => {
    const world = await enrolledWorld();
    try {
      const store = createOsKeychain();
      const keys = JSON.parse((await storedItem(world, 'keys')) ?? '{}') as { dataKeys?: Record<string, string> };
      assert.equal(Object.keys(keys.dataKeys ?? {}).length, 1, 'enrol sealed the data key once');
      // As earlier versions kept it: the sealed data keys in an item of their own.
      await store.set(`profile:${world.profile}:data-key`, JSON.stringify(keys.dataKeys));
      await store.delete(`profile:${world.profile}:keys`);

      const result = await world.run(['login', '--profile', world.profile]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await world.browserRuns()).length, 1, 'the moved data key opened the sealed refresh token: no browser');
      assert.deepEqual(JSON.parse((await storedItem(world, 'keys')) ?? '{}'), { dataKeys: keys.dataKeys });
      assert.equal(await storedItem(world, 'data-key'), undefined);
    } finally {
      await world.dispose();
    }
  });

  it('a denied touch is exit 5 and leaves the session and the keychain as they were', async () => {
    const world = await enrolledWorld();
    try {
      const sealedBefore = await storedItem(world, 'refresh-token');
      const accessor = (await whoamiJson(world)).report?.vault.accessor;
      primary.setTouch({ kind: 'deny', delayMs: 50 });
      const denied = await world.run(['login', '--profile', world.profile]);
      primary.setTouch({ kind: 'auto', delayMs: 50 });
      assert.equal(denied.code, 5, denied.stderr);
      assert.match(denied.stderr, /hint: /);
      assert.equal(await storedItem(world, 'refresh-token'), sealedBefore);
      assert.equal((await whoamiJson(world)).report?.vault.accessor, accessor);
    } finally {
      primary.setTouch({ kind: 'auto', delayMs: 50 });
      await world.dispose();
    }
  });

  it('no authenticator and no TTY: exit 5 at once', async () => {
    const world = await enrolledWorld();
    try {
      const started = Date.now();
      const result = await world.run(['login', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: `unix:${world.home}/no-such-key` } });
      assert.equal(result.code, 5, result.stderr);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await world.dispose();
    }
  });

  it('another key (not enrolled) cannot log in: exit 5', async () => {
    const world = await enrolledWorld();
    try {
      const result = await world.run(['login', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: backup.device } });
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /not enrolled/);
    } finally {
      await world.dispose();
    }
  });

  it('a backup key enrolled with --add opens the same secrets', async () => {
    const world = await enrolledWorld();
    try {
      await enrollBackup(world);
      const entries = await fido2Entries(world);
      assert.equal(entries.length, 2);
      assert.equal(entries[1]?.aaguid, 'ee882879-721c-4913-9775-3dfcce97072a');
      const viaBackup = await world.run(['login', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: backup.device } });
      assert.equal(viaBackup.code, 0, viaBackup.stderr);
      assert.equal((await world.browserRuns()).length, 1, 'the backup opened the sealed refresh token: no browser');
      const { report } = await whoamiJson(world);
      assert.equal(report?.hardware?.credential_id, entries[1]?.credential_id, 'whoami names the key that touched last');
      const lastTouch = Date.parse(report?.hardware?.last_touch ?? '');
      assert.ok(Date.now() - lastTouch < 60_000 && Date.now() - lastTouch >= 0, String(report?.hardware?.last_touch));
      const lines = await trailLines(world);
      const signed = lines.filter((e) => e.sig !== undefined).at(-1);
      assert.equal(report?.hardware?.last_touch, signed?.ts, 'last_touch is the time of the latest signed entry');
    } finally {
      await world.dispose();
    }
  });

  it('with both enrolled keys plugged in, one touch on either signs: no selection touch, the other key is cancelled', async () => {
    const world = await enrolledWorld();
    const both = { TNG_FIDO2_DEVICE: `${primary.device},${backup.device}` };
    try {
      await enrollBackup(world);
      const [, backupEntry] = await fido2Entries(world);
      primary.setTouch({ kind: 'never' }); // the person touches the backup only
      const before = { primary: primary.stats(), backup: backup.stats() };
      const result = await world.run(['login', '--profile', world.profile], { env: both });
      assert.equal(result.code, 0, result.stderr);
      const after = { primary: primary.stats(), backup: backup.stats() };
      assert.equal(after.backup.touches - before.backup.touches, 1, 'one touch in all');
      assert.equal(after.primary.touches, before.primary.touches);
      assert.equal(after.primary.selection + after.backup.selection, before.primary.selection + before.backup.selection, 'no selection touch');
      assert.ok(after.primary.cancels > before.primary.cancels, 'the key not touched was cancelled');
      assert.doesNotMatch(result.stderr, /touch the one to use/);
      assert.equal(result.stderr.match(/is blinking\)/g)?.length, 1, result.stderr);
      assert.match(result.stderr, /\((either \S.*|\S.* or \S.*) is blinking\)/, 'the prompt names both keys');

      const lines = await trailLines(world);
      const login = lines.filter((e) => e.event === 'login').at(-1);
      assert.equal(login?.credential_id, backupEntry?.credential_id, 'the entry names the key that signed');
      assert.equal(lines.filter((e) => e.event === 'login' && e.ts === login?.ts).length, 1, 'one login entry, not one per key');
      const verify = await world.run(['audit', '--verify', '--profile', world.profile]);
      assert.equal(verify.code, 0, verify.stderr);
      assert.equal((await world.browserRuns()).length, 1, 'the backup opened the sealed refresh token: no browser');
    } finally {
      primary.setTouch({ kind: 'auto', delayMs: 50 });
      await world.dispose();
    }
  });

  it('the keys item lost (a keychain reset): a login says the sealed refresh token no longer opens and logs in anew; a key left without its copy is named', async () => {
    const world = await enrolledWorld();
    try {
      await enrollBackup(world);
      const [primaryEntry] = await fido2Entries(world);
      assert.ok(await createOsKeychain().delete(`profile:${world.profile}:keys`));
      const sealedBefore = await storedItem(world, 'refresh-token');

      // No TTY: nothing can be done without a person; the token is left as it was (exit 3, not 7).
      const headless = await world.run(['login', '--profile', world.profile]);
      assert.equal(headless.code, 3, headless.stderr);
      assert.match(headless.stderr, /^tng: No session can be made without a person at a terminal \(no TTY, and the stored refresh token does not open with this security key\)\.$/m);
      assert.equal(await storedItem(world, 'refresh-token'), sealedBefore);

      const browsers = (await world.browserRuns()).length;
      const viaPrimary = await login(world);
      assert.equal(viaPrimary.code, 0, viaPrimary.stderr);
      // On a terminal the pseudo-terminal carries stderr.
      assert.match(viaPrimary.stdout + viaPrimary.stderr, /The stored refresh token does not open with this security key \(it was sealed for a data key this key has no copy of\); logging in anew\./);
      assert.equal((await world.browserRuns()).length, browsers + 1);

      // The backup has no copy of the new data key: it gets one of its own, and the person is told why the
      // primary will ask for a browser login next, and how to have one data key for both again.
      const viaBackup = await login(world, [], { TNG_FIDO2_DEVICE: backup.device });
      assert.equal(viaBackup.code, 0, viaBackup.stderr);
      const said = (viaBackup.stdout + viaBackup.stderr).replace(/\s+/g, ' ');
      assert.match(said, /has no copy of tng's data key, which credential (\S+) holds/);
      assert.ok(said.includes(`${primaryEntry?.credential_id?.slice(0, 8) ?? '(none)'}…`), said);
      assert.match(said, /`tng enroll` with one key, then `tng enroll --add` with the other/);
      const again = await login(world);
      assert.equal(again.code, 0, again.stderr);

      // The remedy it names: afterwards either key opens the refresh token, no browser.
      const replaced = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged'], { env: { TNG_FIDO2_DEVICE: primary.device } });
      assert.equal(replaced.code, 0, replaced.stderr);
      assert.equal((await login(world)).code, 0, 'the plain enroll dropped the token sealed for the old key: one browser login');
      await enrollBackup(world);
      const settled = (await world.browserRuns()).length;
      for (const device of [backup.device, primary.device]) {
        const result = await login(world, [], { TNG_FIDO2_DEVICE: device });
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(result.stdout + result.stderr, /no copy|does not open/);
      }
      assert.equal((await world.browserRuns()).length, settled, 'both keys open the same data key again');
    } finally {
      await world.dispose();
    }
  });

  it('enroll --add after the keys item was lost seals the new data key for the key that opened it as well', async () => {
    const world = await enrolledWorld();
    try {
      assert.ok(await createOsKeychain().delete(`profile:${world.profile}:keys`));
      await enrollBackup(world);
      const entries = await fido2Entries(world);
      const keys = JSON.parse((await storedItem(world, 'keys')) ?? '{}') as { dataKeys?: Record<string, string> };
      assert.deepEqual(Object.keys(keys.dataKeys ?? {}).sort(), entries.map((e) => e.credential_id).sort(), 'a copy for each enrolled key');
      assert.equal((await login(world)).code, 0, 'the token sealed with the lost data key: one browser login');
      const settled = (await world.browserRuns()).length;
      const viaBackup = await login(world, [], { TNG_FIDO2_DEVICE: backup.device });
      assert.equal(viaBackup.code, 0, viaBackup.stderr);
      assert.doesNotMatch(viaBackup.stdout + viaBackup.stderr, /no copy|does not open/);
      assert.equal((await world.browserRuns()).length, settled);
    } finally {
      await world.dispose();
    }
  });

  it('touch = "exec" asks for a touch on each exec', async () => {
    const world = await enrolledWorld();
    try {
      assert.equal((await world.run(['init', '--profile', world.profile, '--touch', 'exec'])).code, 0);
      const before = primary.stats().getAssertion;
      const result = await world.run(['exec', '--profile', world.profile, '--', 'true']);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(primary.stats().getAssertion > before);
      primary.setTouch({ kind: 'deny', delayMs: 20 });
      const denied = await world.run(['exec', '--profile', world.profile, '--', 'true']);
      primary.setTouch({ kind: 'auto', delayMs: 50 });
      assert.equal(denied.code, 5);

      // credential-process too: one touch per hand-out, signed into the trail as an exec of its own.
      const touches = primary.stats().getAssertion;
      const handOut = await world.run(['credential-process', '--profile', world.profile, '--role', 'deploy']);
      assert.equal(handOut.code, 0, handOut.stderr);
      assert.deepEqual(Object.keys(JSON.parse(handOut.stdout) as object), ['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
      assert.ok(primary.stats().getAssertion > touches);
      const lines = await trailLines(world);
      const entry = lines.at(-1);
      assert.equal(entry?.event, 'exec');
      assert.equal(entry?.program, 'credential-process');
      assert.ok(entry?.sig, 'signed by the hand-out\'s touch');
      const verify = await world.run(['audit', '--verify']);
      assert.equal(verify.code, 0, verify.stderr);
      primary.setTouch({ kind: 'deny', delayMs: 20 });
      const refused = await world.run(['credential-process', '--profile', world.profile, '--role', 'deploy']);
      assert.equal(refused.code, 5);
      assert.equal(refused.stdout, '');
    } finally {
      primary.setTouch({ kind: 'auto', delayMs: 50 });
      await world.dispose();
    }
  });
});

describe('the audit lock across a touch', () => {
  it('an exec waiting behind another exec\'s touch (on another key) says so, naming its PID, and both finish', async () => {
    const world = await enrolledWorld();
    try {
      await enrollBackup(world);
      assert.equal((await world.run(['init', '--profile', world.profile, '--touch', 'exec'])).code, 0);
      primary.setTouch({ kind: 'auto', delayMs: 2500 });
      const first = world.start(['exec', '--profile', world.profile, '--', 'true']);
      const lock = join(world.state, 'locks', 'audit.lock');
      for (let i = 0; i < 100 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(existsSync(lock), 'the first exec never took the audit lock');
      // The backup key is free: what the second exec waits for is the audit lock the first holds across its touch.
      const second = world.start(['exec', '--profile', world.profile, '--', 'true'], { env: { TNG_FIDO2_DEVICE: backup.device } });
      const notice = await second.waitFor(/^Waiting for another tng process \(PID (\d+)\) to finish its audit entry \(it may be waiting for a touch\)…$/m);
      assert.equal(Number(notice[1]), first.child.pid);
      const [a, b] = await Promise.all([first.exited, second.exited]);
      assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr);
      assert.doesNotMatch(a.stderr, /Waiting for/);
    } finally {
      primary.setTouch({ kind: 'auto', delayMs: 50 });
      await world.dispose();
    }
  });
});

/** libfido2's own verifier over one signed trail entry: `fido2-assert -V` with the key its enroll entry holds. */
async function fido2AssertVerify(entry: Record<string, any>, enroll: Record<string, any>, dir: string): Promise<{ code: number | null; stderr: string }> {
  const { coseToKeyObject } = await import('../../src/fido2/ctap2/cose.ts');
  const { encode } = await import('cbor-x');
  const { writeFile } = await import('node:fs/promises');
  const cose = coseToKeyObject(Buffer.from(enroll.public_key as string, 'base64url'));
  const keyFile = `${dir}/${entry.id as string}.pem`;
  await writeFile(keyFile, cose.key.export({ format: 'pem', type: 'spki' }) as string);
  const input = [
    Buffer.from(entry.hash as string, 'hex').toString('base64'), // the clientDataHash is the entry's hash
    enroll.rp_id,
    Buffer.from(encode(Buffer.from(entry.sig.auth_data as string, 'base64url'))).toString('base64'),
    Buffer.from(entry.sig.signature as string, 'base64url').toString('base64'),
  ].join('\n');
  // The flags byte of the authenticator data: ED (0x80) says extension outputs follow (the hmac-secret one),
  // which libfido2 accepts only when told the extension was asked for (-h).
  const flags = Buffer.from(entry.sig.auth_data as string, 'base64url')[32] ?? 0;
  const options = ['-V', '-p', ...((flags & 0x80) !== 0 ? ['-h'] : [])];
  const result = await runProcess('/usr/bin/fido2-assert', [...options, keyFile, cose.alg === -7 ? 'es256' : 'eddsa'], {}, { input: `${input}\n` });
  return { code: result.code, stderr: result.stderr };
}

describe('the signed audit trail', () => {
  it('with touch = "exec" each exec entry is signed, TNG_AUDIT_ID names it, and libfido2 verifies every signature in the trail', async () => {
    const world = await enrolledWorld();
    try {
      assert.equal((await world.run(['login', '--profile', world.profile])).code, 0);
      assert.equal((await world.run(['init', '--profile', world.profile, '--touch', 'exec'])).code, 0);
      const exec = await world.run(['exec', '--profile', world.profile, '--', 'printenv', 'TNG_AUDIT_ID']);
      assert.equal(exec.code, 0, exec.stderr);
      const lines = await trailLines(world);
      const execEntry = lines.find((e) => e.id === exec.stdout.trim());
      assert.equal(execEntry?.event, 'exec');
      assert.ok(execEntry?.sig, 'signed by the exec touch');
      assert.equal(execEntry?.program, 'printenv');
      const enroll = lines.find((e) => e.event === 'enroll');
      assert.ok(enroll);
      const signed = lines.filter((e) => e.sig);
      assert.deepEqual(signed.map((e) => e.event), ['login', 'exec']);
      for (const entry of signed) {
        const verdict = await fido2AssertVerify(entry, enroll, world.home);
        assert.equal(verdict.code, 0, `fido2-assert -V rejected entry ${entry.seq as number}: ${verdict.stderr}`);
        const other = signed.find((e) => e !== entry) as Record<string, any>;
        const moved = await fido2AssertVerify({ ...entry, hash: other.hash }, enroll, world.home);
        assert.notEqual(moved.code, 0, 'the signature covers exactly this entry\'s hash');
      }
      const verify = await world.run(['audit', '--verify']);
      assert.equal(verify.code, 0, verify.stderr);
    } finally {
      await world.dispose();
    }
  });


  it('a touch-gated login writes a login entry signed by the key and a session entry naming it; --verify passes, tampering fails', async () => {
    const world = await enrolledWorld();
    try {
      const result = await world.run(['login', '--profile', world.profile]);
      assert.equal(result.code, 0, result.stderr);
      const lines = await trailLines(world);
      const enroll = lines.find((e) => e.event === 'enroll');
      const signed = lines.filter((e) => e.event === 'login' && e.sig);
      assert.ok(enroll, 'enrolment is in the trail with its public key');
      assert.equal(signed.length, 1);
      assert.equal(signed[0]?.credential_id, enroll?.credential_id);
      const session = lines.at(-1);
      assert.equal(session?.event, 'session');
      assert.equal(session?.login, signed[0]?.id);
      const verify = await world.run(['audit', '--verify']);
      assert.equal(verify.code, 0, verify.stderr);

      // A signature moved onto another entry no longer verifies.
      const moved = lines.map((e) => ({ ...e }));
      const unsigned = moved.find((e) => e.event === 'login' && !e.sig);
      assert.ok(unsigned);
      unsigned.sig = signed[0]?.sig;
      const { writeFile } = await import('node:fs/promises');
      await writeFile(`${world.state}/audit.jsonl`, `${moved.map((e) => JSON.stringify(e)).join('\n')}\n`);
      const tampered = await world.run(['audit', '--verify']);
      assert.equal(tampered.code, 8);
      assert.match(tampered.stderr, new RegExp(`entry ${unsigned.seq} \\(${unsigned.id}\\)`));
    } finally {
      await world.dispose();
    }
  });

  it('the trail moved away after a signed login: the next exec starts a new trail that verifies, saying its login is in the earlier one', async () => {
    const world = await enrolledWorld();
    try {
      assert.equal((await world.run(['login', '--profile', world.profile])).code, 0);
      const { rename } = await import('node:fs/promises');
      await rename(`${world.state}/audit.jsonl`, `${world.state}/audit-2026-11.jsonl`);
      const exec = await world.run(['exec', '--profile', world.profile, '--', 'true']);
      assert.equal(exec.code, 0, exec.stderr);
      const [entry, ...rest] = await trailLines(world);
      assert.deepEqual([entry?.seq, entry?.event, rest.length], [1, 'exec', 0]);
      const login = String(entry?.login);
      const verify = await world.run(['audit', '--verify']);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stderr, new RegExp(`earlier trail was moved or rotated away: login ${login.slice(0, 8)}, named by later entries, is in that trail`));
      const { report } = await whoamiJson(world);
      assert.deepEqual(report?.audit, { entries: 1, verified: true, last_id: entry?.id });
    } finally {
      await world.dispose();
    }
  });
});

import assert from 'node:assert/strict';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { createOsKeychain } from '../../src/keychain/os.ts';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { createWorld, initProfile, login, whoamiJson, type World } from './harness.ts';

const NEEDS_ENROLMENT = 'TNG_KEYCHAIN=file keeps secrets in a file sealed by an enrolled security key, and there is no such file yet.';

let sandbox: Sandbox;
let primary: VirtualAuthenticator;
let backup: VirtualAuthenticator;
before(async () => {
  sandbox = await startSandbox();
  primary = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 20 } });
  backup = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 20 }, aaguid: 'ee882879-721c-4913-9775-3dfcce97072a' });
});
after(async () => {
  await Promise.allSettled([sandbox.close(), primary.close(), backup.close()]);
});

/** A world whose every tng run keeps its secrets in the file, with the primary key plugged in. */
async function fileWorld(): Promise<World> {
  const world = await createWorld();
  world.env.TNG_KEYCHAIN = 'file';
  world.env.TNG_FIDO2_DEVICE = primary.device;
  await initProfile(world, sandbox);
  return world;
}

const keychainFile = (world: World) => join(world.state, 'keychain.json');
/** Touches given on the primary key (silent probes for credentials are not touches). */
const touches = () => primary.stats().touches;

async function fileKeys(world: World): Promise<string[]> {
  return Object.keys((JSON.parse(await readFile(keychainFile(world), 'utf8')) as { keys: Record<string, string> }).keys);
}

async function enrolledIds(world: World): Promise<string[]> {
  const config = parse(await readFile(world.config, 'utf8')) as { profiles: Record<string, { fido2?: Array<{ credential_id: string }> }> };
  return (config.profiles[world.profile]?.fido2 ?? []).map((e) => e.credential_id);
}

/** init + enroll + login (on a pty) in file mode. */
async function loggedInWorld(): Promise<World> {
  const world = await fileWorld();
  const enrolled = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  const result = await login(world);
  assert.equal(result.code, 0, result.stdout);
  return world;
}

describe('TNG_KEYCHAIN=file', () => {
  it('before any enrolment, storing a secret is exit 2 and says to enrol first; nothing is written anywhere', async () => {
    const world = await fileWorld();
    try {
      const secret = await world.run(['init', '--profile', world.profile, '--client-secret-stdin'], { input: 'client-s3cret\n' });
      assert.equal(secret.code, 2, secret.stderr);
      assert.ok(secret.stderr.includes(NEEDS_ENROLMENT), secret.stderr);
      assert.match(secret.stderr, /hint: Run `tng enroll` \(with TNG_KEYCHAIN=file it creates the file; a key enrolled before is enrolled again\)\./);

      const attempt = await login(world);
      assert.equal(attempt.code, 2, attempt.stdout);
      assert.ok(attempt.stdout.includes(NEEDS_ENROLMENT), attempt.stdout);
      assert.equal(await readFile(world.browserLog, 'utf8').catch(() => ''), '', 'refused before any browser was opened');

      await assert.rejects(stat(keychainFile(world)), { code: 'ENOENT' });
      for (const kind of ['keys', 'client-secret', 'refresh-token', 'session']) {
        assert.equal(await createOsKeychain().get(`profile:${world.profile}:${kind}`), undefined, `no fallback to the OS keychain (${kind})`);
      }
    } finally {
      await world.dispose();
    }
  });

  it('an unknown TNG_KEYCHAIN is exit 2 naming the value', async () => {
    const world = await fileWorld();
    try {
      const result = await world.run(['whoami', '--profile', world.profile], { env: { TNG_KEYCHAIN: 'plaintext' } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /TNG_KEYCHAIN="plaintext"/);
      assert.match(result.stderr, /hint: .*TNG_KEYCHAIN=file/);
    } finally {
      await world.dispose();
    }
  });

  it('enroll creates the sealed file; login needs exactly one touch; every later command that reads a secret one more', async () => {
    const world = await fileWorld();
    try {
      const enrolled = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
      assert.equal(enrolled.code, 0, enrolled.stderr);
      assert.equal((await stat(keychainFile(world))).mode & 0o777, 0o600);
      assert.equal((await stat(world.state)).mode & 0o777, 0o700);
      assert.deepEqual(await fileKeys(world), await enrolledIds(world), 'the file opens with the enrolled credential, and only with it');

      const beforeLogin = touches();
      const loggedIn = await login(world);
      assert.equal(loggedIn.code, 0, loggedIn.stdout);
      assert.equal(touches() - beforeLogin, 1, 'one touch opens the file and gates the login');

      const beforeWhoami = touches();
      const { result, report } = await whoamiJson(world);
      assert.equal(result.code, 0, result.stderr);
      assert.match(report?.vault.accessor ?? '', /\S/);
      assert.equal(report?.oidc.email, 'alice@example.com');
      assert.equal(report?.hardware?.credential_id, (await enrolledIds(world))[0]);
      assert.equal(touches() - beforeWhoami, 1, 'a new process reads the session only after a touch');

      const beforeDoctor = touches();
      const doctor = await world.run(['doctor', '--json', '--profile', world.profile]);
      const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string; detail: string }> }).checks;
      const check = (name: string) => checks.find((c) => c.name === name);
      assert.equal(check('keychain')?.status, 'ok', doctor.stdout);
      assert.match(check('keychain')?.detail ?? '', /TNG_KEYCHAIN=file: .*keychain\.json opens with 1 enrolled key/);
      assert.equal(check('session')?.status, 'ok', doctor.stdout);
      assert.equal(touches(), beforeDoctor, 'doctor never asks for a touch');
      assert.match(result.stderr, /Touch your security key to open tng's secrets/);

      const exec = await world.run(['exec', '--profile', world.profile, '--', 'printenv', 'VAULT_TOKEN']);
      assert.equal(exec.code, 0, exec.stderr);
      const token = exec.stdout.trim();
      assert.match(token, /^hvs\./);
      const text = await readFile(keychainFile(world), 'utf8');
      // Item names (profile names) are public values; what they hold is not.
      for (const plain of [token, 'alice@example.com']) {
        assert.ok(!text.includes(plain), `${plain} must not appear in the file`);
      }

      for (const kind of ['session', 'refresh-token', 'keys']) {
        assert.equal(await createOsKeychain().get(`profile:${world.profile}:${kind}`), undefined, `the OS keychain holds no ${kind} item`);
      }
    } finally {
      await world.dispose();
    }
  });

  it('a denied touch is exit 5 and leaves the file byte for byte as it was', async () => {
    const world = await loggedInWorld();
    try {
      const bytes = await readFile(keychainFile(world));
      primary.setTouch({ kind: 'deny', delayMs: 20 });
      for (const args of [['whoami', '--json'], ['login'], ['exec', '--', 'true']]) {
        const denied = await world.run([...args, '--profile', world.profile]);
        assert.equal(denied.code, 5, `${args.join(' ')}: ${denied.stderr}`);
        assert.match(denied.stderr, /hint: /);
        assert.deepEqual(await readFile(keychainFile(world)), bytes, `${args.join(' ')} changed nothing`);
      }
      primary.setTouch({ kind: 'auto', delayMs: 20 });
      assert.equal((await whoamiJson(world)).result.code, 0, 'the session is still there');
    } finally {
      primary.setTouch({ kind: 'auto', delayMs: 20 });
      await world.dispose();
    }
  });

  it('a tampered file is exit 7', async () => {
    const world = await loggedInWorld();
    try {
      const data = JSON.parse(await readFile(keychainFile(world), 'utf8')) as { items: Record<string, string> };
      const name = `profile:${world.profile}:session`;
      const sealed = data.items[name] as string;
      const i = Math.floor(sealed.length / 2);
      data.items[name] = `${sealed.slice(0, i)}${sealed[i] === 'A' ? 'B' : 'A'}${sealed.slice(i + 1)}`;
      await writeFile(keychainFile(world), JSON.stringify(data));
      const altered = await world.run(['whoami', '--json', '--profile', world.profile]);
      assert.equal(altered.code, 7, altered.stderr);
      assert.match(altered.stderr, /damaged or was altered/);
      assert.equal(altered.stdout, '');

      await writeFile(keychainFile(world), '{"version":1,"keys":');
      const truncated = await world.run(['whoami', '--json', '--profile', world.profile]);
      assert.equal(truncated.code, 7, truncated.stderr);
      assert.match(truncated.stderr, /not JSON/);
    } finally {
      await world.dispose();
    }
  });

  it('an emptied key table is exit 7; the recovery the message gives (move it away, enrol again, log in) works with the same key', async () => {
    const world = await loggedInWorld();
    try {
      const data = JSON.parse(await readFile(keychainFile(world), 'utf8')) as { keys: Record<string, string> };
      data.keys = {};
      await writeFile(keychainFile(world), JSON.stringify(data));
      const emptied = await world.run(['whoami', '--json', '--profile', world.profile]);
      assert.equal(emptied.code, 7, emptied.stderr);
      assert.match(emptied.stderr, /"keys" is empty/);
      assert.match(emptied.stderr, /move it away and run `tng enroll` and `tng login` again/);

      await rename(keychainFile(world), `${keychainFile(world)}.damaged`);
      const [old] = await enrolledIds(world);
      const again = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
      assert.equal(again.code, 0, again.stderr);
      const [fresh] = await enrolledIds(world);
      assert.notEqual(fresh, old, 'the same key holds a new credential');
      assert.ok(primary.credentials().some((c) => c.credentialId === fresh));
      const relogin = await login(world);
      assert.equal(relogin.code, 0, relogin.stdout);
      assert.equal((await whoamiJson(world)).result.code, 0);
    } finally {
      await world.dispose();
    }
  });

  it('logout needs no touch: with no key plugged in it removes the sealed items and says the token was not revoked', async () => {
    const world = await loggedInWorld();
    try {
      world.env.TNG_FIDO2_DEVICE = `unix:${join(world.home, 'no-such-key.sock')}`;
      const before = touches();
      const out = await world.run(['logout', '--profile', world.profile]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /not revoked: it is sealed in tng's secrets file/);
      assert.equal(touches(), before);
      const data = JSON.parse(await readFile(keychainFile(world), 'utf8')) as { items: Record<string, string> };
      for (const kind of ['session', 'refresh-token', 'aws']) assert.equal(data.items[`profile:${world.profile}:${kind}`], undefined, kind);
      assert.notEqual(data.items[`profile:${world.profile}:keys`], undefined, 'the enrolment (its sealed data key) stays');
      world.env.TNG_FIDO2_DEVICE = primary.device;
      const after = await world.run(['exec', '--profile', world.profile, '--', 'true']);
      assert.equal(after.code, 3, after.stderr);
    } finally {
      await world.dispose();
    }
  });

  it('touch = "exec": one touch per exec opens the file and signs the exec entry', async () => {
    const world = await loggedInWorld();
    try {
      const set = await world.run(['init', '--profile', world.profile, '--touch', 'exec']);
      assert.equal(set.code, 0, set.stderr);
      const before = touches();
      const exec = await world.run(['exec', '--profile', world.profile, '--', 'printenv', 'TNG_AUDIT_ID']);
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(touches() - before, 1, 'the exec touch also opened the file');
      const id = exec.stdout.trim();
      const lines = (await readFile(join(world.state, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const entry = lines.find((e) => e.id === id);
      assert.equal(entry?.event, 'exec');
      assert.ok(entry?.sig, 'the exec entry carries the signature');
      const verify = await world.run(['audit', '--verify']);
      assert.equal(verify.code, 0, verify.stderr);
    } finally {
      await world.dispose();
    }
  });

  it('a backup key enrolled with --add opens the same file', async () => {
    const world = await loggedInWorld();
    try {
      const added = await world.run(['enroll', '--add', '--profile', world.profile, '--uv', 'discouraged'], { env: { TNG_FIDO2_DEVICE: `${primary.device},${backup.device}` } });
      assert.equal(added.code, 0, added.stderr);
      const both = await enrolledIds(world);
      assert.equal(both.length, 2);
      assert.deepEqual((await fileKeys(world)).sort(), [...both].sort());

      const before = backup.stats().touches;
      const viaBackup = await world.run(['whoami', '--json', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: backup.device } });
      assert.equal(viaBackup.code, 0, viaBackup.stderr);
      assert.equal(backup.stats().touches - before, 1);
    } finally {
      await world.dispose();
    }
  });

  it('enrolling a new key without --add keeps the secrets and drops the replaced key from the file', async () => {
    const world = await loggedInWorld();
    try {
      const [old] = await enrolledIds(world);
      // The enrolled key opens the file, then the other key is enrolled in its place.
      const replaced = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged'], { env: { TNG_FIDO2_DEVICE: `${primary.device},${backup.device}` } });
      assert.equal(replaced.code, 0, replaced.stderr);
      const fresh = await enrolledIds(world);
      assert.equal(fresh.length, 1);
      assert.notEqual(fresh[0], old);
      assert.ok(backup.credentials().some((c) => c.credentialId === fresh[0]));
      assert.deepEqual(await fileKeys(world), fresh, 'only the new key opens the file now');

      const viaNew = await world.run(['whoami', '--json', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: backup.device } });
      assert.equal(viaNew.code, 0, viaNew.stderr);
      assert.equal((JSON.parse(viaNew.stdout) as { hardware: { credential_id: string } }).hardware.credential_id, fresh[0]);
      const viaOld = await world.run(['whoami', '--json', '--profile', world.profile]);
      assert.equal(viaOld.code, 5, viaOld.stderr);
      assert.match(viaOld.stderr, /holds none of the keys that open tng's secrets file/);
    } finally {
      await world.dispose();
    }
  });
});

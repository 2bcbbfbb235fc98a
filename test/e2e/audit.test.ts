/**
 * The audit trail through the built binary: login and exec leave chained entries that `tng audit --verify`
 * accepts; a flipped byte is exit 8 naming the entry; a torn line is repaired by the next append and
 * reported; an export verifies in another state dir; whoami --json carries the summary.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { TNG, createWorld, initProfile, login, runProcess, whoamiJson, type World } from './harness.ts';

let sandbox: Sandbox;
let world: World;
let scratch: string;
/** The child's own environment from one `tng exec`. */
let childEnv: NodeJS.ProcessEnv;

const PRINT_ENV = [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'];
type Entry = Record<string, any>;

async function trail(state = world.state): Promise<Entry[]> {
  return (await readFile(join(state, 'audit.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);
}

/** A copy of the world's state dir, to damage without touching the original. */
async function copyState(): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'state-'));
  await cp(join(world.state, 'audit.jsonl'), join(dir, 'audit.jsonl'));
  return dir;
}

before(async () => {
  sandbox = await startSandbox();
  world = await createWorld();
  scratch = await mkdtemp(join(tmpdir(), 'tng-audit-e2e-'));
  await initProfile(world, sandbox, ['--aws-role', 'deploy']);
  const result = await login(world);
  assert.equal(result.code, 0, result.stdout);
  world.env.AWS_ENDPOINT_URL_STS = sandbox.stsUrl;
  world.env.AWS_EC2_METADATA_DISABLED = 'true';
  const exec = await world.run(['exec', '--profile', world.profile, '--', ...PRINT_ENV]);
  assert.equal(exec.code, 0, exec.stderr);
  childEnv = JSON.parse(exec.stdout) as NodeJS.ProcessEnv;
});
after(async () => {
  await world.dispose();
  await sandbox.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('tng audit against a real login and exec', () => {
  it('login → session → exec are chained, hold no secret, and --verify exits 0', async () => {
    const entries = await trail();
    assert.deepEqual(entries.map((e) => [e.seq, e.event, e.profile]), [[1, 'login', world.profile], [2, 'session', world.profile], [3, 'exec', world.profile]]);
    const [loginEntry, session, exec] = entries as [Entry, Entry, Entry];
    assert.equal(loginEntry.prev, null);
    assert.equal(session.prev, loginEntry.hash);
    assert.equal(exec.prev, session.hash);
    assert.equal(loginEntry.credential_id, null, 'touch = "never": an unsigned login');
    assert.match(loginEntry.nonce, /^[0-9a-f]{32}$/);
    assert.equal(session.login, loginEntry.id);
    assert.equal(session.email, 'alice@example.com');
    assert.equal(session.method, 'jwt');
    assert.match(session.vault_accessor, /\S/);
    assert.equal(exec.id, childEnv.TNG_AUDIT_ID);
    assert.equal(exec.program, 'node');
    assert.equal(exec.vault_accessor, session.vault_accessor);
    assert.match(exec.aws_access_key_id, /^A[SK]IA/);
    assert.equal(exec.login, null, 'no signed login to name');
    assert.equal((await stat(join(world.state, 'audit.jsonl'))).mode & 0o777, 0o600);

    const text = await readFile(join(world.state, 'audit.jsonl'), 'utf8');
    for (const name of ['VAULT_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN']) {
      const secret = childEnv[name];
      assert.ok(secret && secret.length > 10, name);
      assert.ok(!text.includes(secret), `${name} is in the audit trail`);
    }
    assert.ok(!text.includes(PRINT_ENV[2] as string), 'an argv value is in the audit trail');

    const verified = await world.run(['audit', '--verify']);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stdout, '');
    assert.match(verified.stderr, /Audit trail verified: 3 entries, 0 signed/);

    const listed = await world.run(['audit', '--profile', world.profile]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, '');
    assert.match(listed.stderr, /\n\s*3\s+\S+ \S+\s+exec\s+\S+\s+[0-9a-f]{8}…\s+node \(AWS A[SK]IA/);
    // $TNG_PROFILE chooses the profile as --profile does (inside a `tng exec` it is set).
    assert.equal((await world.run(['audit'], { env: { TNG_PROFILE: world.profile } })).stderr, listed.stderr);
    const typo = await world.run(['audit'], { env: { TNG_PROFILE: `${world.profile}-typo` } });
    assert.equal(typo.code, 2, typo.stderr);

    const json = await world.run(['audit', '--json', '--limit', '2']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(json.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as Entry).id), [session.id, exec.id]);
  });

  it('whoami --json carries the audit summary', async () => {
    const { result, report } = await whoamiJson(world);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(report?.audit, { entries: 3, verified: true, last_id: childEnv.TNG_AUDIT_ID });
  });

  it('a flipped byte: exit 8 naming the entry\'s seq and id, with a hint; whoami reports it unverified', async () => {
    const dir = await copyState();
    const file = join(dir, 'audit.jsonl');
    const bytes = await readFile(file);
    const entries = await trail(dir);
    const at = bytes.indexOf('alice@example.com') + 2; // inside the session entry
    bytes[at] = (bytes[at] as number) ^ 0x01;
    await writeFile(file, bytes);
    const result = await world.run(['audit', '--verify'], { env: { TNG_STATE_DIR: dir } });
    assert.equal(result.code, 8, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines[0], `tng: Audit trail verification failed at entry 2 (${entries[1]?.id}): its hash does not match its content (the entry was changed).`);
    assert.match(lines[1] ?? '', /^hint: .*changed or damaged/);
    const { report } = await whoamiJson({ ...world, run: (args, options = {}) => world.run(args, { ...options, env: { ...options.env, TNG_STATE_DIR: dir } }) });
    assert.deepEqual(report?.audit, { entries: 3, verified: false, last_id: entries[2]?.id });
  });

  it('a torn last line after a crash: exit 8 until the next exec repairs it, then verified with the repair reported', async () => {
    const dir = await copyState();
    const file = join(dir, 'audit.jsonl');
    const entries = await trail(dir);
    const text = await readFile(file, 'utf8');
    const size = Buffer.byteLength(text);
    const thirdLine = Buffer.byteLength(text.split('\n').slice(0, 2).join('\n')) + 1;
    await truncate(file, size - 30);
    const torn = await world.run(['audit', '--verify'], { env: { TNG_STATE_DIR: dir } });
    assert.equal(torn.code, 8, torn.stderr);
    assert.match(torn.stderr, new RegExp(`failed at entry 3 \\(${entries[2]?.id}\\): the last line is incomplete`));

    const exec = await world.run(['exec', '--profile', world.profile, '--no-aws', '--', 'true'], { env: { TNG_STATE_DIR: dir } });
    assert.equal(exec.code, 0, exec.stderr);
    const after = await trail(dir).catch(() => undefined);
    assert.equal(after, undefined, 'the torn bytes are still there, not rewritten');
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    assert.equal(lines.length, 5);
    const repair = JSON.parse(lines[3] as string) as Entry;
    assert.deepEqual([repair.seq, repair.event, repair.torn_bytes], [3, 'repair', size - 30 - thirdLine]);
    const verified = await world.run(['audit', '--verify'], { env: { TNG_STATE_DIR: dir } });
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stderr, /Audit trail verified: 4 entries/);
    assert.match(verified.stderr, /Entry 3 \([0-9a-f-]{36}\) is a repair: \d+ torn bytes/);
  });

  it('an export verifies in another state dir with no config; a changed export does not', async () => {
    const exported = await world.run(['audit', 'export']);
    assert.equal(exported.code, 0, exported.stderr);
    const records = exported.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Entry);
    assert.deepEqual(records.map((r) => r.type), ['keys', 'entry', 'entry', 'entry', 'end']);
    const file = join(scratch, 'export.jsonl');
    await writeFile(file, exported.stdout);

    const elsewhere = await mkdtemp(join(scratch, 'elsewhere-'));
    const env = { TNG_STATE_DIR: elsewhere, TNG_CONFIG: join(elsewhere, 'no-config.toml') };
    const verified = await world.run(['audit', '--verify', '--file', file], { env });
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stderr, /Audit trail verified: 3 entries/);
    const piped = await world.run(['audit', '--verify', '--file', '-'], { env, input: exported.stdout });
    assert.equal(piped.code, 0, piped.stderr);

    const since = await world.run(['audit', 'export', '--since', records[2]?.entry.id]);
    assert.equal(since.code, 0, since.stderr);
    const sinceVerified = await world.run(['audit', '--verify', '--file', '-'], { env, input: since.stdout });
    assert.equal(sinceVerified.code, 0, sinceVerified.stderr);
    assert.match(sinceVerified.stderr, /verified: 2 entries/);

    const changed = await world.run(['audit', '--verify', '--file', '-'], { env, input: exported.stdout.replace('"program":"node"', '"program":"nodf"') });
    assert.equal(changed.code, 8, changed.stderr);
    assert.match(changed.stderr, new RegExp(`failed at entry 3 \\(${records[3]?.entry.id}\\)`));
  });

  it('lists a long trail whole to a pipe, and a failed write of the output is an error, not a crash', async () => {
    const dir = await copyState();
    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).split('\n').filter(Boolean);
    const copies = Array.from({ length: 6000 }, (_, i) => {
      const entry = JSON.parse(lines[i % lines.length] as string) as Entry;
      return JSON.stringify({ ...entry, seq: i + 1 });
    });
    await writeFile(join(dir, 'audit.jsonl'), `${copies.join('\n')}\n`);
    const listed = await world.run(['audit'], { env: { TNG_STATE_DIR: dir } });
    assert.equal(listed.code, 0, listed.stderr.slice(-500));
    const rows = listed.stderr.split('\n').filter((l) => /^\s*\d+\s/.test(l));
    assert.equal(rows.length, 6000, 'every entry reached the pipe');
    assert.match(rows.at(-1) ?? '', /^\s*6000\s/);

    const full = await runProcess('bash', ['-c', '"$0" audit --json > /dev/full', TNG], { ...world.env, TNG_STATE_DIR: dir });
    assert.equal(full.code, 2, full.stderr);
    assert.match(full.stderr, /^tng: Could not write the output \(stdout: ENOSPC\)\.\nhint: .+\n$/);
  });

  it('an unsigned exec\'s entry does not wait for the disk; a login\'s, a new trail\'s and a repair\'s do (fsync, as strace sees it)', async () => {
    /** The paths tng fsynced while running `args` in the state dir `state`. */
    const fsynced = async (args: string[], state: string): Promise<string[]> => {
      const out = join(scratch, `strace-${Math.random().toString(36).slice(2)}.log`);
      const traced = ['-f', '-y', '-qq', '-e', 'trace=fsync,fdatasync', '-e', 'signal=none', '-o', out, TNG, ...args];
      const result = await runProcess('strace', traced, { ...world.env, TNG_STATE_DIR: state });
      assert.equal(result.code, 0, result.stderr);
      return [...(await readFile(out, 'utf8')).matchAll(/f(?:data)?sync\(\d+<([^>]+)>\) = 0/g)].map((m) => m[1] as string);
    };
    const auditFile = (state: string) => join(state, 'audit.jsonl');
    const exec = ['exec', '--profile', world.profile, '--no-aws', '--', 'true'];

    const dir = await copyState();
    const before = (await trail(dir)).length;
    assert.deepEqual((await fsynced(exec, dir)).filter((path) => path === auditFile(dir)), []);
    const entries = await trail(dir);
    assert.equal(entries.length, before + 1, 'the exec entry was written all the same');
    assert.equal(entries.at(-1)?.event, 'exec');

    const fresh = await mkdtemp(join(scratch, 'state-'));
    assert.ok((await fsynced(exec, fresh)).includes(auditFile(fresh)), 'a new trail is fsynced');

    const torn = await copyState();
    await truncate(auditFile(torn), (await stat(auditFile(torn))).size - 30);
    assert.ok((await fsynced(exec, torn)).includes(auditFile(torn)), 'a repair is fsynced');
    assert.equal((await trail(torn).catch(() => undefined)), undefined, 'the torn bytes are kept');

    const logins = await copyState();
    assert.ok((await fsynced(['login', '--profile', world.profile], logins)).includes(auditFile(logins)), 'a login is fsynced');
    assert.deepEqual((await trail(logins)).slice(-2).map((e) => e.event), ['login', 'session']);
  });

  it('50 concurrent execs leave 50 well-chained entries, each named by its child\'s TNG_AUDIT_ID', async () => {
    const dir = await copyState();
    const before = (await trail(dir)).length;
    const runs = await Promise.all(
      Array.from({ length: 50 }, () => world.run(['exec', '--profile', world.profile, '--no-aws', '--', 'printenv', 'TNG_AUDIT_ID'], { env: { TNG_STATE_DIR: dir }, timeoutMs: 120_000 })),
    );
    assert.deepEqual(runs.map((r) => r.code), Array(50).fill(0), runs.map((r) => r.stderr).join('\n'));
    const entries = await trail(dir);
    assert.equal(entries.length, before + 50);
    assert.deepEqual(entries.map((e) => e.seq), Array.from({ length: before + 50 }, (_, i) => i + 1));
    for (let i = 1; i < entries.length; i++) assert.equal(entries[i]?.prev, entries[i - 1]?.hash);
    const ids = new Set(entries.slice(before).map((e) => e.id));
    assert.equal(ids.size, 50);
    for (const run of runs) assert.ok(ids.has(run.stdout.trim()), `TNG_AUDIT_ID ${run.stdout.trim()} names an entry`);
    const verified = await world.run(['audit', '--verify'], { env: { TNG_STATE_DIR: dir } });
    assert.equal(verified.code, 0, verified.stderr);
  });
});

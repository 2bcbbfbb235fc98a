// TNG_DEBUG=1: a per-step timing breakdown on stderr (discovery, token, Vault, keychain, spawn), never a secret.
import assert from 'node:assert/strict';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { sleep } from './fault-helpers.ts';
import { createWorld, initProfile, login, type World } from './harness.ts';

let sandbox: Sandbox;
let world: World;
before(async () => {
  sandbox = await startSandbox();
  world = await createWorld();
  await initProfile(world, sandbox, ['--aws-role', 'deploy']);
  assert.equal((await login(world)).code, 0);
});
after(async () => {
  await world.dispose();
  await sandbox.close();
});

const timings = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('tng: [timing] '));

it('a refresh login shows discovery, the token grant, the Vault login and the keychain write, with durations', async () => {
  const result = await world.run(['login', '--profile', world.profile], { env: { TNG_DEBUG: '1' } });
  assert.equal(result.code, 0, result.stderr);
  const lines = timings(result.stderr);
  for (const step of [/start-up/, /http GET \S+\/dex\/\.well-known\/openid-configuration/, /http POST \S+\/dex\/token/, /http (POST|PUT) \S+\/v1\/auth\/jwt\/login/, /keychain write \(session\)/, /total/]) {
    assert.ok(lines.some((line) => step.test(line) && / \d+\.\d ms /.test(line)), `${step} in:\n${lines.join('\n')}`);
  }
});

it('an exec shows the keychain read and the spawn; no secret reaches stderr', async () => {
  const result = await world.run(['exec', '--profile', world.profile, '--no-server', '--', 'printenv', 'VAULT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'], { env: { TNG_DEBUG: '1' } });
  assert.equal(result.code, 0, result.stderr);
  const lines = timings(result.stderr);
  assert.ok(lines.some((line) => /keychain read \(session\) \d+\.\d ms/.test(line)), lines.join('\n'));
  assert.ok(lines.some((line) => /spawn \d+\.\d ms/.test(line)), lines.join('\n'));
  const secrets = result.stdout.trim().split('\n');
  assert.equal(secrets.length, 3);
  for (const secret of secrets) assert.ok(secret.length > 8 && !result.stderr.includes(secret), 'a secret on stderr');
});

it('a wait for another process\'s lock shows as a step of its own', async () => {
  const locks = join(world.state, 'locks');
  await mkdir(locks, { recursive: true, mode: 0o700 });
  const lock = join(locks, 'audit.lock');
  const started = join(world.state, 'child-started');
  // A live holder (this test's own process) keeps the audit lock until the exec's child has run, and then
  // some, so the exec's append (after its child starts) has to wait for it.
  await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'held-by-the-test', since: Date.now() }), { mode: 0o600 });
  const running = world.run(['exec', '--profile', world.profile, '--', 'touch', started], { env: { TNG_DEBUG: '1' } });
  while (!(await stat(started).catch(() => undefined))) await sleep(20);
  await sleep(500);
  await rm(lock);
  const result = await running;
  assert.equal(result.code, 0, result.stderr);
  assert.ok(timings(result.stderr).some((line) => /^tng: \[timing\] lock audit: waited \d+\.\d ms/.test(line)), timings(result.stderr).join('\n'));
});

it('without TNG_DEBUG there are no timing lines', async () => {
  const result = await world.run(['exec', '--profile', world.profile, '--', 'true']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(timings(result.stderr), []);
});

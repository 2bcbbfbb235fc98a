/**
 * The fault matrix, this machine's half (issue 10): the keychain absent or locked, the state dir read-only
 * or full, the security key pulled out mid-command, Ctrl-C wherever tng waits, and a logout against a
 * failing Vault. Each checks the exit code, tng's two lines and what survived.
 *
 * The state-dir faults run tng in a private mount namespace (`unshare -m`): a read-only bind mount, and a
 * tiny tmpfs filled to the last byte. Tests run as root, for whom file modes prove nothing; a read-only
 * mount and ENOSPC hold for root too, and the namespace keeps the mounts from everyone else.
 */
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { assertAuditIntact, assertFailure, loggedInWorld, assertSessionKept, liveAccessor, sleep, stateSnapshot, storedItem } from './fault-helpers.ts';
import { ROOT, TNG, createWorld, initProfile, login, runProcess, type RunResult, type Running, type World } from './harness.ts';

const WITH_KEYRING = join(ROOT, 'test', 'sandbox', 'with-keyring.sh');
const PIN = 'tng-local-PIN-0815';

let sandbox: Sandbox;
let key: VirtualAuthenticator;
before(async () => {
  sandbox = await startSandbox();
  key = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 30 } });
});
after(async () => {
  await Promise.allSettled([sandbox.close(), key.close()]);
});

const loggedIn = (extra: string[] = []) => loggedInWorld(sandbox, extra);

/** A logged-in world whose login is gated by the virtual key (enrolled without a PIN). */
async function enrolled(): Promise<{ world: World; accessor: string }> {
  const { world } = await loggedIn();
  world.env.TNG_FIDO2_DEVICE = key.device;
  const result = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
  assert.equal(result.code, 0, result.stderr);
  const again = await world.run(['login', '--profile', world.profile]);
  assert.equal(again.code, 0, again.stderr);
  return { world, accessor: await liveAccessor(world) };
}

const exists = (path: string) => access(path).then(() => true, () => false);
const lockFile = (world: World) => join(world.state, 'locks', `login-${world.profile}.lock`);

/** Waits for the pattern in a running tng's output, then types Ctrl-C on its terminal. */
async function interruptWhen(running: Running, pattern: RegExp, timeoutMs = 15_000): Promise<RunResult> {
  await running.waitFor(pattern, timeoutMs);
  await sleep(100);
  running.child.stdin.write('\u0003');
  const started = Date.now();
  const result = await running.exited;
  assert.ok(Date.now() - started < 3000, `tng took ${Date.now() - started} ms to stop after Ctrl-C`);
  return result;
}

/** Records what an interrupted login must leave as it was (the state dir, the sealed refresh token, the session); the returned check compares. */
async function asBefore(world: World, accessor: string): Promise<() => Promise<void>> {
  const sealed = await storedItem(world, 'refresh-token');
  const before = await stateSnapshot(world);
  return async () => {
    assert.deepEqual(await stateSnapshot(world), before);
    assert.equal(await storedItem(world, 'refresh-token'), sealed);
    await assertSessionKept(world, accessor);
  };
}

describe('fault matrix: the keychain', () => {
  it('absent (no D-Bus session): exit 7 at once for login on a terminal (no browser) and for exec; the session is still there afterwards', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const noBus = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus', XDG_RUNTIME_DIR: world.home };
      const started = Date.now();
      const interactive = await login(world, [], noBus);
      assertFailure(interactive, 7, /^tng: The OS keychain is not available \(.*D-Bus.*\)\.$/, /gnome-keyring|TNG_KEYCHAIN=file/);
      assert.equal((await world.browserRuns()).length, 1, 'no browser may open when the session cannot be stored');
      const exec = await world.run(['exec', '--profile', world.profile, '--', 'true'], { env: noBus });
      assertFailure(exec, 7, /^tng: The OS keychain is not available/, /gnome-keyring|TNG_KEYCHAIN=file/);
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
      await assertSessionKept(world, accessor);
    } finally {
      await world.dispose();
    }
  });

  it('locked, with nothing of tng\'s in it yet (gnome-keyring started without --unlock): login exits 7 before any browser; nothing written', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const started = Date.now();
      // A second private D-Bus session whose login keyring is left locked (with-keyring.sh --locked).
      const result = await runProcess('bash', [WITH_KEYRING, '--locked', TNG, 'login', '--profile', world.profile], world.env, { tty: true, timeoutMs: 30_000 });
      assertFailure(result, 7, /^tng: The OS keychain is locked\.$/, /Unlock the login keyring/);
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
      assert.deepEqual(await world.browserRuns(), [], 'no browser may open when the session cannot be stored');
      assert.equal(await exists(join(world.state, 'audit.jsonl')), false, 'nothing is audited for a login that did not happen');
    } finally {
      await world.dispose();
    }
  });

  it('locked, with nothing of tng\'s in it yet: exec, credential-process and whoami without a terminal exit 7, not 3 (a login would only hit the lock)', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox, ['--aws-role', 'deploy']);
      const marker = join(world.home, 'ran');
      const script = [
        'for command in "exec -- touch $2" credential-process whoami; do',
        '  status=0; "$0" $command --profile "$1" 2>&1 || status=$?',
        '  echo "exit $status"',
        'done',
      ].join('\n');
      const result = await runProcess('bash', [WITH_KEYRING, '--locked', 'bash', '-c', script, TNG, world.profile, marker], world.env, { timeoutMs: 30_000 });
      const outcomes = result.stdout.trim().split('\n');
      assert.deepEqual(outcomes.filter((line) => line.startsWith('exit ')), ['exit 7', 'exit 7', 'exit 7'], result.stdout);
      assert.equal(outcomes.filter((line) => line === 'tng: The OS keychain is locked.').length, 3, result.stdout);
      assert.equal(await exists(marker), false, 'the command ran without its credentials');
    } finally {
      await world.dispose();
    }
  });

  it('locked after a login (the screen locked it): exec and whoami exit 7 saying so, and the command does not run', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const marker = join(world.home, 'ran');
      // In a private keyring of its own: log in, lock the keyring as a screen lock would, then run.
      const script = [
        'set -e',
        '"$0" login --profile "$1"',
        'dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login > /dev/null',
        'status=0; "$0" whoami --profile "$1" 2> "$2.whoami" || status=$?; echo "whoami exit $status" >> "$2.whoami"',
        'exec "$0" exec --profile "$1" -- touch "$2"',
      ].join('\n');
      const result = await runProcess('bash', [WITH_KEYRING, 'bash', '-c', script, TNG, world.profile, marker], world.env, { tty: true, timeoutMs: 60_000 });
      assert.match(result.stdout, /Logged in as alice@example\.com/);
      assertFailure(result, 7, /^tng: The OS keychain is locked\.$/, /Unlock the login keyring/);
      assert.equal(await exists(marker), false, 'the command ran without its credentials');
      const whoami = await readFile(`${marker}.whoami`, 'utf8');
      assert.match(whoami, /^tng: The OS keychain is locked\.$/m);
      assert.match(whoami, /whoami exit 7$/m);
    } finally {
      await world.dispose();
    }
  });
});

/** Runs tng in a private mount namespace where the world's state dir is mounted read-only. */
function runWithReadOnlyState(world: World, args: string[]): Promise<RunResult> {
  const script = 'set -e; mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"; shift; exec "$@"';
  return runProcess('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script, 'ro-state', world.state, TNG, ...args], world.env);
}

/**
 * Runs tng in a private mount namespace where the world's state dir is a copy on a 256 KiB tmpfs with
 * not one byte left; afterwards lists what the locks dir holds into `report`.
 */
function runWithFullState(world: World, report: string, args: string[]): Promise<RunResult> {
  const script = [
    'set -e',
    'state=$1 report=$2; shift 2',
    'full=$(mktemp -d)',
    'mount -t tmpfs -o size=256k,mode=0700 tmpfs "$full"',
    'cp -a "$state/." "$full/"',
    'dd if=/dev/zero of="$full/.filler" bs=4096 2>/dev/null || true',
    'dd if=/dev/zero of="$full/.filler2" bs=1 2>/dev/null || true',
    'mount --bind "$full" "$state"',
    'status=0; "$@" || status=$?',
    'ls -A "$state/locks" > "$report" 2>&1 || true',
    'exit $status',
  ].join('\n');
  return runProcess('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script, 'full-state', world.state, report, TNG, ...args], world.env);
}

describe('fault matrix: the state dir', () => {
  it('read-only: login exits 2 naming the state dir (EROFS) before touching anything; the session and trail are as they were', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const before = await stateSnapshot(world);
      const refresh = await storedItem(world, 'refresh-token');
      const result = await runWithReadOnlyState(world, ['login', '--profile', world.profile]);
      assertFailure(result, 2, new RegExp(`^tng: Cannot write to the state dir ${world.state.replace(/[.]/g, '\\.')} \\(EROFS\\)\\.$`), /writable.*TNG_STATE_DIR/);
      assert.deepEqual(await stateSnapshot(world), before);
      assert.equal(await storedItem(world, 'refresh-token'), refresh, 'the refresh token was not spent');
      await assertSessionKept(world, accessor);
      await assertAuditIntact(world);
    } finally {
      await world.dispose();
    }
  });

  it('read-only: exec exits 2 naming the audit trail, and the command does not run (its entry could not be written)', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const before = await stateSnapshot(world);
      const result = await runWithReadOnlyState(world, ['exec', '--profile', world.profile, '--', 'sh', '-c', 'echo ran']);
      assertFailure(result, 2, new RegExp(`^tng: Cannot use the audit trail ${world.state.replace(/[.]/g, '\\.')}/audit\\.jsonl \\(EROFS\\)\\.$`), /readable and writable/);
      assert.equal(result.stdout, '', 'the command ran');
      assert.deepEqual(await stateSnapshot(world), before);
      await assertSessionKept(world, accessor);
    } finally {
      await world.dispose();
    }
  });

  it('full (ENOSPC): login exits 2 naming the state dir; no empty lock file is left behind; the session survives', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const report = join(world.home, 'locks-after.txt');
      const result = await runWithFullState(world, report, ['login', '--profile', world.profile]);
      assertFailure(result, 2, /^tng: Cannot write to the state dir \S+ \(ENOSPC\)\.$/, /writable/);
      assert.equal((await readFile(report, 'utf8')).trim(), '', 'a lock file was left in the full state dir');
      await assertSessionKept(world, accessor);
      await assertAuditIntact(world);
    } finally {
      await world.dispose();
    }
  });
});

describe('fault matrix: the security key', () => {
  it('unplugged while tng waits for the touch: exit 5 saying the key went away; the session and the sealed refresh token stay', async () => {
    const { world, accessor } = await enrolled();
    try {
      const sealed = await storedItem(world, 'refresh-token');
      const trail = await readFile(join(world.state, 'audit.jsonl'), 'utf8');
      key.setTouch({ kind: 'unplug', afterMs: 400 });
      const result = await world.run(['login', '--profile', world.profile]);
      key.setTouch({ kind: 'auto', delayMs: 30 });
      assertFailure(result, 5, /^tng: (The authenticator was unplugged|The channel to .+ is closed)/, /^hint: Reinsert the key/);
      assert.equal(await storedItem(world, 'refresh-token'), sealed);
      assert.equal(await readFile(join(world.state, 'audit.jsonl'), 'utf8'), trail, 'nothing may be audited for a touch that did not happen');
      await assertSessionKept(world, accessor);
      // Plugged back in, it works again.
      assert.equal((await world.run(['login', '--profile', world.profile])).code, 0);
    } finally {
      key.setTouch({ kind: 'auto', delayMs: 30 });
      await world.dispose();
    }
  });
});

describe('fault matrix: Ctrl-C wherever tng waits', () => {
  it('waiting for the browser: exit 130; the session, keychain and trail are as they were; the lock is gone', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.oidc.revokeRefreshTokens(); // so the login needs the browser
      const before = await stateSnapshot(world);
      const running = world.start(['login', '--profile', world.profile], { tty: true, env: { SANDBOX_BROWSER_MODE: 'noop' } });
      const result = await interruptWhen(running, /Waiting for the login to finish in the browser/);
      assertFailure(result, 130, /^tng: (Login )?[Ii]nterrupted/, /again/);
      assert.equal(await exists(lockFile(world)), false);
      assert.deepEqual(await stateSnapshot(world), before);
      await assertSessionKept(world, accessor);
    } finally {
      await world.dispose();
    }
  });

  it('waiting for Vault to answer the login: exit 130; the token Vault issued meanwhile is revoked, and the session is the one from before', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const tokensBefore = sandbox.vault.tokens().length;
      const refreshes = sandbox.oidc.stats().tokens.refresh_token ?? 0;
      sandbox.vault.fault({ path: 'auth/jwt/login', delayMs: 600, times: 1 });
      const running = world.start(['login', '--profile', world.profile], { tty: true });
      // The identity step is done once the issuer has answered the refresh; Vault is then holding the login.
      for (let waited = 0; (sandbox.oidc.stats().tokens.refresh_token ?? 0) === refreshes; waited += 20) {
        assert.ok(waited < 15_000, 'the login never reached the issuer');
        await sleep(20);
      }
      await sleep(100);
      running.child.stdin.write('\u0003');
      const result = await running.exited;
      assertFailure(result, 130, /^tng: Login interrupted\.$/, /again/);
      const issued = sandbox.vault.tokens().slice(tokensBefore);
      assert.deepEqual(issued.map((t) => t.revoked), [true], 'the token of the interrupted login is left live');
      assert.equal(await exists(lockFile(world)), false);
      await assertSessionKept(world, accessor);
    } finally {
      sandbox.vault.clearFaults();
      await world.dispose();
    }
  });

  it('waiting for the device-code approval: exit 130, nothing changed', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const refresh = await storedItem(world, 'refresh-token');
      const before = await stateSnapshot(world);
      const running = world.start(['login', '--device-code', '--profile', world.profile], { tty: true, env: { SANDBOX_BROWSER_MODE: 'noop' } });
      const result = await interruptWhen(running, /Waiting for the login to be approved/);
      assertFailure(result, 130, /^tng: (Login )?[Ii]nterrupted/, /again/);
      assert.deepEqual(await stateSnapshot(world), before);
      assert.equal(await storedItem(world, 'refresh-token'), refresh);
      await assertSessionKept(world, accessor);
    } finally {
      await world.dispose();
    }
  });

  it('waiting for the touch: exit 130, the key is told to stop (CTAPHID CANCEL); nothing sealed, signed or audited', async () => {
    const { world, accessor } = await enrolled();
    try {
      const unchanged = await asBefore(world, accessor);
      const cancels = key.stats().cancels;
      key.setTouch({ kind: 'never' });
      const running = world.start(['login', '--profile', world.profile], { tty: true });
      const result = await interruptWhen(running, /Touch your security key/);
      key.setTouch({ kind: 'auto', delayMs: 30 });
      assertFailure(result, 130, /^tng: (Login )?[Ii]nterrupted/, /again/);
      assert.ok(key.stats().cancels > cancels, 'no CTAPHID CANCEL reached the key');
      await unchanged();
    } finally {
      key.setTouch({ kind: 'auto', delayMs: 30 });
      await world.dispose();
    }
  });

  it('SIGTERM or SIGHUP while waiting for the touch: the key is told to stop (CTAPHID CANCEL), the exit status is the signal\'s (143, 129), nothing changed', async () => {
    const { world, accessor } = await enrolled();
    try {
      const unchanged = await asBefore(world, accessor);
      for (const [signal, status] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
        const cancels = key.stats().cancels;
        key.setTouch({ kind: 'never' });
        const running = world.start(['login', '--profile', world.profile]);
        await running.waitFor(/Touch your security key/);
        running.child.kill(signal);
        const started = Date.now();
        const result = await running.exited;
        key.setTouch({ kind: 'auto', delayMs: 30 });
        assert.ok(Date.now() - started < 3000, `tng took ${Date.now() - started} ms to stop after ${signal}`);
        assert.equal(result.code, status, `${signal}: ${result.stderr}`);
        assert.ok(key.stats().cancels > cancels, `${signal}: no CTAPHID CANCEL reached the key`);
      }
      await unchanged();
    } finally {
      key.setTouch({ kind: 'auto', delayMs: 30 });
      await world.dispose();
    }
  });

  it('waiting for a security key to be plugged in: exit 130, nothing changed', async () => {
    const { world, accessor } = await enrolled();
    try {
      const before = await stateSnapshot(world);
      const sealed = await storedItem(world, 'refresh-token');
      const running = world.start(['login', '--profile', world.profile], { tty: true, env: { TNG_FIDO2_DEVICE: `unix:${join(world.home, 'not-plugged-in')}` } });
      const result = await interruptWhen(running, /No security key found: insert one now/);
      assertFailure(result, 130, /^tng: (Login )?[Ii]nterrupted/, /again/);
      assert.deepEqual(await stateSnapshot(world), before);
      assert.equal(await storedItem(world, 'refresh-token'), sealed);
      await assertSessionKept(world, accessor);
    } finally {
      await world.dispose();
    }
  });

  it('at the PIN prompt: exit 130, the PIN is not echoed, nothing changed', async () => {
    const pinKey = await startVirtualAuthenticator({ pin: PIN, touch: { kind: 'auto', delayMs: 20 } });
    const world = await createWorld();
    try {
      world.env.TNG_FIDO2_DEVICE = pinKey.device;
      await initProfile(world, sandbox);
      assert.equal((await login(world)).code, 0);
      // Enrolment with uv = required asks for the PIN at each of its touches.
      const enrolling = world.start(['enroll', '--profile', world.profile, '--uv', 'required'], { tty: true, timeoutMs: 60_000 });
      let answered = 0;
      while (answered < 3 && enrolling.child.exitCode === null) {
        const asked = (enrolling.output().match(/PIN for [^\n]*: /g) ?? []).length;
        if (asked > answered) {
          enrolling.child.stdin.write(`${PIN}\r`);
          answered = asked;
        }
        await sleep(25);
      }
      const enrolledResult = await enrolling.exited;
      assert.equal(enrolledResult.code, 0, enrolledResult.stdout);
      const accessor = await liveAccessor(world);
      const before = await stateSnapshot(world);
      const sealed = await storedItem(world, 'refresh-token');
      const running = world.start(['login', '--profile', world.profile], { tty: true });
      await running.waitFor(/PIN for [^\n]*: $/);
      running.child.stdin.write('12');
      const result = await interruptWhen(running, /PIN for [^\n]*: $/);
      assertFailure(result, 130, /^tng: (Login )?[Ii]nterrupted/, /again/);
      assert.doesNotMatch(result.stdout, /PIN for [^\n]*: [^\n]*12/, 'typed PIN characters were echoed');
      assert.equal(pinKey.pinRetries(), 8, 'no PIN attempt was spent');
      assert.deepEqual(await stateSnapshot(world), before);
      assert.equal(await storedItem(world, 'refresh-token'), sealed);
      await assertSessionKept(world, accessor);
    } finally {
      await world.dispose();
      await pinKey.close();
    }
  });

  it('waiting for another login\'s lock: says so, naming its PID; Ctrl-C is exit 130 at once; the other login finishes and its lock is its own to remove', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.vault.fault({ path: 'auth/jwt/login', delayMs: 4000, times: 1 });
      const holder = world.start(['login', '--profile', world.profile]);
      for (let i = 0; i < 100 && !(await exists(lockFile(world))); i++) await sleep(50);
      assert.ok(await exists(lockFile(world)), 'the first login never took the lock');
      const holderLock = await readFile(lockFile(world), 'utf8');
      const waiter = world.start(['login', '--profile', world.profile], { tty: true });
      const notice = await waiter.waitFor(/^Waiting for another tng login for profile "\S+" \(PID (\d+)\) to finish…$/m);
      assert.equal(Number(notice[1]), holder.child.pid);
      waiter.child.stdin.write('\u0003');
      const interrupted = await waiter.exited;
      assertFailure(interrupted, 130, /^tng: Interrupted while waiting for another tng process\.$/, /again/);
      assert.equal(await readFile(lockFile(world), 'utf8'), holderLock, 'the interrupted waiter touched the holder\'s lock');
      const finished = await holder.exited;
      assert.equal(finished.code, 0, finished.stderr);
      assert.equal(await exists(lockFile(world)), false);
      assert.notEqual(await liveAccessor(world), accessor);
      await assertAuditIntact(world);
    } finally {
      sandbox.vault.clearFaults();
      await world.dispose();
    }
  });
});

describe('fault matrix: logout', () => {
  it('Vault sealed during logout: exit 0 with a warning, and every local secret of the profile is gone', async () => {
    const { world } = await loggedIn(['--aws-role', 'deploy']);
    try {
      world.env.AWS_ENDPOINT_URL_STS = sandbox.stsUrl;
      assert.equal((await world.run(['exec', '--profile', world.profile, '--', 'true'])).code, 0);
      const cached = JSON.parse((await storedItem(world, 'session')) ?? '{}') as { aws?: Record<string, unknown> };
      assert.ok(Object.keys(cached.aws ?? {}).length > 0, 'the session item caches the AWS credentials');
      sandbox.vault.seal();
      const result = await world.run(['logout', '--profile', world.profile]);
      sandbox.vault.unseal();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /warning: Could not revoke the Vault token .*sealed/);
      assert.match(result.stderr, /local secrets are removed anyway/);
      for (const kind of ['session', 'refresh-token', 'keys'] as const) assert.equal(await storedItem(world, kind), undefined, `${kind} survived the logout`);
      assertFailure(await world.run(['whoami', '--profile', world.profile]), 3, /Not logged in/, /tng login/);
    } finally {
      sandbox.vault.unseal();
      await world.dispose();
    }
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENT_ID, startSandbox, type Sandbox } from '../sandbox/index.ts';
import { BROWSER_HELPER, createWorld, initProfile, login, runProcess, whoamiJson, type World } from './harness.ts';

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

async function loggedInWorld(): Promise<World> {
  const world = await createWorld();
  await initProfile(world, sandbox);
  const first = await login(world);
  assert.equal(first.code, 0, first.stdout);
  return world;
}

const refreshes = () => sandbox.oidc.stats().tokens.refresh_token ?? 0;

describe('login with the stored refresh token', () => {
  it('logs in again with no browser and no TTY', async () => {
    const world = await loggedInWorld();
    try {
      const before = refreshes();
      const again = await world.run(['login', '--profile', world.profile]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(refreshes(), before + 1);
      assert.equal((await world.browserRuns()).length, 1, 'only the first login may open the browser');
      assert.equal((await whoamiJson(world)).result.code, 0);
    } finally {
      await world.dispose();
    }
  });

  it('a refresh token invalidated by a login elsewhere: exit 3 without a TTY (session kept), the browser with one', async () => {
    const world = await loggedInWorld();
    const elsewhere = await loggedInWorld(); // same user and client: Dex keeps one refresh token, so ours is gone
    try {
      const accessor = (await whoamiJson(world)).report?.vault.accessor;
      const refused = await world.run(['login', '--profile', world.profile]);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /The issuer refused the refresh-token login \(invalid_grant/);
      assert.match(refused.stderr, /hint: .*tng login/);
      const still = await whoamiJson(world);
      assert.equal(still.result.code, 0, 'the still-valid session must survive a failed refresh');
      assert.equal(still.report?.vault.accessor, accessor);

      const interactive = await login(world);
      assert.equal(interactive.code, 0, interactive.stdout);
      assert.equal((await world.browserRuns()).length, 2);
    } finally {
      await world.dispose();
      await elsewhere.dispose();
    }
  });

  it('a client the issuer does not accept (wrong client_id or client secret): exit 4 naming the client; the refresh token is kept for the fixed profile', async () => {
    const world = await loggedInWorld();
    try {
      for (const breakIt of [
        () => world.run(['init', '--profile', world.profile, '--client-id', 'nosuch']),
        () => world.run(['init', '--profile', world.profile, '--client-secret-stdin'], { input: 'not-the-secret' }),
      ]) {
        assert.equal((await breakIt()).code, 0);
        const refused = await world.run(['login', '--profile', world.profile]);
        assert.equal(refused.code, 4, refused.stderr);
        assert.match(refused.stderr, /^tng: The issuer refused tng's client during the refresh-token login \(invalid_client/m);
        assert.match(refused.stderr, /^hint: Check client_id, and the client secret/m);
        const fixed = await world.run(['init', '--profile', world.profile, '--client-id', CLIENT_ID, '--no-client-secret']);
        assert.equal(fixed.code, 0, fixed.stderr);
        const again = await world.run(['login', '--profile', world.profile]);
        assert.equal(again.code, 0, again.stderr);
      }
      assert.equal((await world.browserRuns()).length, 1, 'the refresh token survived both refusals: no browser');
    } finally {
      await world.dispose();
    }
  });

  it('after the clock stepped back, a login still logs in anew: a session made "in the future" is no concurrent login\'s', async () => {
    const world = await loggedInWorld();
    try {
      const { createOsKeychain } = await import('../../src/keychain/os.ts');
      const { loadSession, saveSession } = await import('../../src/session/session.ts');
      const store = createOsKeychain({ env: world.env });
      const made = await loadSession(store, world.profile);
      assert.ok(made);
      await saveSession(store, { ...made, createdAt: Date.now() + 10 * 60_000 });
      const again = await world.run(['login', '--profile', world.profile]);
      assert.equal(again.code, 0, again.stderr);
      assert.doesNotMatch(again.stderr, /Another tng login/);
      assert.notEqual((await loadSession(store, world.profile))?.vault.accessor, made.vault.accessor, 'a new Vault token');
    } finally {
      await world.dispose();
    }
  });

  it('two concurrent logins make exactly one refresh at the issuer, and both succeed', async () => {
    const world = await loggedInWorld();
    try {
      const before = refreshes();
      const [a, b] = await Promise.all([world.run(['login', '--profile', world.profile]), world.run(['login', '--profile', world.profile])]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(refreshes(), before + 1);
      assert.match(a.stderr + b.stderr, /Another tng login for this profile finished while this one waited/);
      assert.equal((await whoamiJson(world)).result.code, 0);
      // The rotated refresh token that was stored still works.
      assert.equal((await world.run(['login', '--profile', world.profile])).code, 0);
    } finally {
      await world.dispose();
    }
  });

  it('recovers the lock of a login that was killed mid-way', async () => {
    const world = await loggedInWorld();
    try {
      sandbox.vault.fault({ path: 'auth/jwt/login', delayMs: 20_000, times: 1 });
      // Killed while Vault holds its login: after the issuer rotated the refresh token and tng stored the new
      // one. (Killed between the rotation and the store, the next login would rightly find the token spent.)
      const vaultLoginsBefore = sandbox.vault.count('POST', 'auth/jwt/login');
      const running = world.start(['login', '--profile', world.profile]);
      const lockPath = join(world.state, 'locks', `login-${world.profile}.lock`);
      const { access } = await import('node:fs/promises');
      for (let i = 0; i < 100; i++) {
        if (sandbox.vault.count('POST', 'auth/jwt/login') > vaultLoginsBefore && (await access(lockPath).then(() => true, () => false))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(sandbox.vault.count('POST', 'auth/jwt/login') > vaultLoginsBefore, 'the login reached Vault');
      running.child.kill('SIGKILL');
      await running.exited;
      sandbox.vault.clearFaults();
      const started = Date.now();
      const recovered = await world.run(['login', '--profile', world.profile]);
      assert.equal(recovered.code, 0, recovered.stderr);
      assert.ok(Date.now() - started < 10_000);
      assert.equal((await whoamiJson(world)).result.code, 0);
    } finally {
      sandbox.vault.clearFaults();
      await world.dispose();
    }
  });

  it('recovers a lock file whose holder no longer exists', async () => {
    const world = await loggedInWorld();
    try {
      const dead = spawn(process.execPath, ['-e', '0']);
      await new Promise((r) => dead.on('close', r));
      await mkdir(join(world.state, 'locks'), { recursive: true });
      await writeFile(join(world.state, 'locks', `login-${world.profile}.lock`), JSON.stringify({ pid: dead.pid, host: hostname(), token: 'gone', since: Date.now() }));
      const result = await world.run(['login', '--profile', world.profile]);
      assert.equal(result.code, 0, result.stderr);
    } finally {
      await world.dispose();
    }
  });
});

describe('device authorization grant', () => {
  it('--device-code prints the code, hands the URL to $BROWSER, and logs in', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const result = await login(world, ['--device-code']);
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /enter the code:\s+[A-Z0-9-]{4,}/);
      const [run] = await world.browserRuns();
      assert.match(String(run?.url), /\/dex\/device/);
      assert.equal(sandbox.oidc.stats().tokens['urn:ietf:params:oauth:grant-type:device_code'] !== undefined, true);
      assert.equal((await whoamiJson(world)).report?.oidc.email, 'alice@example.com');
    } finally {
      await world.dispose();
    }
  });

  /** A login over SSH with no display: tng must choose the device code; the person approves on another device. */
  async function sshLogin(flags: string[], env: Record<string, string | undefined>): Promise<World> {
    const world = await createWorld();
    await initProfile(world, sandbox);
    const running = world.start(['login', '--profile', world.profile, ...flags], { tty: true, env: { SSH_CONNECTION: '192.0.2.1 50000 192.0.2.2 22', ...env } });
    const [complete] = await running.waitFor(/http:\/\/127\.0\.0\.1:\d+\/dex\/device\?user_code=\S+/);
    assert.match(running.output(), /SSH session without a display: using the device-code login/);
    const approve = await runProcess(process.execPath, [BROWSER_HELPER, complete], { ...world.env, SANDBOX_BROWSER_LOG: join(world.home, 'phone.log') });
    assert.equal(approve.code, 0);
    const result = await running.exited;
    assert.equal(result.code, 0, result.stdout);
    return world;
  }

  it('is the default over SSH with no display, and says so', async () => {
    const world = await sshLogin([], { BROWSER: undefined });
    try {
      assert.deepEqual(await world.browserRuns(), []);
    } finally {
      await world.dispose();
    }
  });

  it('over SSH a $BROWSER set in the dotfiles does not change the default, and --no-browser keeps the code out of it', async () => {
    const world = await sshLogin(['--no-browser'], {});
    try {
      assert.ok(world.env.BROWSER, 'the world has a $BROWSER');
      assert.deepEqual(await world.browserRuns(), [], '--no-browser: $BROWSER was not run');
    } finally {
      await world.dispose();
    }
  });
});

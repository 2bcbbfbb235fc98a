import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { freePort, startSandbox, type Sandbox } from '../sandbox/index.ts';
import { createWorld, initProfile, login, whoamiJson, type World } from './harness.ts';

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

async function freshWorld(extra: string[] = []): Promise<World> {
  const world = await createWorld();
  await initProfile(world, sandbox, extra);
  return world;
}

function revokeSelfCount(): number {
  return sandbox.vault.count('POST', 'auth/token/revoke-self');
}

describe('tng login → whoami → logout against the sandbox', () => {
  it('logs in through the browser and whoami --json shows the chain', async () => {
    const world = await freshWorld();
    try {
      const result = await login(world);
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /Logged in as alice@example\.com/);

      const { result: who, report } = await whoamiJson(world);
      assert.equal(who.code, 0, who.stderr);
      assert.ok(report);
      assert.deepEqual(Object.keys(report).sort(), ['audit', 'aws', 'hardware', 'oidc', 'profile', 'vault']);
      assert.equal(report.profile, world.profile);
      assert.equal(report.hardware, null);
      assert.equal(report.aws, null);
      assert.equal(report.audit.entries, 2, 'the login and its session are in the audit trail');
      assert.equal(report.audit.verified, true);
      assert.match(report.audit.last_id, /^[0-9a-f-]{36}$/);
      assert.equal(report.oidc.issuer, sandbox.issuer);
      assert.equal(report.oidc.email, 'alice@example.com');
      assert.ok(typeof report.oidc.subject === 'string' && report.oidc.subject.length > 0);
      assert.deepEqual(report.oidc.groups, ['engineers', 'platform']);
      assert.match(report.oidc.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.deepEqual(Object.keys(report.vault).sort(), ['accessor', 'addr', 'display_name', 'entity_id', 'expires_at', 'policies', 'renewable']);
      assert.equal(report.vault.addr, sandbox.vaultAddr);
      assert.equal(report.vault.display_name, 'jwt-alice@example.com');
      assert.ok(report.vault.policies.includes('engineer'));
      assert.equal(report.vault.renewable, true);
      const ttl = (Date.parse(report.vault.expires_at) - Date.now()) / 1000;
      assert.ok(ttl > 800 && ttl <= 900, `Vault token TTL ${ttl}`);
      const live = sandbox.vault.tokens().filter((t) => !t.revoked && t.accessor === report.vault.accessor);
      assert.equal(live.length, 1);

      // The human form goes to stderr; stdout stays empty.
      const human = await world.run(['whoami', '--profile', world.profile]);
      assert.equal(human.code, 0);
      assert.equal(human.stdout, '');
      assert.match(human.stderr, /alice@example\.com/);
    } finally {
      await world.dispose();
    }
  });

  it('a second login replaces the session and revokes the first Vault token', async () => {
    const world = await freshWorld();
    try {
      assert.equal((await login(world)).code, 0);
      const first = (await whoamiJson(world)).report?.vault.accessor as string;
      const revokesBefore = revokeSelfCount();
      const second = await login(world);
      assert.equal(second.code, 0, second.stdout);
      const now = (await whoamiJson(world)).report?.vault.accessor as string;
      assert.notEqual(now, first);
      assert.equal(revokeSelfCount(), revokesBefore + 1);
      const tokens = sandbox.vault.tokens();
      assert.equal(tokens.find((t) => t.accessor === first)?.revoked, true);
      assert.equal(tokens.find((t) => t.accessor === now)?.revoked, false);
    } finally {
      await world.dispose();
    }
  });

  it('logout revokes the token; whoami then exits 3; a second logout is fine', async () => {
    const world = await freshWorld();
    try {
      assert.equal((await login(world)).code, 0);
      const accessor = (await whoamiJson(world)).report?.vault.accessor as string;
      const before = revokeSelfCount();
      const out = await world.run(['logout', '--profile', world.profile]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(revokeSelfCount(), before + 1);
      assert.equal(sandbox.vault.tokens().find((t) => t.accessor === accessor)?.revoked, true);
      const who = await world.run(['whoami', '--profile', world.profile]);
      assert.equal(who.code, 3);
      assert.match(who.stderr, /Not logged in/);
      assert.match(who.stderr, /tng login/);
      const again = await world.run(['logout', '--profile', world.profile]);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /not logged in/);
    } finally {
      await world.dispose();
    }
  });

  it('logout with Vault unreachable still removes local secrets and exits 0', async () => {
    const world = await freshWorld();
    try {
      assert.equal((await login(world)).code, 0);
      sandbox.vault.fault({ path: 'auth/token/revoke-self', status: 500 });
      const out = await world.run(['logout', '--profile', world.profile]);
      sandbox.vault.clearFaults();
      assert.equal(out.code, 0);
      assert.match(out.stderr, /warning: Could not revoke/);
      assert.equal((await world.run(['whoami', '--profile', world.profile])).code, 3);
    } finally {
      sandbox.vault.clearFaults();
      await world.dispose();
    }
  });
});

describe('tng login failures', () => {
  it('an ID token for another audience is denied by Vault → exit 4', async () => {
    const world = await freshWorld(['--vault-role', 'other-audience']);
    try {
      const result = await login(world);
      assert.equal(result.code, 4, result.stdout);
      assert.match(result.stdout, /Vault refused the login/);
      assert.match(result.stdout, /hint: /);
    } finally {
      await world.dispose();
    }
  });

  it('Vault sealed → exit 6, and the previous session survives', async () => {
    const world = await freshWorld();
    try {
      assert.equal((await login(world)).code, 0);
      const accessor = (await whoamiJson(world)).report?.vault.accessor;
      sandbox.vault.seal();
      const failed = await login(world);
      sandbox.vault.unseal();
      assert.equal(failed.code, 6, failed.stdout);
      assert.match(failed.stdout, /sealed/);
      const { result, report } = await whoamiJson(world);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(report?.vault.accessor, accessor);
    } finally {
      sandbox.vault.unseal();
      await world.dispose();
    }
  });

  it('issuer down → exit 6 with a hint', async () => {
    const world = await createWorld();
    try {
      const closed = await freePort();
      await initProfile(world, { ...sandbox, issuer: `http://127.0.0.1:${closed}/dex` });
      const result = await login(world);
      assert.equal(result.code, 6, result.stdout);
      assert.match(result.stdout, new RegExp(`Cannot reach the issuer at http://127\\.0\\.0\\.1:${closed}/dex \\(ECONNREFUSED\\)`));
      assert.match(result.stdout, /hint: /);
    } finally {
      await world.dispose();
    }
  });

  it('no keychain (no D-Bus session) → exit 7, quickly', async () => {
    const world = await freshWorld();
    try {
      const started = Date.now();
      const result = await login(world, [], { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus', XDG_RUNTIME_DIR: world.home });
      assert.equal(result.code, 7, result.stdout);
      assert.match(result.stdout, /keychain/i);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      await world.dispose();
    }
  });

  it('unknown profile → exit 2 naming it', async () => {
    const world = await freshWorld();
    try {
      for (const command of [['whoami'], ['exec', '--', 'true'], ['credential-process'], ['login'], ['logout'], ['audit']]) {
        const [name, ...rest] = command as [string, ...string[]];
        const result = await world.run([name, '--profile', 'no-such-profile', ...rest]);
        assert.equal(result.code, 2, `${name}: ${result.stderr}`);
        assert.match(result.stderr, /^tng: Unknown profile "no-such-profile"/m, name);
        assert.match(result.stderr, /^hint: /m, name);
      }
      // doctor reports it as its config check, and exits 2 too.
      const doctor = await world.run(['doctor', '--profile', 'no-such-profile']);
      assert.equal(doctor.code, 2, doctor.stderr);
      assert.match(doctor.stderr, /config +Unknown profile "no-such-profile"/);
    } finally {
      await world.dispose();
    }
  });

  it('bad flags → exit 2', async () => {
    const world = await freshWorld();
    try {
      const result = await world.run(['login', '--bogus']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /unknown option/);
    } finally {
      await world.dispose();
    }
  });

  it('without a TTY and without a refresh token, login exits 3 and opens no browser', async () => {
    const world = await freshWorld();
    try {
      const result = await world.run(['login', '--profile', world.profile]);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /tng login/);
      assert.deepEqual(await world.browserRuns(), []);
    } finally {
      await world.dispose();
    }
  });

  it('the login denied at the issuer → exit 4', async () => {
    const world = await freshWorld();
    try {
      const result = await login(world, [], { SANDBOX_BROWSER_MODE: 'deny' });
      assert.equal(result.code, 4, result.stdout);
      assert.match(result.stdout, /access_denied/);
    } finally {
      await world.dispose();
    }
  });
});

describe('the loopback listener', () => {
  it('refuses a callback with the wrong state and still completes the real one', async () => {
    const world = await freshWorld();
    try {
      const result = await login(world, [], { SANDBOX_BROWSER_MODE: 'wrong-state' });
      assert.equal(result.code, 0, result.stdout);
      const [run] = await world.browserRuns();
      const extra = JSON.stringify(run?.extra);
      assert.match(extra, /400/);
    } finally {
      await world.dispose();
    }
  });

  it('accepts one code only: a second callback is refused', async () => {
    const world = await freshWorld();
    try {
      const result = await login(world, [], { SANDBOX_BROWSER_MODE: 'replay' });
      assert.equal(result.code, 0, result.stdout);
      const [run] = await world.browserRuns();
      const extra = JSON.stringify(run?.extra);
      assert.doesNotMatch(extra, /"status":200/);
      assert.match(extra, /ECONNREFUSED|ECONNRESET|410|socket hang up/);
    } finally {
      await world.dispose();
    }
  });

  it('listens on 127.0.0.1 only, and Ctrl-C while waiting exits 130', async () => {
    const world = await freshWorld();
    try {
      const running = world.start(['login', '--profile', world.profile], { tty: true, env: { SANDBOX_BROWSER_MODE: 'noop' } });
      let redirect: URL | undefined;
      for (let i = 0; i < 100 && redirect === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const [run] = await world.browserRuns();
        if (run?.url) redirect = new URL(new URL(run.url as string).searchParams.get('redirect_uri') as string);
      }
      assert.ok(redirect, `no authorization URL reached the browser: ${running.output()}`);
      assert.equal(redirect.hostname, '127.0.0.1');
      assert.equal(redirect.pathname, '/callback');
      const port = Number(redirect.port);
      const others = ['::1', ...Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal).map((a) => a!.address)];
      for (const host of others) {
        const outcome = await new Promise<string>((resolve) => {
          const socket = connect({ host, port }, () => {
            socket.destroy();
            resolve('connected');
          });
          socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        });
        assert.notEqual(outcome, 'connected', `the listener answered on ${host}`);
      }
      // Ctrl-C on the terminal: script forwards it as SIGINT to tng.
      await running.waitFor(/Waiting for the login/);
      running.child.stdin.write('\u0003');
      const result = await running.exited;
      assert.equal(result.code, 130, result.stdout);
      assert.match(result.stdout, /interrupted/i);
    } finally {
      await world.dispose();
    }
  });
});

/**
 * The fault matrix, servers' half (issue 10): the issuer and Vault failing in each way the matrix names.
 * Every test checks the exit code, tng's two lines, and what survived — a failed login or refresh never
 * deletes a still-valid session. Rows covered in other files are listed in SECURITY.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { issuedSecrets } from '../sandbox/secrets.ts';
import { assertFailure, assertSessionKept, loggedInWorld, liveAccessor, storedItem } from './fault-helpers.ts';
import { login, whoamiJson, type World } from './harness.ts';

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

/** A world with a session from a browser login, and so a stored refresh token. */
const loggedIn = (extra: string[] = []) => loggedInWorld(sandbox, extra);

/** `tng login` without a terminal: the refresh-token path, the one a script or a cron job takes. */
const relogin = (world: World) => world.run(['login', '--profile', world.profile]);

function cleanUp(): void {
  sandbox.oidc.clearFaults();
  sandbox.vault.clearFaults();
  sandbox.vault.unseal();
  sandbox.vault.setStandby(false);
  sandbox.vault.setClockSkew(0);
  sandbox.oidc.setClockSkew(0);
}

describe('fault matrix: the issuer', () => {
  it('issuer down: exit 6 naming the issuer; the session and the refresh token stay, and work once it is back', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const refresh = await storedItem(world, 'refresh-token');
      await sandbox.oidc.down();
      const result = await relogin(world);
      await sandbox.oidc.up();
      assertFailure(result, 6, new RegExp(`^tng: Cannot reach the issuer at ${sandbox.issuer.replace(/\./g, '\\.')} \\(ECONNREFUSED\\)\\.$`), /server is up/);
      await assertSessionKept(world, accessor);
      assert.equal(await storedItem(world, 'refresh-token'), refresh, 'the refresh token was touched');
      const again = await relogin(world);
      assert.equal(again.code, 0, again.stderr);
    } finally {
      await sandbox.oidc.up();
      cleanUp();
      await world.dispose();
    }
  });

  it('issuer slow: after the 15 s request limit, exit 6 saying it did not answer in time; the session stays', { timeout: 60_000 }, async () => {
    const { world, accessor } = await loggedIn();
    try {
      const refresh = await storedItem(world, 'refresh-token');
      sandbox.oidc.fault({ path: '/.well-known/openid-configuration', delayMs: 17_000, times: 1 });
      const started = Date.now();
      const result = await world.run(['login', '--profile', world.profile], { timeoutMs: 40_000 });
      const waited = Date.now() - started;
      assertFailure(result, 6, /^tng: The issuer at \S+ did not answer in time\.$/, /Check the network/);
      assert.ok(waited >= 14_000 && waited < 17_000, `gave up after ${waited} ms`);
      await assertSessionKept(world, accessor);
      assert.equal(await storedItem(world, 'refresh-token'), refresh);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('issuer 500 at the token endpoint: exit 6; the refresh token is not thrown away and works on the next try', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const refresh = await storedItem(world, 'refresh-token');
      sandbox.oidc.fault({ path: '/token', status: 500, times: 1 });
      const result = await relogin(world);
      assertFailure(result, 6, /^tng: The issuer \S+ failed during the refresh-token login \(HTTP 500\)\.$/, /retry shortly/);
      await assertSessionKept(world, accessor);
      assert.equal(await storedItem(world, 'refresh-token'), refresh);
      const again = await relogin(world);
      assert.equal(again.code, 0, again.stderr);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('issuer 412 (precondition failed): exit 6 whatever the body, at the token endpoint and at discovery; the session and the refresh token stay', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const refresh = await storedItem(world, 'refresh-token');
      for (const fault of [
        { path: '/token', status: 412 },
        { path: '/token', status: 412, body: 'Precondition Failed' },
        { path: '/.well-known/openid-configuration', status: 412 },
      ]) {
        sandbox.oidc.fault({ ...fault, times: 1 });
        const stage = fault.path === '/token' ? 'the refresh-token login' : 'discovery';
        assertFailure(await relogin(world), 6, new RegExp(`^tng: The issuer \\S+ failed during ${stage} \\(HTTP 412\\)\\.$`), /retry shortly/);
        sandbox.oidc.clearFaults();
      }
      await assertSessionKept(world, accessor);
      assert.equal(await storedItem(world, 'refresh-token'), refresh);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('JWKS rotated mid-session: the session keeps working, and the next login validates a token signed with the new key', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const before = sandbox.oidc.signingKeyId();
      sandbox.oidc.rotateSigningKey();
      assert.notEqual(sandbox.oidc.signingKeyId(), before);
      await assertSessionKept(world, accessor);
      const again = await relogin(world);
      assert.equal(again.code, 0, again.stderr);
      // The new session came from an ID token signed with the new key, checked by tng and by Vault.
      const idTokens = issuedSecrets().filter((s) => s.kind === 'id-token');
      const header = JSON.parse(Buffer.from((idTokens.at(-1)?.value ?? '').split('.')[0] ?? '', 'base64url').toString()) as { kid?: string };
      assert.equal(header.kid, sandbox.oidc.signingKeyId());
      assert.notEqual(await liveAccessor(world), accessor);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('refresh token expired: on a terminal, the browser; without one, exit 3 (session kept, no browser)', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.oidc.expireRefreshTokens();
      const interactive = await login(world);
      assert.equal(interactive.code, 0, interactive.stdout);
      assert.match(interactive.stdout, /The stored refresh token is no longer valid; logging in again/);
      assert.equal((await world.browserRuns()).length, 2);
      const renewed = await liveAccessor(world);

      sandbox.oidc.expireRefreshTokens();
      const refused = await relogin(world);
      assertFailure(refused, 3, /^tng: The issuer refused the refresh-token login \([^()]*invalid_grant[^()]*\); a new login needs a person at a terminal\.$/, /tng login/);
      await assertSessionKept(world, renewed);
      assert.notEqual(renewed, accessor);
      assert.equal((await world.browserRuns()).length, 2, 'no browser without a terminal');
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('refresh token revoked at the issuer: exit 3 without a terminal, and the session is kept', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.oidc.revokeRefreshTokens();
      const refused = await relogin(world);
      assertFailure(refused, 3, /^tng: The issuer refused the refresh-token login \(invalid_grant/, /^hint: Run `tng login` \(with the same --profile\) in a terminal: it needs you, in a browser or with --device-code\.$/);
      await assertSessionKept(world, accessor);
      // The dead token is dropped, so the next run says plainly that a person is needed.
      assert.equal(await storedItem(world, 'refresh-token'), undefined);
      assertFailure(await relogin(world), 3, /\(no TTY, and no stored refresh token\)\.$/, /tng login` \(with the same --profile\) in a terminal/);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });
});

describe('fault matrix: Vault', () => {
  it('sealed: login and whoami exit 6 saying so; the session and the refresh token survive', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.vault.seal();
      assertFailure(await relogin(world), 6, /^tng: Vault at \S+ is sealed\.$/, /unseal/);
      assertFailure(await world.run(['whoami', '--profile', world.profile]), 6, /is sealed/, /unseal/);
      sandbox.vault.unseal();
      await assertSessionKept(world, accessor);
      // The refresh spent at the issuer before Vault refused was rotated and stored: the next login works.
      assert.equal((await relogin(world)).code, 0);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('standby (no active node): exit 6 with Vault\'s reason; the session survives', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.vault.setStandby(true);
      assertFailure(await relogin(world), 6, /^tng: Vault at \S+ could not serve auth\/jwt\/login \(HTTP 503: local node not active/, /standby node/);
      sandbox.vault.setStandby(false);
      await assertSessionKept(world, accessor);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('403 at login: exit 4 (denied); the previous session survives and is not revoked', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.vault.fault({ path: 'auth/jwt/login', status: 403, body: { errors: ['permission denied'] }, times: 1 });
      assertFailure(await relogin(world), 4, /^tng: Vault refused the login \(auth\/jwt\/login, HTTP 403: permission denied\)\.$/, /vault_role/);
      await assertSessionKept(world, accessor);
      assert.equal(sandbox.vault.tokens().find((t) => t.accessor === accessor)?.revoked, false);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('403 from the AWS engine with a valid token: exit 4 naming the path; the session survives', async () => {
    const { world, accessor } = await loggedIn(['--aws-role', 'deploy']);
    try {
      sandbox.vault.fault({ path: 'aws/sts/deploy', status: 403, body: { errors: ['permission denied'] }, times: 1 });
      const result = await world.run(['exec', '--profile', world.profile, '--', 'true']);
      assertFailure(result, 4, /^tng: Vault denied aws\/sts\/deploy \(HTTP 403: permission denied\)\.$/, /policy/);
      await assertSessionKept(world, accessor);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('429 (rate limited): exit 6; the session survives', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.vault.fault({ path: 'auth/jwt/login', status: 429, body: { errors: ['request path "auth/jwt/login": rate limit quota exceeded'] }, times: 1 });
      assertFailure(await relogin(world), 6, /^tng: Vault at \S+ could not serve auth\/jwt\/login \(HTTP 429: .*rate limit quota exceeded\)\.$/, /rate-limited/);
      await assertSessionKept(world, accessor);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('500 once: a read (lookup-self) is retried once and succeeds; a login is not retried (exit 6, session kept)', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const lookups = sandbox.vault.count('GET', 'auth/token/lookup-self');
      sandbox.vault.fault({ path: 'auth/token/lookup-self', status: 500, times: 1 });
      const { result, report } = await whoamiJson(world);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(report?.vault.accessor, accessor);
      assert.equal(sandbox.vault.count('GET', 'auth/token/lookup-self'), lookups + 2, 'exactly one retry');

      const logins = sandbox.vault.count('POST', 'auth/jwt/login');
      sandbox.vault.fault({ path: 'auth/jwt/login', status: 500, times: 1 });
      assertFailure(await relogin(world), 6, /^tng: Vault at \S+ could not serve auth\/jwt\/login \(HTTP 500: sandbox fault: HTTP 500\)\.$/, /retry shortly/);
      assert.equal(sandbox.vault.count('POST', 'auth/jwt/login'), logins + 1, 'a login must never be sent twice');
      await assertSessionKept(world, accessor);
      assert.equal((await relogin(world)).code, 0);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('a read failing twice in a row is exit 6 after exactly two requests (the retry is bounded)', async () => {
    const { world, accessor } = await loggedIn();
    try {
      const lookups = sandbox.vault.count('GET', 'auth/token/lookup-self');
      sandbox.vault.fault({ path: 'auth/token/lookup-self', status: 502, times: 2 });
      assertFailure(await world.run(['whoami', '--profile', world.profile]), 6, /could not serve auth\/token\/lookup-self \(HTTP 502/, /retry shortly/);
      assert.equal(sandbox.vault.count('GET', 'auth/token/lookup-self'), lookups + 2);
      await assertSessionKept(world, accessor);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('Vault token revoked from outside: exec without a terminal exits 3 before running anything; a refresh login repairs it', async () => {
    const { world, accessor } = await loggedIn(['--aws-role', 'deploy']);
    try {
      sandbox.vault.revokeAccessor(accessor);
      const marker = `${world.home}/ran`;
      const result = await world.run(['exec', '--profile', world.profile, '--', 'touch', marker]);
      assertFailure(result, 3, /^tng: Vault no longer accepts the session token \(it expired or was revoked\)\.$/, /^hint: Run `tng login`/);
      assert.equal(await import('node:fs/promises').then((fs) => fs.access(marker).then(() => true, () => false)), false, 'the command ran');
      assertFailure(await world.run(['whoami', '--profile', world.profile]), 3, /no longer accepts the session token/, /tng login/);
      // Nothing else was thrown away: the refresh token still makes a new session without a person.
      assert.notEqual(await storedItem(world, 'refresh-token'), undefined);
      assert.equal((await relogin(world)).code, 0);
      assert.equal((await world.run(['exec', '--profile', world.profile, '--', 'true'])).code, 0);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });
});

describe('fault matrix: clocks', () => {
  it('this machine 5 minutes ahead of both servers: doctor warns naming each, hints at time sync, exit 0, nothing changed', async () => {
    const { world, accessor } = await loggedIn();
    try {
      sandbox.vault.setClockSkew(-300);
      sandbox.oidc.setClockSkew(-300);
      const result = await world.run(['doctor', '--json', '--profile', world.profile]);
      assert.equal(result.code, 0, result.stderr);
      const clock = (JSON.parse(result.stdout) as { checks: Array<{ name: string; status: string; detail: string; hint: string }> }).checks.find((c) => c.name === 'clock');
      assert.equal(clock?.status, 'warn');
      assert.match(clock?.detail ?? '', /the local clock is (299|300|301) s ahead of the issuer at \S+ \(Date header\)/);
      assert.match(clock?.detail ?? '', /the local clock is (299|300|301) s ahead of Vault at \S+/);
      assert.match(clock?.hint ?? '', /time synchronisation/);
      await assertSessionKept(world, accessor);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });

  it('the issuer 5 minutes fast, Vault in step: doctor blames the issuer\'s clock', async () => {
    const { world } = await loggedIn();
    try {
      sandbox.oidc.setClockSkew(300);
      const result = await world.run(['doctor', '--profile', world.profile]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^! clock +the local clock is (299|300|301) s behind the issuer/m);
      assert.match(result.stderr, /agrees with Vault, so the clock of the issuer is probably wrong/);
    } finally {
      cleanUp();
      await world.dispose();
    }
  });
});

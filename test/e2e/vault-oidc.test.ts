import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { createWorld, initProfile, login, whoamiJson } from './harness.ts';

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

describe('vault_auth = "oidc": Vault does the OIDC login itself', () => {
  it('logs in through auth_url → browser → localhost callback → Vault callback, every time through the browser', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox, ['--vault-auth', 'oidc', '--redirect-port', String(sandbox.vaultOidcPort)]);
      const result = await login(world);
      assert.equal(result.code, 0, result.stdout);
      const [run] = await world.browserRuns();
      const authUrl = new URL(String(run?.url));
      assert.equal(authUrl.origin + authUrl.pathname, `${sandbox.issuer}/auth`);
      assert.equal(authUrl.searchParams.get('redirect_uri'), `http://localhost:${sandbox.vaultOidcPort}/oidc/callback`);
      assert.equal(authUrl.searchParams.get('client_id'), 'vault');
      assert.equal(sandbox.vault.count('POST', 'auth/oidc/oidc/auth_url'), 1);
      assert.equal(sandbox.vault.count('GET', 'auth/oidc/oidc/callback'), 1);

      const { result: who, report } = await whoamiJson(world);
      assert.equal(who.code, 0, who.stderr);
      assert.equal(report?.vault.display_name, 'oidc-alice@example.com');
      assert.deepEqual(report?.oidc, { issuer: sandbox.issuer, subject: null, email: null, groups: null, expires_at: null });

      // No refresh token in this mode: the next login goes through the browser again, and needs a TTY.
      const noTty = await world.run(['login', '--profile', world.profile]);
      assert.equal(noTty.code, 3, noTty.stderr);
      assert.equal((await login(world)).code, 0);
      assert.equal((await world.browserRuns()).length, 2);
    } finally {
      await world.dispose();
    }
  });

  it('an empty auth_url (redirect not allowed for the role) is a configuration error', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox, ['--vault-auth', 'oidc', '--redirect-port', String(sandbox.vaultOidcPort)]);
      sandbox.vault.setOidcRole('engineer', { role_type: 'oidc', bound_audiences: ['vault'], allowed_redirect_uris: ['http://127.0.0.1:8250/oidc/callback'], user_claim: 'email', token_policies: ['engineer'] }, 'oidc');
      const result = await login(world);
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stdout, /does not allow the redirect URI http:\/\/localhost:\d+\/oidc\/callback/);
      assert.match(result.stdout, /allowed_redirect_uris/);
      assert.deepEqual(await world.browserRuns(), []);
    } finally {
      const { ENGINEER_OIDC_ROLE } = await import('../sandbox/index.ts');
      sandbox.vault.setOidcRole('engineer', ENGINEER_OIDC_ROLE, 'oidc');
      await world.dispose();
    }
  });

  it('--device-code is refused in this mode (exit 2)', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox, ['--vault-auth', 'oidc']);
      const result = await login(world, ['--device-code']);
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stdout, /device-code login is not available with vault_auth = "oidc"/);
    } finally {
      await world.dispose();
    }
  });
});

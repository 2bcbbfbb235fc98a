import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createOsKeychain } from '../../src/keychain/os.ts';
import { jwtMount, startSandbox, type Sandbox } from '../sandbox/index.ts';
import { startProxySandbox } from '../sandbox/proxy.ts';
import { createTestPki, type TestPki } from '../sandbox/tls.ts';
import { startVaultSandbox, type VaultSandbox } from '../sandbox/vault/index.ts';
import { createWorld, initProfile, login, whoamiJson } from './harness.ts';

let sandbox: Sandbox;
let pki: TestPki;
let httpsVault: VaultSandbox;
before(async () => {
  sandbox = await startSandbox();
  pki = await createTestPki({ names: ['vault.sandbox.test', 'localhost', '127.0.0.1'] });
  // A Vault served over HTTPS under a name only the sandbox proxy can resolve.
  httpsVault = await startVaultSandbox({ tls: { certPem: pki.certPem, keyPem: pki.keyPem }, publicHost: 'vault.sandbox.test', jwt: jwtMount(sandbox.issuer) });
});
after(async () => {
  await httpsVault.close();
  await sandbox.close();
  await pki.remove();
});

describe('proxies', () => {
  it('sends Vault through HTTPS_PROXY (CONNECT, TLS end to end) and the loopback issuer straight', async () => {
    const proxy = await startProxySandbox({ hosts: { 'vault.sandbox.test': `127.0.0.1:${httpsVault.port}` } });
    const world = await createWorld();
    try {
      await initProfile({ ...world }, { ...sandbox, vaultAddr: httpsVault.addr }, ['--vault-cacert', pki.caPath]);
      const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url };
      const result = await login(world, [], env);
      assert.equal(result.code, 0, result.stdout);
      const who = await world.run(['whoami', '--json', '--profile', world.profile], { env });
      assert.equal(who.code, 0, who.stderr);
      const targets = proxy.requests().map((r) => `${r.method} ${r.target}`);
      assert.ok(targets.some((t) => t === `CONNECT vault.sandbox.test:${httpsVault.port}`), targets.join('\n'));
      assert.ok(targets.every((t) => !t.includes('127.0.0.1') && !t.includes('localhost')), `loopback went through the proxy: ${targets.join('\n')}`);
      assert.ok(sandbox.oidc.stats().tokens.authorization_code! > 0);
    } finally {
      await world.dispose();
      await proxy.close();
    }
  });

  it('a proxy that wants credentials: exit 6 saying so (not "cannot reach"); with them in HTTPS_PROXY it works, and they are never printed', async () => {
    const credentials = { username: 'alice', password: 'proxy-pass-7f3a' };
    const proxy = await startProxySandbox({ hosts: { 'vault.sandbox.test': `127.0.0.1:${httpsVault.port}` }, requireAuth: credentials });
    const world = await createWorld();
    try {
      await initProfile({ ...world }, { ...sandbox, vaultAddr: httpsVault.addr }, ['--vault-cacert', pki.caPath]);
      const refused = await login(world, [], { HTTPS_PROXY: proxy.url });
      assert.equal(refused.code, 6, refused.stdout);
      const lines = refused.stdout.split('\n');
      const at = lines.findIndex((line) => line.startsWith('tng: '));
      assert.equal(lines[at], `tng: The proxy refused to connect tng to Vault at ${httpsVault.addr} (HTTP 407: it wants credentials).`);
      assert.match(lines[at + 1] ?? '', /^hint: The proxy wants credentials: give them in the proxy variable \(http:\/\/USER:PASSWORD@HOST:PORT\), or list vault\.sandbox\.test in NO_PROXY\.$/);

      const withCredentials = new URL(proxy.url);
      withCredentials.username = credentials.username;
      withCredentials.password = credentials.password;
      const env = { HTTPS_PROXY: withCredentials.href };
      const result = await login(world, [], env);
      assert.equal(result.code, 0, result.stdout);
      const who = await world.run(['whoami', '--profile', world.profile], { env: { ...env, TNG_DEBUG: '1' } });
      assert.equal(who.code, 0, who.stderr);
      for (const output of [refused.stdout, result.stdout, who.stdout, who.stderr]) assert.ok(!output.includes(credentials.password), output);
      assert.ok(proxy.requests().some((r) => r.method === 'CONNECT' && r.status === 200));
    } finally {
      await world.dispose();
      await proxy.close();
    }
  });
});

describe('plain http:// off this machine', () => {
  it('a loopback issuer whose discovery names an off-machine http:// token endpoint: exit 2, the refresh token is never sent', async () => {
    const proxy = await startProxySandbox({ hosts: { 'idp.sandbox.test': '127.0.0.1' } });
    let issuer = '';
    const discovery = createServer((req, res) => {
      if (req.url !== '/dex/.well-known/openid-configuration') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: 'http://idp.sandbox.test/dex/token',
          jwks_uri: `${issuer}/keys`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    });
    await new Promise<void>((resolve) => discovery.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(discovery.address() as AddressInfo).port}/dex`;
    const world = await createWorld();
    const refreshItem = `profile:${world.profile}:refresh-token`;
    try {
      await initProfile(world, { ...sandbox, issuer });
      await createOsKeychain().set(refreshItem, 'planted-refresh-token');
      const result = await world.run(['login', '--profile', world.profile], { env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^tng: tng was asked to send a request to http:\/\/idp\.sandbox\.test\/dex\/token, which is not https:\/\/ and not on this machine; it sent nothing\.$/m);
      assert.match(result.stderr, /^hint: Make the issuer advertise https:\/\/ endpoints/m);
      assert.deepEqual(proxy.requests(), []);
      assert.equal(await createOsKeychain().get(refreshItem), 'planted-refresh-token', 'the refresh token was thrown away');
    } finally {
      await createOsKeychain().delete(refreshItem);
      await world.dispose();
      await proxy.close();
      discovery.close();
    }
  });
});

describe('a proxy that cannot be reached', () => {
  it('is named in the error (without its password), exit 6, and the session from before is kept', async () => {
    const proxy = await startProxySandbox({ hosts: { 'vault.sandbox.test': `127.0.0.1:${httpsVault.port}` } });
    const world = await createWorld();
    try {
      await initProfile({ ...world }, { ...sandbox, vaultAddr: httpsVault.addr }, ['--vault-cacert', pki.caPath]);
      assert.equal((await login(world, [], { HTTPS_PROXY: proxy.url })).code, 0);
      const before = await world.run(['whoami', '--json', '--no-verify', '--profile', world.profile], { env: { HTTPS_PROXY: proxy.url } });
      assert.equal(before.code, 0, before.stderr);

      const down = new URL(proxy.url);
      await proxy.close();
      const withPassword = new URL(down);
      withPassword.username = 'alice';
      withPassword.password = 'proxy-pass-down-41';
      const failed = await login(world, [], { HTTPS_PROXY: withPassword.href });
      assert.equal(failed.code, 6, failed.stdout);
      const lines = failed.stdout.split('\n');
      const at = lines.findIndex((line) => line.startsWith('tng: '));
      assert.equal(lines[at], `tng: Cannot reach Vault at ${httpsVault.addr} through the proxy ${down.origin} (ECONNREFUSED).`);
      assert.equal(lines[at + 1], 'hint: Check that the proxy in HTTPS_PROXY / HTTP_PROXY is right and up, or list vault.sandbox.test in NO_PROXY.');
      assert.ok(!failed.stdout.includes('proxy-pass-down-41'));

      const again = await startProxySandbox({ hosts: { 'vault.sandbox.test': `127.0.0.1:${httpsVault.port}` } });
      try {
        const after = await world.run(['whoami', '--json', '--no-verify', '--profile', world.profile], { env: { HTTPS_PROXY: again.url } });
        assert.equal(after.code, 0, after.stderr);
        assert.equal(JSON.parse(after.stdout).vault.accessor, JSON.parse(before.stdout).vault.accessor, 'the failed login replaced the session');
      } finally {
        await again.close();
      }
    } finally {
      await world.dispose();
    }
  });
});

describe('TLS trust', () => {
  it('an untrusted Vault certificate is exit 6 with a hint at vault_cacert; with vault_cacert it works', async () => {
    const world = await createWorld();
    try {
      const direct = `https://127.0.0.1:${httpsVault.port}`;
      await initProfile(world, { ...sandbox, vaultAddr: direct });
      const untrusted = await login(world);
      assert.equal(untrusted.code, 6, untrusted.stdout);
      assert.match(untrusted.stdout, /certificate tng does not trust/);
      assert.match(untrusted.stdout, /vault_cacert/);

      const wrongCa = await world.run(['init', '--profile', world.profile, '--vault-cacert', pki.otherCaPath]);
      assert.equal(wrongCa.code, 0);
      assert.equal((await login(world)).code, 6);

      assert.equal((await world.run(['init', '--profile', world.profile, '--vault-cacert', pki.caPath])).code, 0);
      const trusted = await login(world);
      assert.equal(trusted.code, 0, trusted.stdout);
      assert.equal((await whoamiJson(world)).report?.vault.addr, direct);
    } finally {
      await world.dispose();
    }
  });

  it('no switch turns verification off: VAULT_SKIP_VERIFY and NODE_TLS_REJECT_UNAUTHORIZED=0 change nothing (exit 6, the hint names vault_cacert)', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, { ...sandbox, vaultAddr: `https://127.0.0.1:${httpsVault.port}` });
      const skip = { VAULT_SKIP_VERIFY: '1', VAULT_SKIP_VERIFY_TLS: 'true', NODE_TLS_REJECT_UNAUTHORIZED: '0' };
      const result = await login(world, [], skip);
      assert.equal(result.code, 6, result.stdout);
      assert.match(result.stdout, /^tng: Vault at \S+ presented a certificate tng does not trust \(\w+\)\.$/m);
      assert.match(result.stdout, /^hint: .*vault_cacert/m);
      assert.doesNotMatch(result.stdout.split('\n').find((l) => l.startsWith('hint: ')) ?? '', /skip|insecure|NODE_TLS/i, 'the hint must not suggest turning verification off');
    } finally {
      await world.dispose();
    }
  });

  it('nor for STS: with NODE_TLS_REJECT_UNAUTHORIZED=0, an STS endpoint with an untrusted certificate is not believed (exit 6)', async () => {
    const world = await createWorld();
    const { createServer } = await import('node:https');
    // An impostor STS that would vouch for any identity, behind a certificate no one trusts.
    const impostor = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::999999999999:user/impostor</Arn><UserId>AIDAIMPOSTOR</UserId><Account>999999999999</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>');
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      await initProfile(world, sandbox, ['--aws-role', 'deploy']);
      assert.equal((await login(world)).code, 0);
      assert.equal((await world.run(['exec', '--profile', world.profile, '--', 'true'])).code, 0);
      const port = (impostor.address() as { port: number }).port;
      const result = await world.run(['whoami', '--profile', world.profile], { env: { AWS_ENDPOINT_URL_STS: `https://127.0.0.1:${port}`, NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
      assert.equal(result.code, 6, result.stderr);
      assert.doesNotMatch(result.stderr, /impostor|999999999999/);
      assert.match(result.stderr, /^tng: Cannot reach STS at https:\/\/127\.0\.0\.1:\d+ /m);
    } finally {
      impostor.close();
      await world.dispose();
    }
  });
});

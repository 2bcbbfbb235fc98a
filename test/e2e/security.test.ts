/**
 * Claims of SECURITY.md that no other test makes directly: what a copy of the keychain is worth without the
 * security key, and what a child's leaked environment is worth once the child is done.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOsKeychain } from '../../src/keychain/os.ts';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { CLIENT_ID, startSandbox, type Sandbox } from '../sandbox/index.ts';
import { issuedSecrets } from '../sandbox/secrets.ts';
import { createWorld, initProfile, login } from './harness.ts';

let sandbox: Sandbox;
let key: VirtualAuthenticator;
let scratch: string;
before(async () => {
  sandbox = await startSandbox();
  key = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 20 } });
  scratch = await mkdtemp(join(tmpdir(), 'tng-security-'));
});
after(async () => {
  await Promise.allSettled([sandbox.close(), key.close(), rm(scratch, { recursive: true, force: true })]);
});

function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(url: string, headers: Record<string, string>): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe('stolen keychain contents, without the security key', () => {
  it('hold no refresh token the issuer accepts, and tng cannot log in with them without the key', async () => {
    const world = await createWorld();
    try {
      world.env.TNG_FIDO2_DEVICE = key.device;
      await initProfile(world, sandbox);
      assert.equal((await login(world)).code, 0);
      assert.equal((await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged'])).code, 0);
      assert.equal((await world.run(['login', '--profile', world.profile])).code, 0);

      // What malware or a stolen backup would copy: every item of the profile.
      const store = createOsKeychain();
      const items = Object.fromEntries(
        await Promise.all(['session', 'refresh-token', 'keys'].map(async (kind) => [kind, await store.get(`profile:${world.profile}:${kind}`)] as const)),
      );
      const copied = JSON.stringify(items);
      assert.match(items['refresh-token'] ?? '', /^tng-sealed:v1:/);
      for (const secret of issuedSecrets().filter((s) => s.kind === 'refresh-token' || s.kind === 'hmac-output')) {
        assert.ok(!copied.includes(secret.value), `a ${secret.kind} is readable in the keychain copy`);
      }
      // The sealed blob is not a refresh token: the issuer refuses it.
      const redeem = await post(`${sandbox.issuer}/token`, { grant_type: 'refresh_token', refresh_token: items['refresh-token'] as string, client_id: CLIENT_ID });
      assert.equal(redeem.status, 400);
      assert.match(redeem.body, /invalid_grant|invalid_request/);
      // tng itself, with the copy but without the key: exit 5, no browser, nothing unsealed.
      const withoutKey = await world.run(['login', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: `unix:${join(world.home, 'no-key')}` } });
      assert.equal(withoutKey.code, 5, withoutKey.stderr);
      assert.equal((await world.browserRuns()).length, 1);
      // What the copy does give (SECURITY.md, "not protected"): the session's Vault token, for its short TTL.
      const session = JSON.parse(items.session ?? '{}') as { vault?: { expiresAt?: number } };
      assert.ok((session.vault?.expiresAt ?? 0) - Date.now() / 1000 <= 15 * 60, 'the readable Vault token lives at most the role\'s 15 minutes');
    } finally {
      await world.dispose();
    }
  });
});

describe('the leaked environment of a finished child', () => {
  it('is worth nothing: its credentials endpoint is gone, its Vault token dies at logout, its AWS keys live 15 minutes', async () => {
    const world = await createWorld();
    try {
      world.env.AWS_ENDPOINT_URL_STS = sandbox.stsUrl;
      await initProfile(world, sandbox, ['--aws-role', 'deploy']);
      assert.equal((await login(world)).code, 0);
      const out = join(scratch, `${world.profile}.json`);
      const dump = [process.execPath, '-e', 'require("fs").writeFileSync(process.argv[1], JSON.stringify(process.env))', out];
      assert.equal((await world.run(['exec', '--profile', world.profile, '--', ...dump])).code, 0);
      const leaked = JSON.parse(await readFile(out, 'utf8')) as NodeJS.ProcessEnv;
      const endpoint = await get(leaked.AWS_CONTAINER_CREDENTIALS_FULL_URI as string, { Authorization: leaked.AWS_CONTAINER_AUTHORIZATION_TOKEN as string });
      assert.ok('error' in endpoint && endpoint.error === 'ECONNREFUSED', `the endpoint still answers: ${JSON.stringify(endpoint)}`);

      assert.equal((await world.run(['exec', '--no-server', '--profile', world.profile, '--', ...dump])).code, 0);
      const keys = JSON.parse(await readFile(out, 'utf8')) as NodeJS.ProcessEnv;
      const issued = sandbox.vault.awsCredentials.issued().find((c) => c.accessKeyId === keys.AWS_ACCESS_KEY_ID);
      assert.ok(issued, 'the static keys were issued by Vault for this exec');
      assert.ok(issued.expiresAt - Date.now() <= 15 * 60 * 1000 + 5000, `the keys live ${Math.round((issued.expiresAt - Date.now()) / 1000)} s`);

      assert.equal((await world.run(['logout', '--profile', world.profile])).code, 0);
      const lookup = await new Promise<number>((resolve, reject) => {
        const req = request(`${sandbox.vaultAddr}/v1/auth/token/lookup-self`, { headers: { 'X-Vault-Token': leaked.VAULT_TOKEN as string } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(lookup, 403, 'the child\'s Vault token still works after logout');
    } finally {
      await world.dispose();
    }
  });
});

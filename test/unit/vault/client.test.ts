import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import type { Fetch } from '../../../src/net/http.ts';
import { VaultClient } from '../../../src/vault/client.ts';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function fakeFetch(status: number, body: unknown, seen: Seen[] = []): Fetch {
  return async (input, init = {}) => {
    seen.push({ url: String(input), method: init.method ?? 'GET', headers: { ...(init.headers as Record<string, string>) }, body: init.body as string | undefined });
    return new Response(body === undefined ? null : JSON.stringify(body), { status });
  };
}

async function exitCodeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TngError, String(error));
    return error.exitCode;
  }
  return 0;
}

describe('VaultClient', () => {
  it('logs in with the JWT method and sends X-Vault-Request and the namespace, never an env token', async () => {
    const previous = process.env.VAULT_TOKEN;
    process.env.VAULT_TOKEN = 'hvs.from-the-environment';
    try {
      const seen: Seen[] = [];
      const client = new VaultClient({ addr: 'http://127.0.0.1:8200', namespace: 'team/', fetch: fakeFetch(200, { auth: { client_token: 'hvs.new', accessor: 'acc', policies: ['default'], metadata: {}, lease_duration: 900, renewable: true, entity_id: 'e' } }, seen) });
      const auth = await client.jwtLogin('jwt', 'engineer', 'header.payload.sig');
      assert.equal(auth.client_token, 'hvs.new');
      assert.equal(seen[0]?.url, 'http://127.0.0.1:8200/v1/auth/jwt/login');
      assert.equal(seen[0]?.method, 'POST');
      assert.deepEqual(JSON.parse(seen[0]?.body ?? '{}'), { role: 'engineer', jwt: 'header.payload.sig' });
      assert.equal(seen[0]?.headers['X-Vault-Request'], 'true');
      assert.equal(seen[0]?.headers['X-Vault-Namespace'], 'team/');
      assert.equal(seen[0]?.headers['X-Vault-Token'], undefined);
    } finally {
      if (previous === undefined) delete process.env.VAULT_TOKEN;
      else process.env.VAULT_TOKEN = previous;
    }
  });

  it('revoke-self carries the token in the header and not in the body', async () => {
    const seen: Seen[] = [];
    const client = new VaultClient({ addr: 'http://127.0.0.1:8200', fetch: fakeFetch(204, undefined, seen) });
    await client.revokeSelf('hvs.secret-token');
    assert.equal(seen[0]?.url, 'http://127.0.0.1:8200/v1/auth/token/revoke-self');
    assert.equal(seen[0]?.headers['X-Vault-Token'], 'hvs.secret-token');
    assert.doesNotMatch(seen[0]?.body ?? '', /secret-token/);
  });

  it('maps Vault statuses to the contract exit codes', async () => {
    const login = (status: number, body: unknown) => new VaultClient({ addr: 'http://127.0.0.1:8200', fetch: fakeFetch(status, body) }).jwtLogin('jwt', 'r', 'j');
    const lookup = (status: number, body: unknown) => new VaultClient({ addr: 'http://127.0.0.1:8200', fetch: fakeFetch(status, body) }).lookupSelf('t');
    assert.equal(await exitCodeOf(login(400, { errors: ['error validating token: invalid audience (aud) claim'] })), 4);
    assert.equal(await exitCodeOf(login(403, { errors: ['permission denied'] })), 4);
    assert.equal(await exitCodeOf(login(503, { errors: ['Vault is sealed'] })), 6);
    assert.equal(await exitCodeOf(login(429, { errors: ['rate limit quota exceeded'] })), 6);
    assert.equal(await exitCodeOf(login(500, { errors: [] })), 6);
    assert.equal(await exitCodeOf(login(412, { errors: [] })), 6);
    assert.equal(await exitCodeOf(login(404, { errors: ['no handler for route'] })), 2);
    assert.equal(await exitCodeOf(lookup(403, { errors: ['permission denied'] })), 3);
    assert.equal(await exitCodeOf(lookup(502, { errors: [] })), 6);
  });

  it('says so when the answer is not JSON, and when Vault cannot be reached', async () => {
    const html = new VaultClient({ addr: 'http://127.0.0.1:8200', fetch: async () => new Response('<html>proxy</html>', { status: 200 }) });
    await assert.rejects(html.lookupSelf('t'), /not JSON/);
    const down = new VaultClient({ addr: 'http://127.0.0.1:8200', fetch: async () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })) });
    await assert.rejects(down.lookupSelf('t'), (error: unknown) => error instanceof TngError && error.exitCode === 6 && /Cannot reach Vault/.test(error.message));
  });
});

describe('VaultClient secrecy', () => {
  it('prints nothing secret even with DEBUG=node-vault', async () => {
    const script = `
      import { VaultClient } from ${JSON.stringify(new URL('../../../src/vault/client.ts', import.meta.url).href)};
      const fetch = async () => new Response(JSON.stringify({ auth: { client_token: 'hvs.x', accessor: 'a', policies: [], metadata: {}, lease_duration: 1, renewable: false, entity_id: 'e' } }), { status: 200 });
      await new VaultClient({ addr: 'http://127.0.0.1:8200', fetch }).jwtLogin('jwt', 'r', 'secret.id.token');
      process.stderr.write('done');
    `;
    const { spawnSync } = await import('node:child_process');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, DEBUG: 'node-vault', DEBUG_COLORS: '0' }, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stderr, /done/);
    assert.doesNotMatch(child.stderr, /secret\.id\.token/);
  });
});

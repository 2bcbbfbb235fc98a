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

describe('VaultClient retries and malformed answers', () => {
  /** Answers each request with the next of `answers` (status, body), recording the paths asked for. */
  function scripted(answers: Array<[number, unknown]>, seen: string[]): Fetch {
    return async (input, init = {}) => {
      seen.push(`${init.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      const [status, body] = answers.shift() ?? [599, { errors: ['no more answers'] }];
      return new Response(body === undefined ? null : JSON.stringify(body), { status });
    };
  }
  const lookupData = { data: { accessor: 'acc', display_name: 'jwt-a', entity_id: 'e', expire_time: null, policies: ['default'], renewable: true, ttl: 600 } };
  const loginAuth = { auth: { client_token: 'hvs.new', accessor: 'acc', policies: ['default'], metadata: {}, lease_duration: 900, renewable: true, entity_id: 'e' } };
  const client = (fetch: Fetch) => new VaultClient({ addr: 'http://127.0.0.1:8200', fetch, retryDelayMs: () => 1 });

  it('lookup-self (a read) is tried once more after a 500, and then succeeds', async () => {
    const seen: string[] = [];
    const lookup = await client(scripted([[500, { errors: ['internal error'] }], [200, lookupData]], seen)).lookupSelf('t');
    assert.equal(lookup.accessor, 'acc');
    assert.deepEqual(seen, ['GET /v1/auth/token/lookup-self', 'GET /v1/auth/token/lookup-self']);
  });

  it('the retry is bounded: two 500s in a row are exit 6 after exactly two requests', async () => {
    const seen: string[] = [];
    assert.equal(await exitCodeOf(client(scripted([[500, { errors: [] }], [500, { errors: [] }], [200, lookupData]], seen)).lookupSelf('t')), 6);
    assert.equal(seen.length, 2);
  });

  it('the default pause before the retry is jittered between 100 and 300 ms', async () => {
    const seen: string[] = [];
    const started = Date.now();
    await new VaultClient({ addr: 'http://127.0.0.1:8200', fetch: scripted([[503, { errors: ['standby'] }], [200, lookupData]], seen) }).lookupSelf('t');
    const waited = Date.now() - started;
    assert.ok(waited >= 95 && waited < 1000, `waited ${waited} ms`);
  });

  it('a sealed Vault, a 403 and a 429 are not retried', async () => {
    for (const [status, body, code] of [[503, { errors: ['Vault is sealed'] }, 6], [403, { errors: ['permission denied'] }, 3], [429, { errors: ['rate limit'] }, 6]] as const) {
      const seen: string[] = [];
      assert.equal(await exitCodeOf(client(scripted([[status, body], [200, lookupData]], seen)).lookupSelf('t')), code);
      assert.equal(seen.length, 1, `HTTP ${status} was retried`);
    }
  });

  it('calls that create or change something are never retried: login, renew, revoke, AWS issuance (even the GET of aws/creds)', async () => {
    const calls: Array<[string, (c: VaultClient) => Promise<unknown>]> = [
      ['login', (c) => c.jwtLogin('jwt', 'r', 'j')],
      ['renew', (c) => c.renewSelf('t')],
      ['revoke', (c) => c.revokeSelf('t')],
      ['aws sts', (c) => c.awsWrite('t', 'aws/sts/deploy', { ttl: '900s' })],
      ['aws creds', (c) => c.awsRead('t', 'aws/creds/deploy')],
    ];
    for (const [name, call] of calls) {
      const seen: string[] = [];
      assert.equal(await exitCodeOf(call(client(scripted([[500, { errors: ['internal error'] }], [200, loginAuth]], seen)))), 6, name);
      assert.equal(seen.length, 1, `${name} was sent ${seen.length} times`);
    }
  });

  it('a dropped connection on a read is retried once; on a login it is not', async () => {
    let calls = 0;
    const flaky: Fetch = async () => {
      calls++;
      if (calls === 1) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
      return new Response(JSON.stringify(calls === 2 ? lookupData : loginAuth), { status: 200 });
    };
    assert.equal((await client(flaky).lookupSelf('t')).accessor, 'acc');
    assert.equal(calls, 2);
    calls = 0;
    assert.equal(await exitCodeOf(client(flaky).jwtLogin('jwt', 'r', 'j')), 6);
    assert.equal(calls, 1);
  });

  it('a success answer without a usable token or description is exit 6, never a TypeError', async () => {
    for (const body of [null, [], 'hvs.x', { auth: null }, { auth: { client_token: 5 } }, { auth: { client_token: 'x', lease_duration: -1 } }, { auth: { client_token: 'x', lease_duration: 1e300 } }]) {
      assert.equal(await exitCodeOf(client(scripted([[200, body]], [])).jwtLogin('jwt', 'r', 'j')), 6, JSON.stringify(body));
    }
    for (const body of [null, { data: null }, { data: { accessor: 'a' } }, { data: { accessor: 'a', ttl: Number.MAX_VALUE } }]) {
      assert.equal(await exitCodeOf(client(scripted([[200, body], [200, body]], [])).lookupSelf('t')), 6, JSON.stringify(body));
    }
  });
});

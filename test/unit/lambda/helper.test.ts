// The tng/lambda helper against a fake Vault (a fetch function passed in): the login payload Vault's AWS
// auth method expects, the token cache and its single flight, renewal near the lease's end, the 403 retry,
// KV v2 reads, and errors that never carry a secret. The signature itself is checked against the STS
// sandbox in test/sandbox/lambda-helper.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AwsCredentialsError,
  createVaultClient,
  SecretNotFoundError,
  VaultConfigError,
  VaultLoginError,
  VaultRequestError,
  VaultUnavailableError,
  type LambdaVaultOptions,
} from '../../../src/lambda/index.ts';

const CREDS = { accessKeyId: 'ASIAFAKEKEY000000001', secretAccessKey: 'fake/secret/key/0123456789abcdefghijklmno', sessionToken: 'FAKE-SESSION-TOKEN-0123456789' };
const TOKEN = 'hvs.fake-vault-token-0123456789';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown> | undefined;
}

type Answer = { status: number; body?: unknown } | Error;

/** A fake Vault: answers logins with `login()` and reads with `read()`, recording every request. */
function fakeVault(handlers: { login?: (n: number) => Answer; read?: (n: number, token: string) => Answer } = {}) {
  const seen: Seen[] = [];
  let logins = 0;
  let reads = 0;
  const fakeFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    const url = String(input);
    seen.push({ method: init.method ?? 'GET', url, headers, body });
    await sleep(5);
    const answer = url.endsWith('/login')
      ? (handlers.login ?? (() => ({ status: 200, body: { auth: { client_token: `${TOKEN}-${logins}`, lease_duration: 3600, renewable: true } } })))(++logins)
      : (handlers.read ?? (() => ({ status: 200, body: { data: { data: { password: 's3cret' }, metadata: { version: 1 } } } })))(++reads, headers['x-vault-token'] ?? '');
    if (answer instanceof Error) throw answer;
    return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), { status: answer.status });
  };
  return { fetch: fakeFetch as typeof fetch, seen, logins: () => logins, reads: () => reads };
}

const client = (vault: ReturnType<typeof fakeVault>, options: LambdaVaultOptions = {}) =>
  createVaultClient({ address: 'https://vault.example.com', role: 'tng-fn', credentials: async () => CREDS, fetch: vault.fetch, ...options });

const decode = (value: unknown) => Buffer.from(String(value), 'base64').toString('utf8');

function assertNoSecret(error: unknown): void {
  const text = `${(error as Error).message} ${String((error as Error).cause ?? '')}`;
  for (const secret of [CREDS.secretAccessKey, CREDS.sessionToken, TOKEN]) assert.ok(!text.includes(secret), `a secret is in: ${text}`);
}

describe('tng/lambda: the login request', () => {
  it('posts a signed GetCallerIdentity to auth/<mount>/login, encoded as Vault expects', async () => {
    const vault = fakeVault();
    await client(vault, { authMount: 'aws-lambda', namespace: 'team/a' }).token();
    const [login] = vault.seen;
    assert.equal(login?.method, 'POST');
    assert.equal(login?.url, 'https://vault.example.com/v1/auth/aws-lambda/login');
    assert.equal(login?.headers['x-vault-namespace'], 'team/a');
    assert.equal(login?.headers['x-vault-request'], 'true');
    const body = login?.body ?? {};
    assert.deepEqual(Object.keys(body).sort(), ['iam_http_request_method', 'iam_request_body', 'iam_request_headers', 'iam_request_url', 'role']);
    assert.equal(body.role, 'tng-fn');
    assert.equal(body.iam_http_request_method, 'POST');
    assert.equal(body.iam_request_url, 'aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8=', 'base64 of https://sts.amazonaws.com/');
    assert.equal(decode(body.iam_request_body), 'Action=GetCallerIdentity&Version=2011-06-15');
    const headers = JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;
    assert.deepEqual(headers.Host, ['sts.amazonaws.com']);
    assert.deepEqual(headers['Content-Type'], ['application/x-www-form-urlencoded; charset=utf-8']);
    assert.deepEqual(headers['X-Amz-Security-Token'], [CREDS.sessionToken]);
    assert.match(headers['X-Amz-Date']?.[0] ?? '', /^\d{8}T\d{6}Z$/);
    const authorization = headers.Authorization?.[0] ?? '';
    const date = headers['X-Amz-Date']?.[0]?.slice(0, 8);
    assert.match(authorization, new RegExp(`^AWS4-HMAC-SHA256 Credential=${CREDS.accessKeyId}/${date}/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$`));
    assert.equal(headers['X-Vault-Aws-Iam-Server-Id'], undefined);
    for (const values of Object.values(headers)) assert.ok(Array.isArray(values) && values.length === 1);
  });

  it('signs X-Vault-AWS-IAM-Server-ID when configured, and a regional or given STS endpoint', async () => {
    const regional = fakeVault();
    await client(regional, { iamServerId: 'vault.example.com', region: 'eu-west-1' }).token();
    const body = regional.seen[0]?.body ?? {};
    assert.equal(decode(body.iam_request_url), 'https://sts.eu-west-1.amazonaws.com/');
    const headers = JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;
    assert.deepEqual(headers['X-Vault-Aws-Iam-Server-Id'], ['vault.example.com']);
    assert.deepEqual(headers.Host, ['sts.eu-west-1.amazonaws.com']);
    assert.match(headers.Authorization?.[0] ?? '', /\/eu-west-1\/sts\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id,/);

    const given = fakeVault();
    await client(given, { stsEndpoint: 'https://sts-fips.us-east-2.amazonaws.com/', region: 'us-east-2' }).token();
    const givenHeaders = JSON.parse(decode(given.seen[0]?.body?.iam_request_headers)) as Record<string, string[]>;
    assert.equal(decode(given.seen[0]?.body?.iam_request_url), 'https://sts-fips.us-east-2.amazonaws.com/');
    assert.deepEqual(givenHeaders.Host, ['sts-fips.us-east-2.amazonaws.com']);
    assert.match(givenHeaders.Authorization?.[0] ?? '', /\/us-east-2\/sts\/aws4_request/);
  });

  it('takes VAULT_ADDR, VAULT_AUTH_ROLE and VAULT_NAMESPACE from the environment', async () => {
    const saved = { addr: process.env.VAULT_ADDR, role: process.env.VAULT_AUTH_ROLE, ns: process.env.VAULT_NAMESPACE };
    process.env.VAULT_ADDR = 'https://vault.env.example';
    process.env.VAULT_AUTH_ROLE = 'from-env';
    process.env.VAULT_NAMESPACE = 'ns-env';
    try {
      const vault = fakeVault();
      await createVaultClient({ credentials: async () => CREDS, fetch: vault.fetch }).token();
      assert.equal(vault.seen[0]?.url, 'https://vault.env.example/v1/auth/aws/login');
      assert.equal(vault.seen[0]?.body?.role, 'from-env');
      assert.equal(vault.seen[0]?.headers['x-vault-namespace'], 'ns-env');
    } finally {
      for (const [name, value] of [['VAULT_ADDR', saved.addr], ['VAULT_AUTH_ROLE', saved.role], ['VAULT_NAMESPACE', saved.ns]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('tng/lambda: the token cache', () => {
  it('logs in once for many calls, and once for concurrent callers', async () => {
    const vault = fakeVault();
    const vaultClient = client(vault);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => vaultClient.token()));
    assert.equal(vault.logins(), 1);
    assert.deepEqual(new Set(tokens), new Set([`${TOKEN}-1`]));
    assert.equal(await vaultClient.token(), `${TOKEN}-1`);
    await vaultClient.readKv('secret', 'app/db');
    assert.equal(vault.logins(), 1);
  });

  it('logs in again renewBeforeSeconds before the lease ends (at most half the lease)', async () => {
    const vault = fakeVault({ login: (n) => ({ status: 200, body: { auth: { client_token: `${TOKEN}-${n}`, lease_duration: 2 } } }) });
    const vaultClient = client(vault, { renewBeforeSeconds: 1 });
    assert.equal(await vaultClient.token(), `${TOKEN}-1`);
    await sleep(500);
    assert.equal(await vaultClient.token(), `${TOKEN}-1`, 'still more than a second left');
    await sleep(700);
    assert.equal(await vaultClient.token(), `${TOKEN}-2`, 'within a second of the end: a new login');
    assert.equal(vault.logins(), 2);

    const short = fakeVault({ login: (n) => ({ status: 200, body: { auth: { client_token: `${TOKEN}-${n}`, lease_duration: 2 } } }) });
    const defaults = client(short);
    await defaults.token();
    await defaults.token();
    assert.equal(short.logins(), 1, 'a 2 s lease under the default 60 s window is still reused for half of it');
  });

  it('a token without a lease (lease_duration 0) is kept', async () => {
    const vault = fakeVault({ login: () => ({ status: 200, body: { auth: { client_token: TOKEN, lease_duration: 0 } } }) });
    const vaultClient = client(vault, { renewBeforeSeconds: 3600 });
    await vaultClient.token();
    await vaultClient.token();
    assert.equal(vault.logins(), 1);
  });

  it('a failed login is not cached: the next call tries again', async () => {
    const vault = fakeVault({ login: (n) => (n === 1 ? { status: 500, body: { errors: ['internal error'] } } : { status: 200, body: { auth: { client_token: TOKEN, lease_duration: 60 } } }) });
    const vaultClient = client(vault);
    await assert.rejects(vaultClient.token(), VaultLoginError);
    assert.equal(await vaultClient.token(), TOKEN);
  });
});

describe('tng/lambda: KV v2 reads', () => {
  it('reads <mount>/data/<path> with the token and returns data.data', async () => {
    const vault = fakeVault();
    const secret = await client(vault).readKv<{ password: string }>('secret', 'app/db config');
    assert.deepEqual(secret, { password: 's3cret' });
    const read = vault.seen[1];
    assert.equal(read?.method, 'GET');
    assert.equal(read?.url, 'https://vault.example.com/v1/secret/data/app/db%20config');
    assert.equal(read?.headers['x-vault-token'], `${TOKEN}-1`);
  });

  it('on a 403 logs in once more and retries; a second 403 is a VaultRequestError', async () => {
    const retried = fakeVault({ read: (_n, token) => (token.endsWith('-1') ? { status: 403, body: { errors: ['permission denied'] } } : { status: 200, body: { data: { data: { ok: true } } } }) });
    assert.deepEqual(await client(retried).readKv('secret', 'x'), { ok: true });
    assert.equal(retried.logins(), 2);
    assert.equal(retried.reads(), 2);

    const denied = fakeVault({ read: () => ({ status: 403, body: { errors: ['permission denied'] } }) });
    const error = await client(denied).readKv('secret', 'x').catch((e: unknown) => e);
    assert.ok(error instanceof VaultRequestError);
    assert.equal(error.status, 403);
    assert.match(error.message, /Vault refused to read secret\/data\/x \(HTTP 403\): permission denied\./);
    assert.equal(denied.logins(), 2, 'one re-login, not a loop');
    assert.equal(denied.reads(), 2);
    assertNoSecret(error);
  });

  it('a missing secret is SecretNotFoundError; an answer without data.data is an error', async () => {
    const missing = fakeVault({ read: () => ({ status: 404, body: { errors: [] } }) });
    await assert.rejects(client(missing).readKv('secret', 'nope'), (e: unknown) => e instanceof SecretNotFoundError && e.status === 404 && /No secret at secret\/data\/nope/.test(e.message));
    const kv1 = fakeVault({ read: () => ({ status: 200, body: { data: { password: 'x' } } }) });
    await assert.rejects(client(kv1).readKv('kv', 'app'), /holds no KV v2 data/);
  });
});

describe('tng/lambda: errors', () => {
  it('a refused login names the role and carries Vault\'s message, never a secret', async () => {
    const vault = fakeVault({ login: () => ({ status: 400, body: { errors: ['IAM Principal "arn:aws:sts::123456789012:assumed-role/other/fn" does not belong to the role "tng-fn"'] } }) });
    const error = await client(vault).token().catch((e: unknown) => e);
    assert.ok(error instanceof VaultLoginError);
    assert.equal(error.status, 400);
    assert.equal(error.message, 'Vault refused the AWS login as role "tng-fn" at auth/aws/login (HTTP 400): IAM Principal "arn:aws:sts::123456789012:assumed-role/other/fn" does not belong to the role "tng-fn".');
    assertNoSecret(error);
  });

  it('a Vault error that echoes the signed request has the session token and secret key blanked out', async () => {
    const vault = fakeVault({ login: () => ({ status: 400, body: { errors: [`error making upstream request: received error code 403 from STS: token ${CREDS.sessionToken} key ${CREDS.secretAccessKey}`] } }) });
    const error = await client(vault).token().catch((e: unknown) => e);
    assert.ok(error instanceof VaultLoginError);
    assert.match(error.message, /token \[redacted\] key \[redacted\]/);
    assertNoSecret(error);
  });

  it('configuration, credentials and network failures have their own classes', async () => {
    const vault = fakeVault();
    await assert.rejects(createVaultClient({ address: '', role: 'r', credentials: async () => CREDS, fetch: vault.fetch }).token(), VaultConfigError);
    await assert.rejects(createVaultClient({ address: 'https://v', role: '', credentials: async () => CREDS, fetch: vault.fetch }).token(), /No Vault role: pass `role` or set VAULT_AUTH_ROLE/);
    const noCreds = await client(vault, { credentials: async () => Promise.reject(new Error('Could not load credentials from any providers')) }).token().catch((e: unknown) => e);
    assert.ok(noCreds instanceof AwsCredentialsError);
    assert.match(noCreds.message, /Could not load credentials from any providers/);
    const down = fakeVault({ login: () => Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED 127.0.0.1:8200') }) });
    const unreachable = await client(down).token().catch((e: unknown) => e);
    assert.ok(unreachable instanceof VaultUnavailableError);
    assert.equal(unreachable.message, 'Cannot reach Vault at https://vault.example.com (connect ECONNREFUSED 127.0.0.1:8200).');
    assert.equal(vault.logins(), 0, 'no login attempted without an address or role');
  });
});

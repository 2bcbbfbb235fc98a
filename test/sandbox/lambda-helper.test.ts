// The Lambda side of the chain in the sandbox: `tng/lambda` (imported as a package would import it, by its
// self-referenced name from the built dist/) logs in to the Vault sandbox's AWS auth method with the
// function's own role credentials. Vault replays the signed GetCallerIdentity to the STS sandbox keeping
// the client's Host, STS verifies the signature with AWS's signer, and Vault binds the canonical role ARN.
// Also: the token cache and its renewal, the server-ID header, role bindings, KV v2 reads under ACL
// policies, and requests the helper would never send, signed here with @smithy/signature-v4.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type * as LambdaHelper from '../../src/lambda/index.ts';
import { startStsSandbox, type StsSandbox } from './sts.ts';
import { startVaultSandbox, type StaticCredentials, type VaultSandbox } from './vault/index.ts';

const ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/tng-fn-role`;
const SESSION_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/tng-fn-role/tng-fn`;
const SERVER_ID = 'vault.example.com';

let helper: typeof LambdaHelper;
let vault: VaultSandbox;
let sts: StsSandbox;
let fn: StaticCredentials;
let other: StaticCredentials;

before(async () => {
  // The package's own name: what a handler in this repository (or one that depends on tng) imports.
  const specifier = 'tng/lambda';
  helper = (await import(specifier)) as typeof LambdaHelper;
  vault = await startVaultSandbox({
    awsAuth: {
      roles: {
        'tng-fn': { auth_type: 'iam', bound_iam_principal_arn: [ROLE_ARN], token_policies: ['tng-fn'], token_ttl: '1h' },
        'short-fn': { bound_iam_principal_arn: ROLE_ARN, token_policies: ['tng-fn'], token_ttl: 3 },
        'tng-star': { bound_iam_principal_arn: `arn:aws:iam::${ACCOUNT}:role/tng-*`, token_policies: ['tng-fn'] },
        'someone-else': { bound_iam_principal_arn: `arn:aws:iam::${ACCOUNT}:role/another-role` },
        writer: { bound_iam_principal_arn: ROLE_ARN, token_policies: ['kv-writer'] },
      },
    },
    policies: { 'tng-fn': { 'secret/data/tng-fn/*': ['read'], 'secret/data/tng-fn/private': ['deny'] }, 'kv-writer': { 'secret/data/+/config': ['create', 'update', 'read'] } },
    kv: { secrets: { 'tng-fn/config': { greeting: 'hello', n: 1 }, 'tng-fn/private': { key: 'x' }, 'elsewhere/config': { no: true } } },
  });
  sts = await startStsSandbox({ registry: vault.awsCredentials });
  vault.setAwsAuthConfig({ sts_endpoint: sts.url });
  vault.setAwsAuthConfig({ sts_endpoint: sts.url, iam_server_id_header_value: SERVER_ID }, 'aws-sid');
  vault.setAwsAuthRole('tng-fn', { bound_iam_principal_arn: ROLE_ARN, token_policies: ['tng-fn'] }, 'aws-sid');
  fn = vault.awsCredentials.addStatic({ arn: SESSION_ARN });
  other = vault.awsCredentials.addStatic({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/another-role/other-fn` });
});

after(async () => {
  await Promise.allSettled([vault.close(), sts.close()]);
});

const client = (options: LambdaHelper.LambdaVaultOptions = {}, creds: StaticCredentials = fn) =>
  helper.createVaultClient({ address: vault.addr, role: 'tng-fn', credentials: async () => creds, ...options });

const logins = (mount = 'aws') => vault.count('POST', `auth/${mount}/login`);

async function lookupSelf(token: string): Promise<Record<string, any>> {
  const response = await fetch(`${vault.addr}/v1/auth/token/lookup-self`, { headers: { 'X-Vault-Token': token } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: Record<string, any> }).data;
}

/** A login body signed here, for what the helper never sends. */
async function signedLogin(options: { headers?: Record<string, string>; afterSigning?: Record<string, string>; role?: string; url?: string } = {}): Promise<Record<string, string>> {
  const url = new URL(options.url ?? 'https://sts.amazonaws.com/');
  const signer = new SignatureV4({ service: 'sts', region: 'us-east-1', credentials: fn, sha256: Sha256, applyChecksum: false });
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const signed = await signer.sign({ method: 'POST', protocol: 'https:', hostname: url.hostname, path: url.pathname, query: {}, headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...options.headers }, body });
  const headers = { ...signed.headers, ...options.afterSigning };
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return { role: options.role ?? 'tng-fn', iam_http_request_method: 'POST', iam_request_url: b64(url.href), iam_request_body: b64(body), iam_request_headers: b64(JSON.stringify(headers)) };
}

async function rawLogin(body: Record<string, string>, mount = 'aws'): Promise<{ status: number; errors: string[] }> {
  const response = await fetch(`${vault.addr}/v1/auth/${mount}/login`, { method: 'POST', body: JSON.stringify(body) });
  const json = (await response.json()) as { errors?: string[] };
  return { status: response.status, errors: json.errors ?? [] };
}

describe('tng/lambda against the sandbox Vault (AWS auth method, iam type)', () => {
  test('logs in: Vault replays the signed request to STS with the client\'s Host, and binds the canonical role ARN', async () => {
    const from = sts.requests().length;
    const token = await client().token();
    assert.match(token, /^hvs\./);
    const replayed = sts.requests().slice(from);
    assert.equal(replayed.length, 1);
    assert.deepEqual([replayed[0]?.action, replayed[0]?.status, replayed[0]?.host, replayed[0]?.accessKeyId], ['GetCallerIdentity', 200, 'sts.amazonaws.com', fn.accessKeyId]);
    const self = await lookupSelf(token);
    assert.deepEqual(self.policies, ['default', 'tng-fn']);
    assert.equal(self.path, 'auth/aws/login');
    assert.equal(self.meta.auth_type, 'iam');
    assert.equal(self.meta.client_arn, SESSION_ARN);
    assert.equal(self.meta.canonical_arn, ROLE_ARN);
    assert.equal(self.meta.account_id, ACCOUNT);
    assert.match(self.meta.client_user_id, /^AROA[A-Z2-7]{17}:tng-fn$/);
  });

  test('caches the token across calls (one login for many reads and concurrent callers)', async () => {
    const vaultClient = client();
    const before = logins();
    const [a, b] = await Promise.all([vaultClient.readKv('secret', 'tng-fn/config'), vaultClient.readKv('secret', 'tng-fn/config')]);
    assert.deepEqual(a, { greeting: 'hello', n: 1 });
    assert.deepEqual(b, a);
    await vaultClient.token();
    await vaultClient.readKv('secret', 'tng-fn/config');
    assert.equal(logins() - before, 1);
  });

  test('logs in again near the lease\'s end (token_ttl 3 s, renewBeforeSeconds 1)', async () => {
    const vaultClient = client({ role: 'short-fn', renewBeforeSeconds: 1 });
    const before = logins();
    const first = await vaultClient.token();
    await sleep(300);
    assert.equal(await vaultClient.token(), first);
    assert.equal(logins() - before, 1);
    await sleep(2000);
    const second = await vaultClient.token();
    assert.notEqual(second, first);
    assert.equal(logins() - before, 2);
    assert.deepEqual(await vaultClient.readKv('secret', 'tng-fn/config'), { greeting: 'hello', n: 1 });
  });

  test('the X-Vault-AWS-IAM-Server-ID header: required when configured, with the right value, and signed', async () => {
    const missing = await client({ authMount: 'aws-sid' }).token().catch((e: unknown) => e);
    assert.ok(missing instanceof helper.VaultLoginError);
    assert.equal(missing.status, 400);
    assert.match(missing.message, /error validating X-Vault-AWS-IAM-Server-ID header: missing header "X-Vault-AWS-IAM-Server-ID"/);
    const wrong = await client({ authMount: 'aws-sid', iamServerId: 'vault.evil.example' }).token().catch((e: unknown) => e);
    assert.ok(wrong instanceof helper.VaultLoginError);
    assert.match(wrong.message, /expected "vault.example.com" but got "vault.evil.example"/);
    assert.match(await client({ authMount: 'aws-sid', iamServerId: SERVER_ID }).token(), /^hvs\./);
    const unsigned = await rawLogin(await signedLogin({ afterSigning: { 'X-Vault-AWS-IAM-Server-ID': SERVER_ID } }), 'aws-sid');
    assert.deepEqual(unsigned, { status: 400, errors: ['error validating X-Vault-AWS-IAM-Server-ID header: vault header wasn\'t signed'] });
  });

  test('role bindings: another role\'s principal is refused, a trailing * matches, an unknown role is named', async () => {
    const refused = await client({}, other).token().catch((e: unknown) => e);
    assert.ok(refused instanceof helper.VaultLoginError);
    assert.equal(refused.status, 400);
    assert.match(refused.message, new RegExp(`IAM Principal "arn:aws:sts::${ACCOUNT}:assumed-role/another-role/other-fn" does not belong to the role "tng-fn"`));
    const notBound = await client({ role: 'someone-else' }).token().catch((e: unknown) => e);
    assert.match((notBound as Error).message, /does not belong to the role "someone-else"/);
    assert.match(await client({ role: 'tng-star' }).token(), /^hvs\./);
    const unknown = await client({ role: 'nope' }).token().catch((e: unknown) => e);
    assert.match((unknown as Error).message, /entry for role nope not found/);
  });

  test('STS\'s refusal reaches the caller through Vault; no secret in the error', async () => {
    const tampered = { ...fn, secretAccessKey: `${fn.secretAccessKey.slice(0, -1)}${fn.secretAccessKey.endsWith('A') ? 'B' : 'A'}` };
    const error = await client({}, tampered).token().catch((e: unknown) => e);
    assert.ok(error instanceof helper.VaultLoginError);
    assert.match(error.message, /error making upstream request: received error code 403 from STS: .*<Code>SignatureDoesNotMatch<\/Code>/s);
    for (const secret of [fn.secretAccessKey, tampered.secretAccessKey, fn.sessionToken ?? '']) assert.ok(!error.message.includes(secret));
    vault.awsCredentials.expireCredentials(other.accessKeyId);
    const expired = await client({ role: 'someone-else' }, other).token().catch((e: unknown) => e);
    assert.match((expired as Error).message, /<Code>ExpiredToken<\/Code>/);
  });

  test('requests the helper never sends: extra X-Amz headers, another action, a query string', async () => {
    assert.deepEqual(await rawLogin(await signedLogin({ headers: { 'x-amz-foo': 'bar' } })), { status: 400, errors: ['invalid request header: X-Amz-Foo'] });
    assert.match((await rawLogin(await signedLogin({ url: 'https://sts.amazonaws.com/?Action=GetCallerIdentity' }))).errors[0] ?? '', /^invalid request url/);
    const body = await signedLogin();
    body.iam_request_body = Buffer.from('Action=AssumeRole&Version=2011-06-15').toString('base64');
    assert.match((await rawLogin(body)).errors[0] ?? '', /^invalid request body/);
    assert.equal((await rawLogin({ ...(await signedLogin()), iam_http_request_method: 'GET' })).status, 400);
    // Header values may also be plain strings in a JSON object (not base64), as Vault accepts.
    const plain = await signedLogin();
    const headers = JSON.parse(Buffer.from(plain.iam_request_headers as string, 'base64').toString()) as Record<string, string>;
    const response = await fetch(`${vault.addr}/v1/auth/aws/login`, { method: 'POST', body: JSON.stringify({ ...plain, iam_request_headers: headers }) });
    assert.equal(response.status, 200);
  });
});

describe('KV v2 in the sandbox Vault, under ACL policies', () => {
  test('reads data.data with metadata; the policy decides, deny wins, a missing path is 404', async () => {
    const token = await client().token();
    const read = async (path: string) => fetch(`${vault.addr}/v1/secret/data/${path}`, { headers: { 'X-Vault-Token': token } });
    const ok = await read('tng-fn/config');
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { data: { data: unknown; metadata: Record<string, unknown> } };
    assert.deepEqual(body.data.data, { greeting: 'hello', n: 1 });
    assert.equal(body.data.metadata.version, 1);
    assert.equal(body.data.metadata.destroyed, false);
    assert.deepEqual([(await read('elsewhere/config')).status, (await read('tng-fn/private')).status], [403, 403]);
    const missing = await read('tng-fn/nothing');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { errors: [] });

    const denied = await client().readKv('secret', 'elsewhere/config').catch((e: unknown) => e);
    assert.ok(denied instanceof helper.VaultRequestError);
    assert.equal(denied.status, 403);
    await assert.rejects(client().readKv('secret', 'tng-fn/nothing'), helper.SecretNotFoundError);
  });

  test('writes through the API need create/update; versions count up; ?version= reads an older one', async () => {
    const writer = await client({ role: 'writer' }).token();
    const write = (path: string, data: unknown) => fetch(`${vault.addr}/v1/secret/data/${path}`, { method: 'POST', headers: { 'X-Vault-Token': writer }, body: JSON.stringify({ data }) });
    const first = await write('app/config', { a: 1 });
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as { data: { version: number } }).data.version, 1);
    assert.equal(((await (await write('app/config', { a: 2 })).json()) as { data: { version: number } }).data.version, 2);
    assert.equal((await write('app/other', { a: 1 })).status, 403);
    const old = await fetch(`${vault.addr}/v1/secret/data/app/config?version=1`, { headers: { 'X-Vault-Token': writer } });
    assert.deepEqual(((await old.json()) as { data: { data: unknown } }).data.data, { a: 1 });
    assert.deepEqual(await client({ role: 'writer' }).readKv('secret', 'app/config'), { a: 2 });
  });

  test('the control endpoints set roles, policies and secrets from another process', async () => {
    const control = (path: string, body: unknown) => fetch(`${vault.addr}/__sandbox/${path}`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal((await control('aws-auth/role', { name: 'via-control', role: { bound_iam_principal_arn: ROLE_ARN, token_policies: ['via-control'] } })).status, 200);
    assert.equal((await control('policy', { name: 'via-control', rules: { 'secret/data/control/*': ['read'] } })).status, 200);
    assert.deepEqual(await (await control('kv', { path: 'control/x', data: { from: 'control' } })).json(), { version: 1 });
    assert.deepEqual(await client({ role: 'via-control' }).readKv('secret', 'control/x'), { from: 'control' });
    assert.equal((await control('aws-auth/role', { name: 'bad', role: { bound_iam_principal_arn: 'not-an-arn' } })).status, 400);
    assert.equal((await control('aws-auth/config', { config: { iam_server_id_header_value: 'x' }, mount: 'aws-control' })).status, 200);
  });
});

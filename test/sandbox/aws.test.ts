// Checks the AWS side of the sandbox: the Vault sandbox's AWS secrets engine against Vault's documented
// API (raw fetch and node-vault), and the STS sandbox with independent clients — @aws-sdk/client-sts v3 and
// Debian's AWS CLI v2 (/usr/bin/aws) — plus requests signed here with @smithy/signature-v4 for the cases the
// clients cannot produce. Vault tokens come from JWT logins with ID tokens minted here (jose) and keys
// served from a small JWKS server of this file's own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { exportJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import vault from 'node-vault';
import { newKeyPair } from './signing-keys.ts';
import { startStsSandbox } from './sts.ts';
import type { StsSandbox } from './sts.ts';
import { startVaultSandbox } from './vault/index.ts';
import type { AwsRole, VaultSandbox } from './vault/index.ts';

// ---------------------------------------------------------------------------------------------------
// A JWKS server and ID tokens, only to log in at the Vault sandbox.

const ISSUER = 'https://issuer.sandbox.test';
let jwksServer: Server;
let jwksUrl = '';
let signingKey: KeyObject;
let publicJwk: JWK;

async function startJwks(): Promise<void> {
  const pair = newKeyPair('RS256');
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/keys`;
}

async function vaultToken(sandbox: VaultSandbox, sub = 'alice@example.com'): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ iss: ISSUER, sub, aud: 'tng', iat, exp: iat + 600 })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .sign(signingKey);
  const r = await call(sandbox, 'POST', 'auth/jwt/login', { body: { role: 'ci', jwt } });
  assert.equal(r.status, 200, r.text);
  return String(obj(obj(r.body).auth).client_token);
}

// ---------------------------------------------------------------------------------------------------
// Raw HTTP to the Vault sandbox.

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Json;
};

interface RawResponse {
  status: number;
  text: string;
  body: unknown;
}

async function call(
  sandbox: VaultSandbox,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; query?: Record<string, string>; namespace?: string } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
  if (options.token) headers['X-Vault-Token'] = options.token;
  if (options.namespace) headers['X-Vault-Namespace'] = options.namespace;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] = 'application/json';
  }
  const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
  const response = await fetch(`${sandbox.addr}/v1/${path}${query}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, text, body: parsed };
}

/** A successful credential read/write; returns the whole envelope. */
async function issue(path: string, options: { method?: 'GET' | 'POST'; body?: Json; query?: Record<string, string>; sandbox?: VaultSandbox; token?: string } = {}): Promise<Json> {
  const r = await call(options.sandbox ?? sb, options.method ?? 'GET', path, {
    token: options.token ?? token,
    ...(options.body ? { body: options.body } : {}),
    ...(options.query ? { query: options.query } : {}),
  });
  assert.equal(r.status, 200, r.text);
  return obj(r.body);
}

/** A refused credential request: the status and Vault's `{"errors":[...]}` with one message. */
async function refused(path: string, status: number, message: string | RegExp, options: { method?: 'GET' | 'POST'; body?: Json; query?: Record<string, string>; token?: string } = {}): Promise<void> {
  const r = await call(sb, options.method ?? 'GET', path, {
    ...(options.token !== '' ? { token: options.token ?? token } : {}),
    ...(options.body ? { body: options.body } : {}),
    ...(options.query ? { query: options.query } : {}),
  });
  assert.equal(r.status, status, r.text);
  const errors = obj(r.body).errors;
  assert.ok(Array.isArray(errors) && errors.length === 1, r.text);
  if (typeof message === 'string') assert.equal(errors[0], message);
  else assert.match(String(errors[0]), message);
}

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

function credsOf(envelope: Json): Creds {
  const data = obj(envelope.data);
  const token = data.session_token ?? data.security_token;
  return {
    accessKeyId: String(data.access_key),
    secretAccessKey: String(data.secret_key),
    ...(typeof token === 'string' ? { sessionToken: token } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Fixtures.

const ACCOUNT = '123456789012';
const DEPLOY_ARN = `arn:aws:iam::${ACCOUNT}:role/deploy`;
const OTHER_ACCOUNT_ARN = 'arn:aws:iam::210987654321:role/platform/ReadOnly';

const AWS_ROLES: Record<string, AwsRole> = {
  deploy: { credential_type: 'assumed_role', role_arns: [DEPLOY_ARN], max_sts_ttl: '1h' },
  multi: { credential_type: 'assumed_role', role_arns: [DEPLOY_ARN, OTHER_ACCOUNT_ARN] },
  short: { credential_type: 'assumed_role', role_arns: [DEPLOY_ARN], default_sts_ttl: '15m', max_sts_ttl: 1800 },
  fed: { credential_type: 'federation_token', policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] },
  'fed-nopolicy': { credential_type: 'federation_token' },
  session: { credential_type: 'session_token' },
  user: { credential_type: 'iam_user', policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] },
  'legacy-user': { credential_type: 'iam_user', legacy: true },
  'legacy-sts': { credential_type: 'assumed_role', role_arns: [DEPLOY_ARN], legacy: true },
};

let sb: VaultSandbox;
let token = '';
let sts: StsSandbox;
let home = '';

const jwtMount = (): { jwks_url: string; bound_issuer: string; roles: Record<string, { role_type: 'jwt'; user_claim: string; bound_audiences: string[] }> } => ({
  jwks_url: jwksUrl,
  bound_issuer: ISSUER,
  roles: { ci: { role_type: 'jwt', user_claim: 'sub', bound_audiences: ['tng'] } },
});

before(async () => {
  await startJwks();
  sb = await startVaultSandbox({ jwt: jwtMount(), aws: { roles: AWS_ROLES } });
  token = await vaultToken(sb);
  sts = await startStsSandbox({ registry: sb.awsCredentials });
  home = await mkdtemp(join(tmpdir(), 'tng-aws-test-'));
});

after(async () => {
  await Promise.allSettled([sb.close(), sts.close(), new Promise((resolve) => jwksServer.close(resolve))]);
  if (home) await rm(home, { recursive: true, force: true });
});

const STS_DATA_KEYS = ['access_key', 'secret_key', 'security_token', 'session_token'];
const ACCESS_KEY_STS = /^ASIA[A-Z2-7]{16}$/;
const ACCESS_KEY_IAM = /^AKIA[A-Z2-7]{16}$/;
const SECRET = /^[A-Za-z0-9+/]{40}$/;

function assertStsData(envelope: Json, withArn: boolean): Json {
  const data = obj(envelope.data);
  assert.deepEqual(Object.keys(data).sort(), [...STS_DATA_KEYS, ...(withArn ? ['arn'] : [])].sort());
  assert.match(String(data.access_key), ACCESS_KEY_STS);
  assert.match(String(data.secret_key), SECRET);
  assert.equal(typeof data.session_token, 'string');
  assert.ok(String(data.session_token).length >= 300, 'session tokens are long');
  assert.equal(data.security_token, data.session_token);
  assert.equal(envelope.renewable, false);
  assert.equal(envelope.mount_type, 'aws');
  return data;
}

/** Vault sets the lease to Expiration − now in whole seconds: the TTL or one second less. */
function assertLease(envelope: Json, ttl: number): void {
  const lease = Number(envelope.lease_duration);
  assert.ok(lease === ttl || lease === ttl - 1, `lease_duration ${lease} for a ${ttl}s credential`);
}

// ---------------------------------------------------------------------------------------------------

describe('Vault AWS secrets engine', () => {
  test('assumed_role: GET creds/ and POST sts/ return the documented envelope; credentials are random', async () => {
    const before = sb.awsCredentials.issuanceCount('deploy');
    const viaGet = await issue('aws/creds/deploy');
    const viaPost = await issue('aws/sts/deploy', { method: 'POST', body: {} });
    for (const [envelope, path] of [
      [viaGet, 'creds'],
      [viaPost, 'sts'],
    ] as const) {
      assert.match(String(envelope.lease_id), new RegExp(`^aws/${path}/deploy/[A-Za-z0-9]{24}$`));
      assertLease(envelope, 3600);
      assert.equal(envelope.auth, null);
      assert.equal(envelope.warnings, null);
      const data = assertStsData(envelope, true);
      // Default session name: Vault's template "vault-<display name>-<role>-<unix time>-<random>", ≤ 64 chars.
      const arn = String(data.arn);
      assert.match(arn, /^arn:aws:sts::123456789012:assumed-role\/deploy\/vault-jwt-alice@example\.com-deploy-\d{10}-[A-Za-z0-9]+$/);
      assert.equal(arn.split('/')[2]?.length, 64);
    }
    const [a, b] = [obj(viaGet.data), obj(viaPost.data)];
    assert.notEqual(a.access_key, b.access_key);
    assert.notEqual(a.secret_key, b.secret_key);
    assert.notEqual(a.session_token, b.session_token);
    assert.notEqual(viaGet.lease_id, viaPost.lease_id);
    assert.equal(sb.awsCredentials.issuanceCount('deploy'), before + 2);
  });

  test('ttl: query string for GET, JSON body for POST; default_sts_ttl; capped to max_sts_ttl as Vault does', async () => {
    assertLease(await issue('aws/sts/deploy', { query: { ttl: '15m' } }), 900);
    assertLease(await issue('aws/creds/deploy', { method: 'POST', body: { ttl: 1200 } }), 1200);
    assertLease(await issue('aws/sts/deploy', { method: 'POST', body: { ttl: '1800' } }), 1800);
    // The role's default_sts_ttl (15m) applies without a ttl; its max_sts_ttl (1800 s) caps a larger one.
    assertLease(await issue('aws/sts/short'), 900);
    assertLease(await issue('aws/sts/short', { query: { ttl: '2h' } }), 1800);
    // deploy: max_sts_ttl 1h — a 2h request is capped to 1h, not refused.
    const capped = await issue('aws/sts/deploy', { method: 'POST', body: { ttl: '2h' } });
    assertLease(capped, 3600);
    const record = sb.awsCredentials.issued().find((c) => c.accessKeyId === obj(capped.data).access_key);
    assert.ok(record);
    assert.ok(Math.abs(record.expiresAt - (Date.now() + 3600_000)) < 5000, 'the registry expiry matches the lease');
  });

  test('400: ttl beyond what AWS allows, below its minimum, or unparsable — in the words Vault relays', async () => {
    // multi has no max_sts_ttl, so Vault passes 2h on and AWS refuses it (MaxSessionDuration 1h).
    await refused('aws/sts/multi', 400, /^Error assuming role: ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role\.\n\tstatus code: 400, request id: [0-9a-f-]{36}$/, {
      method: 'POST',
      body: { ttl: '2h', role_arn: DEPLOY_ARN },
    });
    await refused('aws/sts/deploy', 400, 'Error assuming role: InvalidParameter: 1 validation error(s) found.\n- minimum field value of 900, AssumeRoleInput.DurationSeconds.\n', {
      query: { ttl: '600' },
    });
    await refused('aws/sts/deploy', 400, /^error converting input soon for field "ttl": time: invalid duration "soon"$/, { query: { ttl: 'soon' } });
    await refused('aws/sts/fed', 400, /^Error generating STS keys: ValidationError: 1 validation error detected: Value '200000' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600\n/, {
      method: 'POST',
      body: { ttl: 200000 },
    });
    await refused('aws/sts/session', 400, 'Error generating STS keys: InvalidParameter: 1 validation error(s) found.\n- minimum field value of 900, GetSessionTokenInput.DurationSeconds.\n', {
      method: 'POST',
      body: { ttl: '5m' },
    });
  });

  test('role_arn: required with several ARNs, must be one of them, and decides the assumed role and account', async () => {
    await refused('aws/sts/multi', 400, 'did not supply a role_arn parameter and unable to determine one');
    await refused('aws/creds/multi', 400, 'did not supply a role_arn parameter and unable to determine one', { method: 'POST', body: {} });
    const stranger = 'arn:aws:iam::123456789012:role/admin';
    await refused('aws/sts/multi', 400, `role_arn "${stranger}" not in allowed role arns for Vault role "multi"`, { query: { role_arn: stranger } });
    await refused('aws/sts/deploy', 400, `role_arn "${stranger}" not in allowed role arns for Vault role "deploy"`, { method: 'POST', body: { role_arn: stranger } });
    const other = await issue('aws/sts/multi', { query: { role_arn: OTHER_ACCOUNT_ARN } });
    // The role's path is not part of the assumed-role ARN; the account is the role's.
    assert.match(String(obj(other.data).arn), /^arn:aws:sts::210987654321:assumed-role\/ReadOnly\/vault-/);
    const same = await issue('aws/sts/multi', { method: 'POST', body: { role_arn: DEPLOY_ARN } });
    assert.match(String(obj(same.data).arn), /^arn:aws:sts::123456789012:assumed-role\/deploy\//);
  });

  test('role_session_name: used as given (normalised), at most 64 characters', async () => {
    const named = await issue('aws/sts/deploy', { method: 'POST', body: { role_session_name: 'ci-run-42' } });
    assert.equal(obj(named.data).arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/ci-run-42`);
    const odd = await issue('aws/creds/deploy', { query: { role_session_name: 'alice smith/laptop' } });
    assert.equal(obj(odd.data).arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/alice_smith_laptop`);
    const max = 'x'.repeat(64);
    assert.equal(obj((await issue('aws/sts/deploy', { query: { role_session_name: max } })).data).arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/${max}`);
    const long = 'y'.repeat(65);
    await refused(
      'aws/sts/deploy',
      400,
      new RegExp(`^Error assuming role: ValidationError: 1 validation error detected: Value '${long}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64\\n\\tstatus code: 400, request id: `),
      { method: 'POST', body: { role_session_name: long } },
    );
    await refused('aws/sts/deploy', 400, 'Error assuming role: InvalidParameter: 1 validation error(s) found.\n- minimum field size of 2, AssumeRoleInput.RoleSessionName.\n', {
      query: { role_session_name: 'z' },
    });
  });

  test('federation_token and session_token: STS credentials without arn; federation needs a policy', async () => {
    const fed = await issue('aws/sts/fed', { method: 'POST', body: { ttl: '2h' } });
    assertStsData(fed, false);
    assertLease(fed, 7200);
    assert.match(String(fed.lease_id), /^aws\/sts\/fed\/[A-Za-z0-9]{24}$/);
    const session = await issue('aws/creds/session');
    assertStsData(session, false);
    assertLease(session, 3600);
    await refused('aws/sts/fed-nopolicy', 400, 'must specify at least one of policy_arns or policy_document with federation_token credential_type');
    const federated = sb.awsCredentials.issued().find((c) => c.accessKeyId === obj(fed.data).access_key);
    assert.equal(federated?.type, 'federation_token');
    assert.match(federated?.sessionName ?? '', /^vault-\d{10}-[A-Za-z0-9]{15}$/);
  });

  test('iam_user: AKIA key, no session token, renewable 32-day lease; both paths work for a modern role', async () => {
    for (const [path, method] of [
      ['creds', 'GET'],
      ['sts', 'POST'],
    ] as const) {
      const envelope = await issue(`aws/${path}/user`, { method, ...(method === 'POST' ? { body: { ttl: '15m' } } : {}) });
      const data = obj(envelope.data);
      assert.deepEqual(Object.keys(data).sort(), STS_DATA_KEYS);
      assert.match(String(data.access_key), ACCESS_KEY_IAM);
      assert.match(String(data.secret_key), SECRET);
      assert.equal(data.security_token, null);
      assert.equal(data.session_token, null);
      assert.equal(envelope.renewable, true);
      // The lease comes from the mount (config/lease unset → 768h); ttl does not apply to IAM users.
      assert.equal(envelope.lease_duration, 768 * 3600);
      assert.match(String(envelope.lease_id), new RegExp(`^aws/${path}/user/[A-Za-z0-9]{24}$`));
    }
    const record = sb.awsCredentials.issued().find((c) => c.role === 'user');
    assert.match(record?.arn ?? '', /^arn:aws:iam::123456789012:user\/vault-jwt-alice@example\.com-user-\d{10}-[A-Za-z0-9]+$/);
  });

  test('legacy roles: iam_user only through creds/, STS types only through sts/ (400 otherwise)', async () => {
    await refused('aws/sts/legacy-user', 400, 'attempted to retrieve iam_user credentials through the sts path; this is not allowed for legacy roles');
    await refused('aws/creds/legacy-sts', 400, 'attempted to retrieve assumed_role credentials through the creds path; this is not allowed for legacy roles', {
      method: 'POST',
      body: {},
    });
    assert.match(String(obj((await issue('aws/creds/legacy-user')).data).access_key), ACCESS_KEY_IAM);
    assert.match(String(obj((await issue('aws/sts/legacy-sts', { method: 'POST', body: {} })).data).access_key), ACCESS_KEY_STS);
  });

  test('unknown role → 400; no or bad token → 403 on both paths and both methods, nothing issued', async () => {
    await refused('aws/creds/nope', 400, 'Role "nope" not found');
    await refused('aws/sts/nope', 400, 'Role "nope" not found', { method: 'POST', body: {} });
    const before = sb.awsCredentials.issuanceCount();
    for (const path of ['aws/creds/deploy', 'aws/sts/deploy']) {
      await refused(path, 403, 'permission denied', { token: '' });
      await refused(path, 403, 'permission denied', { token: 'hvs.not-a-token', method: 'POST', body: {} });
    }
    assert.equal(sb.awsCredentials.issuanceCount(), before);
    // Unknown paths under the mount are 404, wrong methods 405.
    assert.equal((await call(sb, 'GET', 'aws/creds', { token })).status, 404);
    assert.equal((await call(sb, 'DELETE', 'aws/creds/deploy', { token })).status, 405);
  });

  test('unrecognised parameters are ignored with Vault\'s warning', async () => {
    const envelope = await issue('aws/sts/deploy', { method: 'POST', body: { ttl: '1h', region: 'eu-west-1', policy: 'x' } });
    assert.deepEqual(envelope.warnings, ['Endpoint ignored these unrecognized parameters: [policy region]']);
  });

  test('node-vault reads and writes credentials like any Vault client', async () => {
    const client = vault({ endpoint: sb.addr, token });
    const read = (await client.read('aws/creds/deploy')) as Json;
    assertStsData(read, true);
    const written = (await client.write('aws/sts/fed', { ttl: '30m' })) as Json;
    assertStsData(written, false);
    assertLease(written, 1800);
  });

  test('in a namespace the lease id carries the namespace id, as Vault\'s do', async () => {
    const nsToken = await (async () => {
      const iat = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({ iss: ISSUER, sub: 'bob@example.com', aud: 'tng', iat, exp: iat + 600 }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(signingKey);
      const r = await call(sb, 'POST', 'auth/jwt/login', { body: { role: 'ci', jwt }, namespace: 'team-a' });
      assert.equal(r.status, 200, r.text);
      return String(obj(obj(r.body).auth).client_token);
    })();
    const r = await call(sb, 'GET', 'aws/creds/deploy', { token: nsToken, namespace: 'team-a' });
    assert.equal(r.status, 200, r.text);
    assert.match(String(obj(r.body).lease_id), /^aws\/creds\/deploy\/[A-Za-z0-9]{24}\.[A-Za-z0-9]{5}$/);
  });

  test('issued() lists credentials without secrets; issuanceCount() counts per role and in all', async () => {
    const total = sb.awsCredentials.issuanceCount();
    const perRole = sb.awsCredentials.issuanceCount('session');
    const envelope = await issue('aws/sts/session', { method: 'POST', body: {} });
    const data = obj(envelope.data);
    assert.equal(sb.awsCredentials.issuanceCount(), total + 1);
    assert.equal(sb.awsCredentials.issuanceCount('session'), perRole + 1);
    assert.equal(sb.awsCredentials.issuanceCount('no-such-role'), 0);
    const list = sb.awsCredentials.issued();
    assert.equal(list.length, total + 1);
    const entry = list.at(-1);
    assert.ok(entry);
    assert.equal(entry.accessKeyId, data.access_key);
    assert.equal(entry.type, 'session_token');
    assert.equal(entry.role, 'session');
    assert.equal(entry.mount, 'aws');
    assert.equal(entry.account, ACCOUNT);
    assert.equal(entry.arn, `arn:aws:iam::${ACCOUNT}:user/vault-root`);
    const text = JSON.stringify(list);
    assert.ok(!text.includes(String(data.secret_key)) && !text.includes(String(data.session_token)), 'no secrets in issued()');
    for (const item of list) assert.deepEqual(Object.keys(item).filter((k) => /secret|token/i.test(k)), []);
  });

  test('legacySecurityTokenOnly: STS credentials only as security_token (Vault < 1.16); another account', async () => {
    const old = await startVaultSandbox({
      jwt: jwtMount(),
      aws: { mount: 'cloud', account: '111122223333', legacySecurityTokenOnly: true, roles: { fed: AWS_ROLES.fed as AwsRole, user: AWS_ROLES.user as AwsRole } },
    });
    try {
      const oldToken = await vaultToken(old);
      const fed = await issue('cloud/sts/fed', { sandbox: old, token: oldToken });
      const data = obj(fed.data);
      assert.deepEqual(Object.keys(data).sort(), ['access_key', 'secret_key', 'security_token']);
      assert.ok(String(data.security_token).length >= 300);
      assert.match(String(fed.lease_id), /^cloud\/sts\/fed\//);
      const user = obj((await issue('cloud/creds/user', { sandbox: old, token: oldToken })).data);
      assert.deepEqual(Object.keys(user).sort(), ['access_key', 'secret_key', 'security_token']);
      assert.equal(user.security_token, null);
      assert.equal(old.awsCredentials.issued()[0]?.arn.split(':')[4], '111122223333');
      // The default mount is not there; a role set on a new mount creates it.
      assert.equal((await call(old, 'GET', 'aws/creds/fed', { token: oldToken })).status, 404);
      old.setAwsRole('later', { credential_type: 'session_token' }, 'aws');
      assert.equal((await call(old, 'GET', 'aws/creds/later', { token: oldToken })).status, 200);
    } finally {
      await old.close();
    }
  });

  test('setAwsRole() checks roles as Vault does when they are written', () => {
    assert.throws(() => sb.setAwsRole('bad', { credential_type: 'root' as never }), /unrecognized credential_type/);
    assert.throws(() => sb.setAwsRole('bad', { credential_type: 'iam_user', role_arns: [DEPLOY_ARN] }), /cannot supply role_arns when credential_type isn't assumed_role/);
    assert.throws(() => sb.setAwsRole('bad', { credential_type: 'iam_user', max_sts_ttl: '1h' }), /only valid for/);
    assert.throws(() => sb.setAwsRole('bad', { credential_type: 'assumed_role', role_arns: [DEPLOY_ARN], default_sts_ttl: '2h', max_sts_ttl: '1h' }), /cannot be less than default_sts_ttl/);
    assert.throws(() => sb.setAwsRole('bad', { credential_type: 'assumed_role', role_arns: ['deploy'] }), /invalid role ARN/);
    assert.throws(() => sb.setAwsRole('bad', { credential_type: 'assumed_role', role_arns: [DEPLOY_ARN], max_sts_ttl: 'soon' }), /invalid max_sts_ttl/);
    assert.throws(() => sb.setAwsRole('bad name', { credential_type: 'session_token' }), /invalid AWS role name/);
  });

  test('control endpoints: set a role, list issued credentials, expire one or all', async () => {
    const post = async (path: string, body: unknown): Promise<{ status: number; body: Json }> => {
      const r = await fetch(`${sb.addr}/__sandbox/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: obj(await r.json()) };
    };
    assert.deepEqual(await post('aws/role', { name: 'ops', role: { credential_type: 'assumed_role', role_arns: [DEPLOY_ARN] } }), {
      status: 200,
      body: { role: 'ops', mount: 'aws' },
    });
    const bad = await post('aws/role', { name: 'ops', role: { credential_type: 'nope' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /credential_type/);
    const data = obj((await issue('aws/sts/ops')).data);
    const listed = (await (await fetch(`${sb.addr}/__sandbox/aws/issued`)).json()) as Json[];
    assert.ok(listed.some((c) => c.accessKeyId === data.access_key && c.role === 'ops' && c.type === 'assumed_role'));
    assert.deepEqual(await post('aws/expire', { access_key_id: data.access_key }), { status: 200, body: { expired: 1 } });
    assert.deepEqual(await post('aws/expire', { access_key_id: data.access_key }), { status: 200, body: { expired: 0 } });
    assert.equal((await post('aws/expire', { access_key_id: 'ASIANOSUCHKEY0000000' })).status, 404);
    const entry = sb.awsCredentials.issued().find((c) => c.accessKeyId === data.access_key);
    assert.ok(entry && entry.expiresAt <= Date.now());
    assert.throws(() => sb.awsCredentials.expireCredentials('AKIANOSUCHKEY0000000'), /no AWS credential/);
  });
});

// ---------------------------------------------------------------------------------------------------
// STS clients.

function sdkClient(creds: Creds): STSClient {
  return new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials: creds });
}

async function sdkIdentity(creds: Creds): Promise<{ Arn?: string; Account?: string; UserId?: string }> {
  return sdkClient(creds).send(new GetCallerIdentityCommand({}));
}

/** Asserts the SDK call fails with this AWS error code and HTTP status. */
async function sdkRejects(creds: Creds, code: string, status = 403): Promise<void> {
  await assert.rejects(sdkIdentity(creds), (err: unknown) => {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    assert.equal(e.name, code);
    assert.equal(e.$metadata?.httpStatusCode, status);
    return true;
  });
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Debian's AWS CLI v2 in a clean environment: no profile, no config files, no instance metadata. */
async function cli(creds: Creds, ...args: string[]): Promise<CliResult> {
  const env: Record<string, string> = {
    HOME: home,
    PATH: process.env.PATH ?? '',
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_PAGER: '',
  };
  if (creds.sessionToken !== undefined) env.AWS_SESSION_TOKEN = creds.sessionToken;
  const child = spawn('/usr/bin/aws', ['sts', 'get-caller-identity', '--endpoint-url', sts.url, '--region', 'us-east-1', '--output', 'json', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

function assertCliError(result: CliResult, code: string): void {
  assert.notEqual(result.code, 0, result.stdout);
  assert.match(result.stderr, new RegExp(`An error occurred \\(${code}\\) when calling the GetCallerIdentity operation`), result.stderr);
}

/** Requests seen by the STS sandbox since `from`. */
const stsSince = (from: number): ReturnType<StsSandbox['requests']> => sts.requests().slice(from);

/** A request signed here with AWS's signer, for cases the clients never produce. */
async function signed(
  creds: Creds,
  options: { body?: string; method?: string; query?: Record<string, string>; date?: Date; service?: string; region?: string; headers?: Record<string, string> } = {},
): Promise<{ url: string; init: RequestInit }> {
  const { hostname, port } = new URL(sts.url);
  const body = options.body ?? 'Action=GetCallerIdentity&Version=2011-06-15';
  const method = options.method ?? 'POST';
  const signer = new SignatureV4({ service: options.service ?? 'sts', region: options.region ?? 'us-east-1', credentials: creds, sha256: Sha256 });
  const request = await signer.sign(
    {
      method,
      protocol: 'http:',
      hostname,
      port: Number(port),
      path: '/',
      query: options.query ?? {},
      headers: {
        host: `${hostname}:${port}`,
        ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } : {}),
        ...options.headers,
      },
      ...(method === 'POST' ? { body } : {}),
    },
    { signingDate: options.date ?? new Date() },
  );
  const query = Object.keys(request.query ?? {}).length > 0 ? `?${new URLSearchParams(request.query as Record<string, string>)}` : '';
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== 'host'));
  return { url: `${sts.url}/${query}`, init: { method, headers, ...(method === 'POST' ? { body: request.body as string } : {}) } };
}

async function xmlCode(response: Response): Promise<string> {
  const text = await response.text();
  assert.match(text, /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
  return /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? '';
}

describe('STS sandbox', () => {
  test('@aws-sdk/client-sts: GetCallerIdentity with an assumed_role credential → its Arn, Account, UserId (AWS Query protocol)', async () => {
    const envelope = await issue('aws/sts/deploy', { method: 'POST', body: { role_session_name: 'sdk-check' } });
    const from = sts.requests().length;
    const identity = await sdkIdentity(credsOf(envelope));
    assert.equal(identity.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/sdk-check`);
    assert.equal(identity.Arn, obj(envelope.data).arn);
    assert.equal(identity.Account, ACCOUNT);
    assert.match(identity.UserId ?? '', /^AROA[A-Z2-7]{17}:sdk-check$/);
    const seen = stsSince(from);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.action, 'GetCallerIdentity');
    assert.equal(seen[0]?.status, 200);
    assert.equal(seen[0]?.accessKeyId, obj(envelope.data).access_key);
    assert.equal(seen[0]?.method, 'POST');
    assert.match(seen[0]?.contentType ?? '', /^application\/x-www-form-urlencoded/);
    // The role id is stable per IAM role, as AWS's is.
    const again = await sdkIdentity(credsOf(await issue('aws/sts/deploy', { query: { role_session_name: 'sdk-again' } })));
    assert.equal(again.UserId?.split(':')[0], identity.UserId?.split(':')[0]);
  });

  test('@aws-sdk/client-sts: federation_token, session_token and iam_user (no session token) identities', async () => {
    const fed = credsOf(await issue('aws/sts/fed'));
    const fedName = sb.awsCredentials.issued().find((c) => c.accessKeyId === fed.accessKeyId)?.sessionName;
    const { Arn, Account, UserId } = await sdkIdentity(fed);
    assert.deepEqual({ Arn, Account, UserId }, { Arn: `arn:aws:sts::${ACCOUNT}:federated-user/${fedName}`, Account: ACCOUNT, UserId: `${ACCOUNT}:${fedName}` });
    const session = await sdkIdentity(credsOf(await issue('aws/creds/session')));
    assert.equal(session.Arn, `arn:aws:iam::${ACCOUNT}:user/vault-root`);
    assert.match(session.UserId ?? '', /^AIDA[A-Z2-7]{17}$/);
    const user = credsOf(await issue('aws/creds/user'));
    assert.equal(user.sessionToken, undefined);
    const identity = await sdkIdentity(user);
    assert.match(identity.Arn ?? '', /^arn:aws:iam::123456789012:user\/vault-jwt-alice@example\.com-user-/);
    assert.match(identity.UserId ?? '', /^AIDA[A-Z2-7]{17}$/);
  });

  test('AWS CLI v2 (/usr/bin/aws): get-caller-identity with env credentials → JSON with the Arn', async () => {
    const envelope = await issue('aws/sts/deploy', { method: 'POST', body: { role_session_name: 'cli-check' } });
    const from = sts.requests().length;
    const result = await cli(credsOf(envelope));
    assert.equal(result.code, 0, result.stderr);
    const out = obj(JSON.parse(result.stdout));
    assert.equal(out.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/cli-check`);
    assert.equal(out.Account, ACCOUNT);
    assert.match(String(out.UserId), /^AROA[A-Z2-7]{17}:cli-check$/);
    const seen = stsSince(from);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.status, 200);
    assert.equal(seen[0]?.method, 'POST');
    assert.match(seen[0]?.contentType ?? '', /^application\/x-www-form-urlencoded/);
    assert.match(seen[0]?.userAgent ?? '', /^aws-cli\/2\./);
  });

  test('AWS CLI v2: iam_user keys work without a session token', async () => {
    const user = credsOf(await issue('aws/creds/user'));
    const result = await cli(user);
    assert.equal(result.code, 0, result.stderr);
    assert.match(String(obj(JSON.parse(result.stdout)).Arn), /^arn:aws:iam::123456789012:user\/vault-/);
  });

  test('a tampered secret → SignatureDoesNotMatch (SDK throws, CLI exits non-zero)', async () => {
    const creds = credsOf(await issue('aws/sts/deploy'));
    const last = creds.secretAccessKey.at(-1) === 'A' ? 'B' : 'A';
    const tampered = { ...creds, secretAccessKey: creds.secretAccessKey.slice(0, -1) + last };
    const from = sts.requests().length;
    await sdkRejects(tampered, 'SignatureDoesNotMatch');
    assertCliError(await cli(tampered), 'SignatureDoesNotMatch');
    // Neither client retried: one request each, both refused with 403.
    assert.deepEqual(
      stsSince(from).map((r) => [r.status, r.code]),
      [
        [403, 'SignatureDoesNotMatch'],
        [403, 'SignatureDoesNotMatch'],
      ],
    );
    // The same credential untampered still works.
    assert.equal((await sdkIdentity(creds)).Account, ACCOUNT);
  });

  test('an unknown access key → InvalidClientTokenId', async () => {
    const unknown = { accessKeyId: 'ASIAUNKNOWNKEY234567', secretAccessKey: 'x'.repeat(40), sessionToken: 'y'.repeat(400) };
    await sdkRejects(unknown, 'InvalidClientTokenId');
    assertCliError(await cli(unknown), 'InvalidClientTokenId');
  });

  test('expired via the control → ExpiredToken; an expired iam_user key is gone (InvalidClientTokenId)', async () => {
    const creds = credsOf(await issue('aws/sts/deploy'));
    const other = credsOf(await issue('aws/sts/deploy'));
    assert.equal((await sdkIdentity(creds)).Account, ACCOUNT);
    assert.equal(sb.awsCredentials.expireCredentials(creds.accessKeyId), 1);
    await sdkRejects(creds, 'ExpiredToken');
    assertCliError(await cli(creds), 'ExpiredToken');
    // Only that one: another credential still works until everything is expired.
    assert.equal((await sdkIdentity(other)).Account, ACCOUNT);
    const user = credsOf(await issue('aws/creds/user'));
    assert.ok(sb.awsCredentials.expireCredentials() >= 2);
    await sdkRejects(other, 'ExpiredToken');
    await sdkRejects(user, 'InvalidClientTokenId');
  });

  test('STS keys without their session token, or with another one, are refused; iam_user keys with one too', async () => {
    const creds = credsOf(await issue('aws/sts/deploy'));
    const stranger = credsOf(await issue('aws/sts/deploy'));
    const bare = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
    await sdkRejects(bare, 'InvalidClientTokenId');
    assertCliError(await cli(bare), 'InvalidClientTokenId');
    await sdkRejects({ ...creds, sessionToken: stranger.sessionToken ?? '' }, 'InvalidClientTokenId');
    const user = credsOf(await issue('aws/creds/user'));
    await sdkRejects({ ...user, sessionToken: creds.sessionToken ?? '' }, 'InvalidClientTokenId');
  });

  test('signature checks on hand-made requests: scope, time window, body, headers, action', async () => {
    const creds = credsOf(await issue('aws/sts/deploy', { method: 'POST', body: { role_session_name: 'raw' } }));
    // A good request, in another region (any region is accepted) — XML as in the reference.
    let req = await signed(creds, { region: 'eu-central-1' });
    let response = await fetch(req.url, req.init);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /xml/);
    const xml = await response.text();
    assert.match(xml, /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.match(xml, /<Arn>arn:aws:sts::123456789012:assumed-role\/deploy\/raw<\/Arn>/);
    assert.match(xml, /<RequestId>[0-9a-f-]{36}<\/RequestId>/);

    // GET with the parameters in the query string, answered as JSON when asked for.
    req = await signed(creds, { method: 'GET', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' }, headers: { accept: 'application/json' } });
    response = await fetch(req.url, req.init);
    assert.equal(response.status, 200);
    const json = obj(await response.json());
    assert.equal(obj(obj(json.GetCallerIdentityResponse).GetCallerIdentityResult).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/raw`);

    // Signed for another service.
    req = await signed(creds, { service: 'iam' });
    response = await fetch(req.url, req.init);
    assert.equal(response.status, 403);
    assert.equal(await xmlCode(response), 'SignatureDoesNotMatch');

    // Signed 20 minutes ago / 20 minutes ahead: outside the 15-minute window.
    for (const offset of [-20, 20]) {
      req = await signed(creds, { date: new Date(Date.now() + offset * 60_000) });
      response = await fetch(req.url, req.init);
      assert.equal(response.status, 403);
      const text = await response.text();
      assert.match(text, /<Code>SignatureDoesNotMatch<\/Code>/);
      assert.match(text, offset < 0 ? /Signature expired/ : /Signature not yet current/);
    }
    // 10 minutes off is still fine.
    req = await signed(creds, { date: new Date(Date.now() - 10 * 60_000) });
    assert.equal((await fetch(req.url, req.init)).status, 200);

    // The body changed after signing.
    req = await signed(creds);
    response = await fetch(req.url, { ...req.init, body: 'Action=GetCallerIdentity&Version=2011-06-15&Extra=1' });
    assert.equal(response.status, 403);
    assert.equal(await xmlCode(response), 'SignatureDoesNotMatch');

    // A signed header changed after signing.
    req = await signed(creds, { headers: { 'x-amz-meta-note': 'a' } });
    response = await fetch(req.url, { ...req.init, headers: { ...(req.init.headers as Record<string, string>), 'x-amz-meta-note': 'b' } });
    assert.equal(await xmlCode(response), 'SignatureDoesNotMatch');

    // Unsigned, and with a malformed Authorization header.
    response = await fetch(sts.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    assert.equal(response.status, 403);
    assert.equal(await xmlCode(response), 'MissingAuthenticationToken');
    req = await signed(creds);
    const headers = { ...(req.init.headers as Record<string, string>), authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/20250101/us-east-1/sts/aws4_request` };
    response = await fetch(req.url, { ...req.init, headers });
    assert.equal(response.status, 400);
    assert.equal(await xmlCode(response), 'IncompleteSignature');

    // Properly signed, but another action.
    req = await signed(creds, { body: 'Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=y' });
    response = await fetch(req.url, req.init);
    assert.equal(response.status, 400);
    assert.equal(await xmlCode(response), 'InvalidAction');
  });

  test('requests() records action, key, status and error code of every request', async () => {
    const from = sts.requests().length;
    const creds = credsOf(await issue('aws/sts/deploy'));
    await sdkIdentity(creds);
    await sdkRejects({ ...creds, secretAccessKey: 'A'.repeat(40) }, 'SignatureDoesNotMatch');
    const seen = stsSince(from);
    assert.deepEqual(
      seen.map(({ action, accessKeyId, status, code }) => ({ action, accessKeyId, status, code })),
      [
        { action: 'GetCallerIdentity', accessKeyId: creds.accessKeyId, status: 200, code: undefined },
        { action: 'GetCallerIdentity', accessKeyId: creds.accessKeyId, status: 403, code: 'SignatureDoesNotMatch' },
      ],
    );
  });
});

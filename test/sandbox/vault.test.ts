// Checks the sandbox Vault against Vault's documented API with an independent client: node-vault (its own
// axios transport) plus raw fetch for status codes and headers. ID tokens are minted here with jose and
// served from a small discovery/JWKS server of this file's own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { after, afterEach, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import type { JWK } from 'jose';
import vault from 'node-vault';
import { newKeyPair } from './signing-keys.ts';
import { startVaultSandbox } from './vault/index.ts';
import type { JwtRole, VaultSandbox } from './vault/index.ts';

// ---------------------------------------------------------------------------------------------------
// A minimal OIDC issuer: discovery document + JWKS, with counters and key rotation.

interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

async function makeKey(kid: string, alg: 'RS256' | 'ES256' | 'EdDSA'): Promise<TestKey> {
  const { privateKey, publicKey } = newKeyPair(alg);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

class TestIssuer {
  server!: Server;
  issuer = '';
  keys: TestKey[] = [];
  jwksFetches = 0;
  discoveryFetches = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      res.setHeader('Content-Type', 'application/json');
      if (path === '/dex/.well-known/openid-configuration') {
        this.discoveryFetches++;
        res.end(JSON.stringify({ issuer: this.issuer, jwks_uri: `${this.issuer}/keys`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] }));
      } else if (path === '/dex/keys') {
        this.jwksFetches++;
        res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/dex`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const idp = new TestIssuer();
const now = (): number => Math.floor(Date.now() / 1000);

interface MintOptions {
  key?: TestKey;
  /** Signs with `key` but puts this kid into the header. */
  kid?: string;
}

/** An ID token as Dex would issue it; claims set to undefined are left out. */
async function mint(claims: Record<string, unknown> = {}, options: MintOptions = {}): Promise<string> {
  const key = options.key ?? idp.keys[0];
  assert.ok(key);
  const payload: Record<string, unknown> = {
    iss: idp.issuer,
    sub: 'CiRhbGljZS1zdWI',
    aud: 'tng-cli',
    email: 'alice@example.com',
    name: 'Alice',
    groups: ['admins', 'devs'],
    iat: now(),
    exp: now() + 600,
    ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid }).sign(key.privateKey);
}

// ---------------------------------------------------------------------------------------------------
// Raw HTTP.

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

interface RawOptions {
  token?: string;
  bearer?: string;
  namespace?: string;
  body?: unknown;
  rawBody?: string;
}

async function raw(base: string, method: string, path: string, options: RawOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
  if (options.token) headers['X-Vault-Token'] = options.token;
  if (options.bearer) headers.Authorization = `Bearer ${options.bearer}`;
  if (options.namespace) headers['X-Vault-Namespace'] = options.namespace;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Json;
};

const ENVELOPE_KEYS = ['auth', 'data', 'lease_duration', 'lease_id', 'mount_type', 'renewable', 'request_id', 'warnings', 'wrap_info'];
const AUTH_KEYS = [
  'accessor',
  'client_token',
  'entity_id',
  'identity_policies',
  'lease_duration',
  'metadata',
  'mfa_requirement',
  'num_uses',
  'orphan',
  'policies',
  'renewable',
  'token_policies',
  'token_type',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** Asserts a node-vault rejection with this status and (exact or matching) first error. */
async function rejectsWith(promise: Promise<unknown>, status: number, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const e = err as { message: string; response?: { statusCode: number; body: { errors: string[] } } };
    assert.equal(e.response?.statusCode, status);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.ok(Array.isArray(e.response?.body.errors));
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------

const ROLES: Record<string, JwtRole> = {
  tng: {
    role_type: 'jwt',
    bound_audiences: ['tng-cli'],
    user_claim: 'email',
    groups_claim: 'groups',
    claim_mappings: { email: 'email', name: 'display' },
    token_policies: ['tng-user', 'aws-deploy'],
    token_ttl: '15m',
    token_max_ttl: '1h',
  },
  browser: { user_claim: 'email', bound_audiences: ['tng-cli'] },
  noaud: { role_type: 'jwt', user_claim: 'email' },
  subject: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', bound_subject: 'someone-else' },
  claims: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', bound_claims: { groups: ['ops', 'admins'], hd: 'example.com' } },
  bysub: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'sub', groups_claim: 'groups' },
  strict: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', clock_skew_leeway: -1, expiration_leeway: -1, not_before_leeway: -1 },
  short: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', token_ttl: 1 },
  batch: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', token_type: 'batch', token_ttl: '10m' },
  secs: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', token_ttl: 90 },
  gosecs: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', token_ttl: '90s' },
  hm: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email', token_ttl: '1h30m' },
  nottl: { role_type: 'jwt', bound_audiences: ['tng-cli'], user_claim: 'email' },
};

let sb: VaultSandbox;

async function login(role = 'tng', claims: Record<string, unknown> = {}, namespace?: string): Promise<Json> {
  const r = await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role, jwt: await mint(claims) }, ...(namespace ? { namespace } : {}) });
  assert.equal(r.status, 200, r.text);
  return obj(obj(r.body).auth);
}

before(async () => {
  await idp.start();
  idp.keys.push(await makeKey('k1', 'RS256'), await makeKey('k2', 'ES256'));
  sb = await startVaultSandbox({ jwt: { oidc_discovery_url: idp.issuer, bound_issuer: idp.issuer, roles: ROLES } });
});

after(async () => {
  await sb.close();
  await idp.close();
});

afterEach(() => {
  sb.clearFaults();
  sb.unseal();
  sb.setStandby(false);
});

describe('sys/health', () => {
  test('GET answers 200 with the documented body; every response carries a Date header', async () => {
    const body = obj(await vault({ endpoint: sb.addr }).health());
    assert.equal(body.initialized, true);
    assert.equal(body.sealed, false);
    assert.equal(body.standby, false);
    assert.equal(body.performance_standby, false);
    assert.equal(body.replication_dr_mode, 'disabled');
    assert.equal(body.replication_performance_mode, 'disabled');
    assert.equal(typeof body.version, 'string');
    assert.equal(typeof body.cluster_name, 'string');
    assert.match(String(body.cluster_id), UUID);
    assert.equal(typeof body.enterprise, 'boolean');
    assert.equal(typeof body.clock_skew_ms, 'number');
    assert.equal(typeof body.echo_duration_ms, 'number');
    assert.ok(Math.abs(Number(body.server_time_utc) - now()) <= 5, `server_time_utc ${String(body.server_time_utc)}`);

    const r = await raw(sb.addr, 'GET', '/v1/sys/health');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const date = Date.parse(r.headers.get('date') ?? '');
    assert.ok(Math.abs(date - Date.now()) < 5000, 'Date header close to now');
    for (const path of ['/v1/auth/token/lookup-self', '/v1/nope', '/__sandbox/requests']) {
      assert.ok((await raw(sb.addr, 'GET', path)).headers.get('date'), `Date header on ${path}`);
    }
  });

  test('HEAD answers the same status codes without a body', async () => {
    let r = await raw(sb.addr, 'HEAD', '/v1/sys/health');
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    sb.seal();
    r = await raw(sb.addr, 'HEAD', '/v1/sys/health');
    assert.equal(r.status, 503);
    assert.equal(r.text, '');
    sb.unseal();
    sb.setStandby(true);
    assert.equal((await raw(sb.addr, 'HEAD', '/v1/sys/health')).status, 429);
    assert.equal((await raw(sb.addr, 'HEAD', '/v1/sys/health?standbyok=true')).status, 200);
  });

  test('standby → 429 and sealed → 503, with the documented query overrides', async () => {
    const status = async (q = ''): Promise<number> => (await raw(sb.addr, 'GET', `/v1/sys/health${q}`)).status;
    assert.equal(await status('?activecode=299'), 299);
    assert.equal(await status('?perfstandbyok=true'), 200);

    sb.setStandby(true);
    const standby = await raw(sb.addr, 'GET', '/v1/sys/health');
    assert.equal(standby.status, 429);
    assert.equal(obj(standby.body).standby, true);
    assert.equal(await status('?standbyok=true'), 200);
    assert.equal(await status('?standbyok'), 200, 'a bare standbyok counts as true');
    assert.equal(await status('?standbyok=false'), 429);
    assert.equal(await status('?standbyok=true&activecode=204'), 204);
    assert.equal(await status('?standbycode=200'), 200);
    assert.equal(await status('?standbyok=true&perfstandbyok=true'), 200);
    sb.setStandby(false);

    sb.seal();
    const sealed = await raw(sb.addr, 'GET', '/v1/sys/health');
    assert.equal(sealed.status, 503);
    assert.equal(obj(sealed.body).sealed, true);
    assert.equal(obj(sealed.body).initialized, true);
    assert.equal(await status('?sealedcode=200'), 200);
    assert.equal(await status('?standbyok=true'), 503, 'standbyok does not hide a sealed node');
    // node-vault resolves health() with the body even for non-200 codes.
    assert.equal(obj(await vault({ endpoint: sb.addr }).health()).sealed, true);
    sb.unseal();

    const bad = await raw(sb.addr, 'GET', '/v1/sys/health?activecode=abc');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { errors: [] });
    assert.equal((await raw(sb.addr, 'GET', '/v1/sys/health?standbyok=maybe')).status, 400);
    assert.equal((await raw(sb.addr, 'POST', '/v1/sys/health')).status, 405);
  });
});

describe('JWT login', () => {
  test('node-vault jwtLogin gets the documented auth envelope', async () => {
    const client = vault({ endpoint: sb.addr });
    const res = obj(await client.jwtLogin({ role: 'tng', jwt: await mint(), mount_point: 'jwt' }));
    assert.deepEqual(Object.keys(res).sort(), ENVELOPE_KEYS);
    assert.match(String(res.request_id), UUID);
    assert.equal(res.lease_id, '');
    assert.equal(res.renewable, false);
    assert.equal(res.lease_duration, 0);
    assert.equal(res.data, null);
    assert.equal(res.wrap_info, null);
    assert.equal(res.warnings, null);
    assert.equal(res.mount_type, 'jwt');

    const auth = obj(res.auth);
    assert.deepEqual(Object.keys(auth).sort(), AUTH_KEYS);
    assert.match(String(auth.client_token), /^hvs\.[A-Za-z0-9]{90,}$/);
    assert.match(String(auth.accessor), /^[A-Za-z0-9]{20,}$/);
    assert.deepEqual(auth.policies, ['aws-deploy', 'default', 'tng-user']);
    assert.deepEqual(auth.token_policies, ['aws-deploy', 'default', 'tng-user']);
    assert.deepEqual(auth.identity_policies, []);
    assert.deepEqual(auth.metadata, { role: 'tng', email: 'alice@example.com', display: 'Alice' });
    assert.equal(auth.lease_duration, 900);
    assert.equal(auth.renewable, true);
    assert.match(String(auth.entity_id), UUID);
    assert.equal(auth.token_type, 'service');
    assert.equal(auth.orphan, true);
    assert.equal(auth.num_uses, 0);
    assert.equal(auth.mfa_requirement, null);
    // node-vault adopts the token from the login response.
    assert.equal(client.token, auth.client_token);
  });

  test('an aud list matches when any entry is bound; role names are case-insensitive; PUT ≡ POST', async () => {
    const r = await raw(sb.addr, 'PUT', '/v1/auth/jwt/login', { body: { role: 'TNG', jwt: await mint({ aud: ['other', 'tng-cli'] }) } });
    assert.equal(r.status, 200, r.text);
    assert.equal(obj(obj(r.body).auth).metadata && obj(obj(obj(r.body).auth).metadata).role, 'tng');
  });

  test('entity_id is stable per mount and user; display name comes from mount and user claim', async () => {
    const a1 = await login('tng');
    const a2 = await login('tng');
    const b = await login('tng', { email: 'bob@example.com' });
    assert.notEqual(a1.client_token, a2.client_token);
    assert.notEqual(a1.accessor, a2.accessor);
    assert.equal(a1.entity_id, a2.entity_id);
    assert.notEqual(a1.entity_id, b.entity_id);

    sb.setJwtRole('tng', ROLES.tng as JwtRole, 'jwt2');
    const other = await raw(sb.addr, 'POST', '/v1/auth/jwt2/login', { body: { role: 'tng', jwt: await mint() } });
    assert.equal(other.status, 200, other.text);
    const otherAuth = obj(obj(other.body).auth);
    assert.notEqual(otherAuth.entity_id, a1.entity_id);
    assert.equal(obj(other.body).mount_type, 'jwt');

    const look = await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token: String(otherAuth.client_token) });
    assert.equal(obj(obj(look.body).data).display_name, 'jwt2-alice@example.com');
    assert.equal(obj(obj(look.body).data).path, 'auth/jwt2/login');
  });

  test('token_ttl accepts seconds and Go-style durations; no TTL means the 32-day mount default', async () => {
    assert.equal((await login('secs')).lease_duration, 90);
    assert.equal((await login('gosecs')).lease_duration, 90);
    assert.equal((await login('hm')).lease_duration, 5400);
    assert.equal((await login('nottl')).lease_duration, 768 * 3600);
    assert.deepEqual((await login('nottl')).policies, ['default']);
    assert.throws(() => sb.setJwtRole('bad', { role_type: 'jwt', user_claim: 'email', token_ttl: '2h', token_max_ttl: '1h' }));
    assert.throws(() => sb.setJwtRole('bad', { role_type: 'jwt', user_claim: 'email', token_ttl: 'soon' }));
    assert.throws(() => sb.setJwtRole('bad', { role_type: 'jwt' } as unknown as JwtRole), /user claim/);
  });

  test('user_claim may be sub; groups may be a single string', async () => {
    const auth = await login('bysub', { groups: 'admins' });
    const look = await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token: String(auth.client_token) });
    assert.equal(obj(obj(look.body).data).display_name, 'jwt-CiRhbGljZS1zdWI');
  });

  const cases: Array<{ name: string; body: () => Promise<Json>; message: string | RegExp }> = [
    { name: 'missing role', body: async () => ({ jwt: await mint() }), message: 'missing role' },
    { name: 'unknown role', body: async () => ({ role: 'nope', jwt: await mint() }), message: 'role "nope" could not be found' },
    { name: 'oidc role_type (the default)', body: async () => ({ role: 'browser', jwt: await mint() }), message: 'role with oidc role_type is not allowed' },
    { name: 'missing jwt', body: async () => ({ role: 'tng' }), message: 'missing token' },
    {
      name: 'aud present, none bound',
      body: async () => ({ role: 'noaud', jwt: await mint() }),
      message: 'audience claim found in JWT but no audiences bound to the role',
    },
    {
      name: 'aud mismatch',
      body: async () => ({ role: 'tng', jwt: await mint({ aud: 'someone-else' }) }),
      message: 'error validating claims: aud claim does not match any bound audience',
    },
    {
      name: 'aud missing while bound',
      body: async () => ({ role: 'tng', jwt: await mint({ aud: undefined }) }),
      message: 'error validating claims: aud claim does not match any bound audience',
    },
    {
      name: 'expired beyond the 60 s clock skew leeway',
      body: async () => ({ role: 'tng', jwt: await mint({ iat: now() - 600, exp: now() - 90 }) }),
      message: 'error validating token: validation failed, token is expired (exp)',
    },
    {
      name: 'expired with leeways disabled',
      body: async () => ({ role: 'strict', jwt: await mint({ iat: now() - 600, exp: now() - 5 }) }),
      message: 'error validating token: validation failed, token is expired (exp)',
    },
    {
      name: 'no exp, iat older than expiration_leeway + skew',
      body: async () => ({ role: 'tng', jwt: await mint({ exp: undefined, iat: now() - 300 }) }),
      message: 'error validating token: validation failed, token is expired (exp)',
    },
    {
      name: 'nbf in the future',
      body: async () => ({ role: 'tng', jwt: await mint({ nbf: now() + 300, exp: now() + 900 }) }),
      message: 'error validating token: validation failed, token not valid yet (nbf)',
    },
    {
      name: 'iat in the future',
      body: async () => ({ role: 'tng', jwt: await mint({ iat: now() + 300, nbf: now(), exp: now() + 900 }) }),
      message: 'error validating token: validation failed, token issued in the future (iat)',
    },
    {
      name: 'no time claims at all',
      body: async () => ({ role: 'tng', jwt: await mint({ iat: undefined, exp: undefined }) }),
      message: 'no issue time, notbefore, or expiration time encoded in token',
    },
    {
      name: 'wrong issuer',
      body: async () => ({ role: 'tng', jwt: await mint({ iss: 'https://evil.example.com' }) }),
      message: 'error validating token: validation failed, invalid issuer claim (iss)',
    },
    {
      name: 'user claim missing',
      body: async () => ({ role: 'tng', jwt: await mint({ email: undefined }) }),
      message: 'claim "email" not found in token',
    },
    {
      name: 'user claim not a string',
      body: async () => ({ role: 'tng', jwt: await mint({ email: ['a@example.com'] }) }),
      message: 'claim "email" could not be converted to string',
    },
    {
      name: 'groups claim missing',
      body: async () => ({ role: 'tng', jwt: await mint({ groups: undefined }) }),
      message: 'failed to fetch groups: "groups" claim not found in token',
    },
    {
      name: 'groups claim not a list of strings',
      body: async () => ({ role: 'tng', jwt: await mint({ groups: [1, 2] }) }),
      message: 'value 1 in groups claim could not be parsed as string',
    },
    {
      name: 'claim mapping source not a string',
      body: async () => ({ role: 'tng', jwt: await mint({ name: { first: 'A' } }) }),
      message: "error converting claim 'name' to string",
    },
    {
      name: 'bound_subject mismatch',
      body: async () => ({ role: 'subject', jwt: await mint() }),
      message: 'sub claim does not match bound subject',
    },
    {
      name: 'bound claim missing',
      body: async () => ({ role: 'claims', jwt: await mint() }),
      message: 'error validating claims: claim "hd" is missing',
    },
    {
      name: 'bound claim mismatch',
      body: async () => ({ role: 'claims', jwt: await mint({ hd: 'example.com', groups: ['devs'] }) }),
      message: 'error validating claims: claim "groups" does not match any associated bound claim values',
    },
    {
      name: 'signature by a key not in the JWKS (same kid)',
      body: async () => ({ role: 'tng', jwt: await mint({}, { key: await makeKey('k1', 'RS256') }) }),
      message: /^error validating token: .*signature/,
    },
    {
      name: 'unknown kid (after one refetch)',
      body: async () => ({ role: 'tng', jwt: await mint({}, { key: await makeKey('stranger', 'RS256') }) }),
      message: /^error validating token: /,
    },
    {
      name: 'HS256 is not an accepted algorithm',
      body: async () => ({
        role: 'tng',
        jwt: await new SignJWT({ iss: idp.issuer, aud: 'tng-cli', email: 'a@example.com', exp: now() + 60 })
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .sign(new TextEncoder().encode('0123456789abcdef0123456789abcdef')),
      }),
      message: /^error validating token: /,
    },
    {
      name: 'unsigned token (alg none)',
      body: async () => ({ role: 'tng', jwt: new UnsecuredJWT({ iss: idp.issuer, aud: 'tng-cli', email: 'a@example.com', exp: now() + 60 }).encode() }),
      message: /^error validating token: /,
    },
    { name: 'malformed token', body: async () => ({ role: 'tng', jwt: 'not-a-jwt' }), message: /^error validating token: / },
  ];

  for (const c of cases) {
    test(`400: ${c.name}`, async () => {
      const r = await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: await c.body() });
      assert.equal(r.status, 400, r.text);
      const errors = obj(r.body).errors as string[];
      assert.equal(errors.length, 1);
      if (typeof c.message === 'string') assert.equal(errors[0], c.message);
      else assert.match(errors[0] ?? '', c.message);
    });
  }

  test('node-vault surfaces a 400 as a rejection with the error text', async () => {
    await rejectsWith(vault({ endpoint: sb.addr }).jwtLogin({ role: 'browser', jwt: await mint() }), 400, 'role with oidc role_type is not allowed');
  });

  test('leeways: slightly expired tokens and missing exp within expiration_leeway are accepted', async () => {
    await login('tng', { iat: now() - 600, exp: now() - 30 });
    await login('tng', { exp: undefined, iat: now() - 100 });
    await login('tng', { exp: undefined, iat: undefined, nbf: now() - 10 });
    await login('tng', { nbf: now() + 30 });
    const r = await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint({}, { key: idp.keys[1] }) } });
    assert.equal(r.status, 200, 'ES256-signed tokens are accepted for jwt roles');
  });

  test('keys are cached, and refetched once for an unknown kid (rotation)', async () => {
    await login('tng');
    const before = idp.jwksFetches;
    await login('tng');
    await login('tng');
    assert.equal(idp.jwksFetches, before, 'no refetch for a known kid');
    const rotated = await makeKey('k3', 'EdDSA');
    idp.keys.push(rotated);
    const r = await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint({}, { key: rotated }) } });
    assert.equal(r.status, 200, r.text);
    assert.equal(idp.jwksFetches, before + 1);
    await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint({}, { key: rotated }) } });
    assert.equal(idp.jwksFetches, before + 1);
  });

  test('jwks_url works without discovery; a mount without keys cannot log in', async () => {
    const direct = await startVaultSandbox({ jwt: { jwks_url: `${idp.issuer}/keys`, bound_issuer: idp.issuer, mount: 'dex', roles: { tng: ROLES.tng as JwtRole } } });
    try {
      const discoveries = idp.discoveryFetches;
      const ok = await raw(direct.addr, 'POST', '/v1/auth/dex/login', { body: { role: 'tng', jwt: await mint() } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(idp.discoveryFetches, discoveries, 'jwks_url needs no discovery');
      const bad = await raw(direct.addr, 'POST', '/v1/auth/dex/login', { body: { role: 'tng', jwt: await mint({ iss: 'https://other' }) } });
      assert.equal(bad.status, 400);
      assert.equal((await raw(direct.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: 'x' } })).status, 404, 'only the configured mount exists');
    } finally {
      await direct.close();
    }
    const bare = await startVaultSandbox();
    try {
      bare.setJwtRole('tng', ROLES.tng as JwtRole);
      const r = await raw(bare.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint() } });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, { errors: ['could not load configuration'] });
    } finally {
      await bare.close();
    }
  });

  test('an unreachable discovery URL is a server-side error', async () => {
    const dead = await startVaultSandbox({ jwt: { oidc_discovery_url: 'http://127.0.0.1:1/dex', roles: { tng: ROLES.tng as JwtRole } } });
    try {
      const r = await raw(dead.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint() } });
      assert.equal(r.status, 500);
      assert.match(String((obj(r.body).errors as string[])[0]), /^error getting provider for login operation: /);
    } finally {
      await dead.close();
    }
  });
});

describe('token auth', () => {
  test('lookup-self, renew-self and revoke-self with node-vault', async () => {
    const client = vault({ endpoint: sb.addr });
    const before = now();
    const auth = obj(obj(await client.jwtLogin({ role: 'tng', jwt: await mint() })).auth);

    const look = obj(await client.tokenLookupSelf());
    assert.deepEqual(Object.keys(look).sort(), ENVELOPE_KEYS);
    assert.equal(look.mount_type, 'token');
    assert.equal(look.auth, null);
    const data = obj(look.data);
    for (const key of ['accessor', 'creation_time', 'creation_ttl', 'display_name', 'entity_id', 'expire_time', 'explicit_max_ttl', 'id', 'identity_policies', 'issue_time', 'meta', 'num_uses', 'orphan', 'path', 'policies', 'renewable', 'ttl', 'type']) {
      assert.ok(key in data, `lookup-self data has ${key}`);
    }
    assert.equal(data.accessor, auth.accessor);
    assert.equal(data.id, auth.client_token);
    assert.ok(Number(data.creation_time) >= before && Number(data.creation_time) <= now());
    assert.equal(data.creation_ttl, 900);
    assert.equal(data.display_name, 'jwt-alice@example.com');
    assert.equal(data.entity_id, auth.entity_id);
    assert.match(String(data.expire_time), RFC3339);
    assert.ok(Math.abs(Date.parse(String(data.expire_time)) / 1000 - (now() + 900)) <= 2);
    assert.match(String(data.issue_time), RFC3339);
    assert.equal(data.explicit_max_ttl, 0);
    assert.deepEqual(data.identity_policies, []);
    assert.deepEqual(data.meta, { role: 'tng', email: 'alice@example.com', display: 'Alice' });
    assert.equal(data.num_uses, 0);
    assert.equal(data.orphan, true);
    assert.equal(data.path, 'auth/jwt/login');
    assert.deepEqual(data.policies, ['aws-deploy', 'default', 'tng-user']);
    assert.equal(data.renewable, true);
    assert.ok(Number(data.ttl) > 890 && Number(data.ttl) <= 900);
    assert.equal(data.type, 'service');

    const renewed = obj(await client.tokenRenewSelf({ increment: '30m' }));
    assert.equal(renewed.mount_type, 'token');
    const rauth = obj(renewed.auth);
    assert.deepEqual(Object.keys(rauth).sort(), AUTH_KEYS);
    assert.equal(rauth.client_token, auth.client_token);
    assert.equal(rauth.accessor, auth.accessor);
    assert.equal(rauth.lease_duration, 1800);
    assert.equal(rauth.renewable, true);
    assert.deepEqual(rauth.policies, auth.policies);
    assert.equal(renewed.warnings, null);
    const afterRenew = obj(obj(await client.tokenLookupSelf()).data);
    assert.ok(Number(afterRenew.ttl) > 1790);
    assert.equal(typeof afterRenew.last_renewal_time, 'number');

    // Past token_max_ttl (1h from creation): capped, with Vault's warning.
    const capped = obj(await client.tokenRenewSelf({ increment: 7200 }));
    const cappedTtl = Number(obj(capped.auth).lease_duration);
    assert.ok(cappedTtl <= 3600 && cappedTtl >= 3590, `capped at the max TTL, got ${cappedTtl}`);
    assert.match(String((capped.warnings as string[])[0]), /^TTL of "2h0m0s" exceeded the effective max_ttl of "59m\d+s"; TTL value is capped accordingly$/);

    // Without an increment the role's token_ttl is re-applied.
    assert.equal(obj(obj(await client.tokenRenewSelf()).auth).lease_duration, 900);

    const bad = await raw(sb.addr, 'POST', '/v1/auth/token/renew-self', { token: String(auth.client_token), body: { increment: 'soon' } });
    assert.equal(bad.status, 400);

    assert.equal(await client.tokenRevokeSelf(), '');
    await rejectsWith(client.tokenLookupSelf(), 403, 'permission denied');
    await rejectsWith(client.tokenRenewSelf(), 403, 'permission denied');
    const view = sb.tokens().find((t) => t.accessor === auth.accessor);
    assert.equal(view?.revoked, true);
  });

  test('revoke-self answers 204 with no body', async () => {
    const auth = await login();
    const r = await raw(sb.addr, 'POST', '/v1/auth/token/revoke-self', { token: String(auth.client_token) });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    const again = await raw(sb.addr, 'POST', '/v1/auth/token/revoke-self', { token: String(auth.client_token) });
    assert.equal(again.status, 403);
    assert.deepEqual(again.body, { errors: ['permission denied'] });
  });

  test('an expired token is refused with 403', async () => {
    const auth = await login('short');
    assert.equal(auth.lease_duration, 1);
    const token = String(auth.client_token);
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const r = await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token });
    assert.equal(r.status, 403);
    assert.deepEqual(r.body, { errors: ['permission denied'] });
    assert.equal((await raw(sb.addr, 'POST', '/v1/auth/token/renew-self', { token })).status, 403);
  });

  test('batch tokens: hvb. prefix, no accessor, not renewable', async () => {
    const auth = await login('batch');
    assert.match(String(auth.client_token), /^hvb\.[A-Za-z0-9]{90,}$/);
    assert.equal(auth.accessor, '');
    assert.equal(auth.renewable, false);
    assert.equal(auth.token_type, 'batch');
    const token = String(auth.client_token);
    const look = await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token });
    assert.equal(obj(obj(look.body).data).type, 'batch');
    assert.equal(obj(obj(look.body).data).renewable, false);
    const renew = await raw(sb.addr, 'POST', '/v1/auth/token/renew-self', { token, body: { increment: '1h' } });
    assert.equal(renew.status, 400);
    assert.deepEqual(renew.body, { errors: ['batch tokens cannot be renewed'] });
    await rejectsWith(vault({ endpoint: sb.addr, token }).tokenRenewSelf(), 400, 'batch tokens cannot be renewed');
  });

  test('the token may come as X-Vault-Token or Authorization: Bearer; none or garbage → 403', async () => {
    const token = String((await login()).client_token);
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { bearer: token })).status, 200);
    assert.equal((await raw(sb.addr, 'POST', '/v1/auth/token/lookup-self', { token })).status, 200, 'lookup-self also takes POST');
    for (const options of [{}, { token: 'hvs.nonsense' }, { bearer: 'nonsense' }]) {
      const r = await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', options);
      assert.equal(r.status, 403);
      assert.deepEqual(r.body, { errors: ['permission denied'] });
    }
  });

  test('lookup, lookup-accessor and revoke-accessor', async () => {
    const caller = String((await login()).client_token);
    const target = await login('tng', { email: 'carol@example.com' });

    const look = await raw(sb.addr, 'POST', '/v1/auth/token/lookup', { token: caller, body: { token: target.client_token } });
    assert.equal(look.status, 200);
    assert.equal(obj(obj(look.body).data).display_name, 'jwt-carol@example.com');
    const badLook = await raw(sb.addr, 'POST', '/v1/auth/token/lookup', { token: caller, body: { token: 'hvs.nope' } });
    assert.equal(badLook.status, 403);
    assert.deepEqual(badLook.body, { errors: ['bad token'] });

    const byAccessor = await raw(sb.addr, 'POST', '/v1/auth/token/lookup-accessor', { token: caller, body: { accessor: target.accessor } });
    assert.equal(obj(obj(byAccessor.body).data).id, '', 'lookup-accessor does not reveal the token');
    assert.equal(obj(obj(byAccessor.body).data).accessor, target.accessor);

    const revoke = await raw(sb.addr, 'POST', '/v1/auth/token/revoke-accessor', { token: caller, body: { accessor: target.accessor } });
    assert.equal(revoke.status, 204);
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token: String(target.client_token) })).status, 403);
    const again = await raw(sb.addr, 'POST', '/v1/auth/token/revoke-accessor', { token: caller, body: { accessor: target.accessor } });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { errors: ['invalid accessor'] });
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token: caller })).status, 200, 'the caller is untouched');
  });

  test('revokeAccessor() revokes from outside; tokens() lists tokens without their secret values', async () => {
    const auth = await login('tng', { email: 'dave@example.com' });
    const token = String(auth.client_token);
    const view = sb.tokens().find((t) => t.accessor === auth.accessor);
    assert.ok(view);
    assert.deepEqual(Object.keys(view).sort(), ['accessor', 'displayName', 'expiresAt', 'policies', 'revoked']);
    assert.equal(view.revoked, false);
    assert.equal(view.displayName, 'jwt-dave@example.com');
    assert.deepEqual(view.policies, ['aws-deploy', 'default', 'tng-user']);
    assert.ok(Math.abs(view.expiresAt - (Date.now() + 900_000)) < 3000);
    assert.ok(!JSON.stringify(sb.tokens()).includes('hvs.'), 'no token values');

    sb.revokeAccessor(String(auth.accessor));
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 403);
    assert.equal(sb.tokens().find((t) => t.accessor === auth.accessor)?.revoked, true);
    assert.throws(() => sb.revokeAccessor('no-such-accessor'));
  });
});

describe('namespaces', () => {
  test('a token works only in the namespace it was created in and its children', async () => {
    const auth = await login('tng', {}, 'team-a/');
    const token = String(auth.client_token);
    assert.match(token, /^hvs\.[A-Za-z0-9]{90,}\.[A-Za-z0-9]+$/, 'namespace tokens carry the namespace id');
    const lookup = (namespace?: string, path = '/v1/auth/token/lookup-self'): Promise<RawResponse> =>
      raw(sb.addr, 'GET', path, { token, ...(namespace ? { namespace } : {}) });

    assert.equal((await lookup('team-a')).status, 200);
    assert.equal((await lookup('/team-a/')).status, 200, 'slashes around the namespace do not matter');
    assert.equal((await lookup('team-a/child')).status, 200);
    assert.equal((await lookup(undefined, '/v1/team-a/auth/token/lookup-self')).status, 200, 'path-prefix form');
    assert.equal((await lookup('team-a', '/v1/child/auth/token/lookup-self')).status, 200, 'header + path prefix');
    for (const [ns, path] of [[undefined, undefined], ['team-b', undefined], ['team-ab', undefined], [undefined, '/v1/team-b/auth/token/lookup-self']] as const) {
      const r = await lookup(ns, path);
      assert.equal(r.status, 403, `namespace ${ns ?? ''} path ${path ?? ''}`);
      assert.deepEqual(r.body, { errors: ['permission denied'] });
    }

    const recorded = sb.requests().filter((r) => r.path === 'auth/token/lookup-self').slice(-9);
    assert.deepEqual(
      recorded.map((r) => r.namespace),
      ['team-a', 'team-a', 'team-a/child', 'team-a', 'team-a/child', undefined, 'team-b', 'team-ab', 'team-b'],
    );
    const loginRecord = sb.requests().findLast((r) => r.path === 'auth/jwt/login');
    assert.equal(loginRecord?.namespace, 'team-a');

    // A root-namespace token reaches child namespaces.
    const rootToken = String((await login()).client_token);
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token: rootToken, namespace: 'team-a' })).status, 200);
  });

  test('node-vault with a namespace logs in and uses the token there', async () => {
    const client = vault({ endpoint: sb.addr, namespace: 'team-c' });
    const auth = obj(obj(await client.jwtLogin({ role: 'tng', jwt: await mint() })).auth);
    assert.equal(obj(obj(await client.tokenLookupSelf()).data).accessor, auth.accessor);
    await rejectsWith(vault({ endpoint: sb.addr, token: String(auth.client_token) }).tokenLookupSelf(), 403, 'permission denied');
    const loginWithPrefix = await raw(sb.addr, 'POST', '/v1/team-c/auth/jwt/login', { body: { role: 'tng', jwt: await mint() } });
    assert.equal(loginWithPrefix.status, 200);
    assert.equal(sb.requests().at(-1)?.namespace, 'team-c');
    assert.equal(sb.requests().at(-1)?.path, 'auth/jwt/login');
  });
});

describe('seal and standby', () => {
  test('sealed: everything but sys/health answers 503 "Vault is sealed"; tokens survive unsealing', async () => {
    const token = String((await login()).client_token);
    sb.seal();
    for (const [method, path, options] of [
      ['GET', '/v1/auth/token/lookup-self', { token }],
      ['POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint() } }],
      ['GET', '/v1/no/such/path', {}],
      ['GET', '/v1/team-a/auth/token/lookup-self', { token }],
    ] as const) {
      const r = await raw(sb.addr, method, path, options);
      assert.equal(r.status, 503, path);
      assert.deepEqual(r.body, { errors: ['Vault is sealed'] });
    }
    await rejectsWith(vault({ endpoint: sb.addr, token }).tokenLookupSelf(), 503, 'Vault is sealed');
    assert.equal((await raw(sb.addr, 'GET', '/v1/sys/health')).status, 503);
    sb.unseal();
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 200);
  });

  test('standby: requests answer 503, sys/health 429', async () => {
    const token = String((await login()).client_token);
    sb.setStandby(true);
    const r = await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token });
    assert.equal(r.status, 503);
    assert.deepEqual(r.body, { errors: ['local node not active but active cluster node not found'] });
    assert.equal((await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint() } })).status, 503);
    assert.equal((await raw(sb.addr, 'GET', '/v1/sys/health')).status, 429);
    sb.setStandby(false);
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 200);
  });
});

describe('faults', () => {
  test('a status fault answers {"errors":[...]} for `times` requests, then normal service resumes', async () => {
    sb.fault({ path: 'auth/jwt/login', status: 500, times: 2 });
    const jwt = await mint();
    const first = await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt } });
    assert.equal(first.status, 500);
    assert.ok(Array.isArray(obj(first.body).errors) && (obj(first.body).errors as string[]).length === 1);
    assert.equal((await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt } })).status, 500);
    assert.equal((await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt } })).status, 200);
    assert.deepEqual(
      sb.requests().slice(-3).map((r) => r.status),
      [500, 500, 200],
    );
  });

  test('custom body, method filter, prefix match; unlimited until cleared', async () => {
    const token = String((await login()).client_token);
    sb.fault({ path: '/v1/auth/token/', method: 'post', status: 429, body: { errors: ['request path "auth/token/renew-self": rate limit quota exceeded'] } });
    assert.equal((await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 200, 'GET is not affected');
    for (let i = 0; i < 3; i++) {
      const r = await raw(sb.addr, 'POST', '/v1/auth/token/renew-self', { token });
      assert.equal(r.status, 429);
      assert.deepEqual(r.body, { errors: ['request path "auth/token/renew-self": rate limit quota exceeded'] });
    }
    await rejectsWith(vault({ endpoint: sb.addr, token }).tokenRenewSelf(), 429, /rate limit quota exceeded/);
    sb.clearFaults();
    assert.equal((await raw(sb.addr, 'POST', '/v1/auth/token/renew-self', { token })).status, 200);
  });

  test('a delay fault slows the answer without changing it; delay + status', async () => {
    sb.fault({ path: 'sys/health', delayMs: 300, times: 1 });
    let start = Date.now();
    assert.equal((await raw(sb.addr, 'GET', '/v1/sys/health')).status, 200);
    assert.ok(Date.now() - start >= 280, `delayed ${Date.now() - start} ms`);
    start = Date.now();
    await raw(sb.addr, 'GET', '/v1/sys/health');
    assert.ok(Date.now() - start < 250, 'only once');

    sb.fault({ path: 'auth/token/lookup-self', delayMs: 200, status: 502, times: 1 });
    start = Date.now();
    const r = await raw(sb.addr, 'GET', '/v1/auth/token/lookup-self');
    assert.equal(r.status, 502);
    assert.ok(Date.now() - start >= 180);
  });

  test('faults apply before the seal check and routing', async () => {
    sb.fault({ path: 'no/such', status: 418 });
    assert.equal((await raw(sb.addr, 'GET', '/v1/no/such/path')).status, 418);
    sb.seal();
    assert.equal((await raw(sb.addr, 'GET', '/v1/no/such/path')).status, 418);
    assert.equal((await raw(sb.addr, 'GET', '/v1/no/other')).status, 503);
    assert.throws(() => sb.fault({ path: 'x', status: 42 }));
  });
});

describe('routing and request log', () => {
  test('404 for unknown paths, 405 for wrong methods, 400 for bad JSON', async () => {
    const token = String((await login()).client_token);
    const unknown = await raw(sb.addr, 'GET', '/v1/secret/data/foo', { token });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { errors: ['no handler for route "secret/data/foo". route entry not found.'] });
    const inMount = await raw(sb.addr, 'GET', '/v1/auth/token/nope', { token });
    assert.equal(inMount.status, 404);
    assert.equal((obj(inMount.body).errors as string[]).length, 1);
    for (const [method, path] of [
      ['GET', '/v1/auth/jwt/login'],
      ['DELETE', '/v1/auth/token/lookup-self'],
      ['HEAD', '/v1/auth/token/lookup-self'],
      ['GET', '/v1/auth/token/revoke-self'],
    ] as const) {
      assert.equal((await raw(sb.addr, method, path, { token })).status, 405, `${method} ${path}`);
    }
    const badJson = await raw(sb.addr, 'POST', '/v1/auth/jwt/login', { rawBody: '{"role":' });
    assert.equal(badJson.status, 400);
    assert.match(String((obj(badJson.body).errors as string[])[0]), /^failed to parse JSON input/);
    assert.equal((await raw(sb.addr, 'GET', '/v2/sys/health')).status, 404);
  });

  test('requests() records every /v1 request in order with method, path, status; count() counts', async () => {
    const fresh = await startVaultSandbox({ jwt: { oidc_discovery_url: idp.issuer, bound_issuer: idp.issuer, roles: { tng: ROLES.tng as JwtRole } } });
    try {
      const jwt = await mint();
      const loginRes = await raw(fresh.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt } });
      const token = String(obj(obj(loginRes.body).auth).client_token);
      await raw(fresh.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'nope', jwt } });
      await raw(fresh.addr, 'GET', '/v1/auth/token/lookup-self', { token, namespace: 'ns1' });
      await raw(fresh.addr, 'HEAD', '/v1/sys/health');
      await raw(fresh.addr, 'GET', '/v1/whatever');
      await raw(fresh.addr, 'GET', '/__sandbox/requests');
      assert.deepEqual(fresh.requests(), [
        { method: 'POST', path: 'auth/jwt/login', status: 200 },
        { method: 'POST', path: 'auth/jwt/login', status: 400 },
        { method: 'GET', path: 'auth/token/lookup-self', status: 200, namespace: 'ns1' },
        { method: 'HEAD', path: 'sys/health', status: 200 },
        { method: 'GET', path: 'whatever', status: 404 },
      ]);
      assert.equal(fresh.count('POST', 'auth/jwt/login'), 2);
      assert.equal(fresh.count('post', '/v1/auth/jwt/login'), 2);
      assert.equal(fresh.count('GET', 'auth/jwt/login'), 0);
      assert.equal(fresh.count('HEAD', 'sys/health'), 1);
    } finally {
      await fresh.close();
    }
  });
});

describe('control endpoints', () => {
  test('drive the sandbox over HTTP', async () => {
    const s = await startVaultSandbox({ jwt: { oidc_discovery_url: idp.issuer, bound_issuer: idp.issuer } });
    const control = async (method: string, path: string, body?: unknown): Promise<RawResponse> =>
      raw(s.addr, method, `/__sandbox/${path}`, body === undefined ? {} : { body });
    try {
      let r = await control('POST', 'jwt/role', { name: 'tng', role: ROLES.tng });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { role: 'tng', mount: 'jwt' });
      assert.equal((await control('POST', 'jwt/role', { name: 'x', mount: 'other', role: { role_type: 'jwt', user_claim: 'sub', bound_audiences: ['tng-cli'] } })).status, 200);
      assert.equal((await raw(s.addr, 'POST', '/v1/auth/other/login', { body: { role: 'x', jwt: await mint() } })).status, 200);
      assert.equal((await control('POST', 'jwt/role', { name: 'bad', role: { role_type: 'jwt' } })).status, 400);

      const loginRes = await raw(s.addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint() } });
      assert.equal(loginRes.status, 200);
      const auth = obj(obj(loginRes.body).auth);
      const token = String(auth.client_token);

      r = await control('POST', 'seal');
      assert.deepEqual(r.body, { sealed: true });
      assert.equal((await raw(s.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 503);
      assert.equal((await control('GET', 'tokens')).status, 200, 'control endpoints work while sealed');
      assert.deepEqual((await control('POST', 'unseal')).body, { sealed: false });
      assert.equal((await raw(s.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 200);

      assert.deepEqual((await control('POST', 'standby', { standby: true })).body, { standby: true });
      assert.equal((await raw(s.addr, 'GET', '/v1/sys/health')).status, 429);
      assert.equal((await control('POST', 'standby', { standby: 'yes' })).status, 400);
      await control('POST', 'standby', { standby: false });
      assert.equal((await raw(s.addr, 'GET', '/v1/sys/health')).status, 200);

      assert.equal((await control('POST', 'fault', { path: 'auth/token/lookup-self', status: 500, times: 1 })).status, 200);
      assert.equal((await raw(s.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 500);
      assert.equal((await raw(s.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 200);
      await control('POST', 'fault', { path: 'sys/health', status: 503 });
      assert.equal((await raw(s.addr, 'GET', '/v1/sys/health')).status, 503);
      assert.equal((await control('POST', 'faults/clear')).status, 200);
      assert.equal((await raw(s.addr, 'GET', '/v1/sys/health')).status, 200);
      assert.equal((await control('POST', 'fault', { status: 500 })).status, 400, 'a rule needs a path');

      const tokens = (await control('GET', 'tokens')).body as Array<Record<string, unknown>>;
      assert.ok(Array.isArray(tokens));
      assert.deepEqual(tokens, JSON.parse(JSON.stringify(s.tokens())));
      assert.ok(tokens.some((t) => t.accessor === auth.accessor && t.revoked === false));

      assert.deepEqual((await control('POST', 'revoke-accessor', { accessor: auth.accessor })).body, { revoked: true });
      assert.equal((await raw(s.addr, 'GET', '/v1/auth/token/lookup-self', { token })).status, 403);
      assert.equal((await control('POST', 'revoke-accessor', { accessor: 'unknown' })).status, 404);

      const requests = (await control('GET', 'requests')).body;
      assert.deepEqual(requests, s.requests());
      assert.equal(s.count('GET', 'auth/token/lookup-self'), 5);
      assert.ok(!s.requests().some((q) => q.path.includes('__sandbox')), 'control calls are not logged');

      assert.equal((await control('GET', 'seal')).status, 405);
      assert.equal((await control('POST', 'nothing')).status, 404);
      assert.equal((await raw(s.addr, 'POST', '/__sandbox/standby', { rawBody: '{nope' })).status, 400);
    } finally {
      await s.close();
    }
  });

  test('command line: --issuer starts a sandbox and prints its address', async () => {
    const entry = fileURLToPath(new URL('./vault/index.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', entry, '--issuer', idp.issuer, '--role', 'tng', '--audience', 'tng-cli', '--policy', 'dev'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const addr = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no address printed; stderr: ${err}`)), 15_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n')[0];
          if (out.includes('\n') && line) {
            clearTimeout(timer);
            resolve(line.trim());
          }
        });
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
        });
        child.once('exit', (code) => reject(new Error(`exited with ${String(code)}: ${err}`)));
      });
      assert.match(addr, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await raw(addr, 'GET', '/v1/sys/health')).status, 200);
      const r = await raw(addr, 'POST', '/v1/auth/jwt/login', { body: { role: 'tng', jwt: await mint() } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(obj(obj(r.body).auth).policies, ['default', 'dev']);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });
});

// Checks the sandbox Vault's OIDC auth method end to end, the way `vault login -method=oidc` uses it:
// the OIDC sandbox (Dex-shaped) with a confidential client "vault", a loopback HTTP server playing the
// CLI's listener on localhost:<P>, and the scripted browser (test/sandbox/browser.mjs, spawned as a CLI
// would run $BROWSER). node-vault serves as an independent client for the happy path; raw fetch checks
// status codes, headers and error texts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import vault from 'node-vault';
import { startOidcSandbox } from './oidc.ts';
import type { OidcSandbox } from './oidc.ts';
import { startVaultSandbox } from './vault/index.ts';
import type { OidcRole, VaultSandbox } from './vault/index.ts';

const BROWSER = fileURLToPath(new URL('./browser.mjs', import.meta.url));
const CLIENT_ID = 'vault';
const CLIENT_SECRET = 'vault-sandbox-client-secret';
/** The Vault CLI's default redirect URI; the role allows it, and loopback ports are ignored. */
const ALLOWED = 'http://localhost:8250/oidc/callback';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const ENGINEER: OidcRole = {
  user_claim: 'email',
  groups_claim: 'groups',
  oidc_scopes: ['email', 'groups', 'profile'],
  allowed_redirect_uris: [ALLOWED],
  bound_audiences: [CLIENT_ID],
  claim_mappings: { email: 'email', name: 'name' },
  token_policies: ['engineer'],
  token_ttl: '15m',
  token_max_ttl: '1h',
  verbose_oidc_logging: true,
};

const ROLES: Record<string, OidcRole> = {
  engineer: ENGINEER,
  'wrong-aud': { ...ENGINEER, bound_audiences: ['some-other-client'] },
  admins: { ...ENGINEER, bound_claims: { groups: ['admins'] } },
  'no-email-scope': { ...ENGINEER, oidc_scopes: ['groups'] },
  'other-subject': { ...ENGINEER, bound_subject: 'someone-else' },
  ip: { ...ENGINEER, allowed_redirect_uris: ['http://127.0.0.1:8250/oidc/callback'] },
  web: { ...ENGINEER, allowed_redirect_uris: ['https://app.example.com/ui/vault/auth/oidc/oidc/Callback'] },
  machine: { role_type: 'jwt', user_claim: 'sub', bound_audiences: ['tng'] },
};

// ---------------------------------------------------------------------------------------------------
// The CLI's loopback listener: records the query of every hit on /oidc/callback by state.

interface Listener {
  port: number;
  hits: Map<string, URLSearchParams>;
  close(): Promise<void>;
}

async function startListener(): Promise<Listener> {
  const hits = new Map<string, URLSearchParams>();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/oidc/callback') {
      res.statusCode = 404;
      res.end();
      return;
    }
    hits.set(url.searchParams.get('state') ?? '', url.searchParams);
    res.setHeader('Content-Type', 'text/plain');
    res.end('Signed in. You may close this window.\n');
  };
  const servers: Server[] = [createServer(handle)];
  servers[0]?.listen(0, '127.0.0.1');
  await once(servers[0] as Server, 'listening');
  const port = (servers[0]?.address() as AddressInfo).port;
  // "localhost" may resolve to ::1 first: listen there too when the host has IPv6 loopback.
  const v6 = createServer(handle);
  try {
    v6.listen(port, '::1');
    await once(v6, 'listening');
    servers.push(v6);
  } catch {
    // no IPv6 loopback here
  }
  return {
    port,
    hits,
    close: async () => {
      await Promise.all(
        servers.map((s) => {
          s.closeAllConnections();
          return new Promise((resolve) => s.close(resolve));
        }),
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------------

let listener: Listener;
let idp: OidcSandbox;
let sb: VaultSandbox;
let redirectUri: string;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Json;
};

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  body: Json;
}

async function raw(method: string, path: string, options: { body?: unknown; namespace?: string; base?: string } = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
  if (options.namespace) headers['X-Vault-Namespace'] = options.namespace;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(`${options.base ?? sb.addr}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: Json = {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Json;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

function clientNonce(): string {
  return Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12);
}

async function authUrl(body: Json, options: { namespace?: string; base?: string; mount?: string } = {}): Promise<RawResponse> {
  return raw('POST', `/v1/auth/${options.mount ?? 'oidc'}/oidc/auth_url`, { body, ...options });
}

async function callback(params: Record<string, string>, options: { namespace?: string } = {}): Promise<RawResponse> {
  return raw('GET', `/v1/auth/oidc/oidc/callback?${new URLSearchParams(params).toString()}`, options);
}

/** auth_url must answer 200 with a non-empty URL; returns it. */
async function startLogin(role: string, nonce?: string, options: { namespace?: string; redirect?: string } = {}): Promise<string> {
  const r = await authUrl(
    { role, redirect_uri: options.redirect ?? redirectUri, ...(nonce !== undefined ? { client_nonce: nonce } : {}) },
    options.namespace ? { namespace: options.namespace } : {},
  );
  assert.equal(r.status, 200, r.text);
  const url = String(obj(r.body.data).auth_url);
  assert.notEqual(url, '', `auth_url for role ${role} is empty`);
  return url;
}

/** Runs the scripted browser on the URL (as $BROWSER) and returns what reached the listener. */
async function browse(url: string, env: Record<string, string> = {}): Promise<{ code: string; state: string }> {
  const state = new URL(url).searchParams.get('state') ?? '';
  const child = spawn(process.execPath, [BROWSER, url], {
    env: { ...process.env, SANDBOX_BROWSER_MODE: 'login', SANDBOX_BROWSER_LOG: '', SANDBOX_LOGIN: 'alice@example.com', SANDBOX_PASSWORD: 'password', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  await once(child, 'close');
  const hit = listener.hits.get(state);
  assert.ok(hit, `the browser did not reach the listener: ${stderr}`);
  const code = hit.get('code') ?? '';
  assert.notEqual(code, '', `no code in the redirect: ${hit.toString()}`);
  return { code, state };
}

/** auth_url → browser → (code, state). */
async function loginUpToCode(role: string, nonce?: string, options: { namespace?: string } = {}): Promise<{ code: string; state: string }> {
  return browse(await startLogin(role, nonce, options));
}

function assertError(r: RawResponse, status: number, message: string | RegExp): void {
  assert.equal(r.status, status, r.text);
  const errors = r.body.errors;
  assert.ok(Array.isArray(errors), r.text);
  assert.equal(errors.length, 1, r.text);
  if (typeof message === 'string') assert.equal(errors[0], message);
  else assert.match(String(errors[0]), message);
}

const EXPIRED = 'Vault login failed. Expired or missing OAuth state.';

before(async () => {
  listener = await startListener();
  redirectUri = `http://localhost:${listener.port}/oidc/callback`;
  idp = await startOidcSandbox({ extraClients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] }] });
  sb = await startVaultSandbox({
    jwt: { oidc_discovery_url: idp.issuer, bound_issuer: idp.issuer },
    oidc: { oidc_discovery_url: idp.issuer, oidc_client_id: CLIENT_ID, oidc_client_secret: CLIENT_SECRET, bound_issuer: idp.issuer, roles: ROLES },
  });
});

after(async () => {
  await sb?.close();
  await idp?.close();
  await listener?.close();
});

afterEach(() => {
  sb.clearFaults();
  sb.unseal();
  sb.setClockSkew(0);
});

// ---------------------------------------------------------------------------------------------------

describe('OIDC login: the happy path', () => {
  test('node-vault: auth_url → browser → callback gives the auth envelope; the state is single-use', async () => {
    const client = vault({ endpoint: sb.addr });
    const nonce = clientNonce();
    const started = obj(await client.write('auth/oidc/oidc/auth_url', { role: 'engineer', redirect_uri: redirectUri, client_nonce: nonce }));
    assert.equal(started.mount_type, 'oidc');
    const url = new URL(String(obj(started.data).auth_url));

    // Vault's authorization request: its own client, the redirect URI exactly as given, PKCE S256, nonce.
    assert.equal(`${url.origin}${url.pathname}`, `${idp.issuer}/auth`);
    const q = url.searchParams;
    assert.equal(q.get('client_id'), CLIENT_ID);
    assert.equal(q.get('redirect_uri'), redirectUri);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('scope'), 'openid email groups profile');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.get('state') ?? '', /^[A-Za-z0-9]{20,}$/);
    assert.match(q.get('nonce') ?? '', /^[A-Za-z0-9]{20,}$/);
    assert.notEqual(q.get('state'), q.get('nonce'));
    assert.equal(q.get('client_nonce'), null, 'the client nonce stays between the CLI and Vault');
    // Go's url.Values.Encode: keys sorted, spaces as "+".
    assert.deepEqual([...q.keys()], ['client_id', 'code_challenge', 'code_challenge_method', 'nonce', 'redirect_uri', 'response_type', 'scope', 'state']);
    assert.match(url.search, /&scope=openid\+email\+groups\+profile&/);

    const redeemedBefore = idp.stats().tokens.authorization_code ?? 0;
    const { code, state } = await browse(url.href);
    assert.equal(state, q.get('state'));
    const path = `auth/oidc/oidc/callback?${new URLSearchParams({ state, code, client_nonce: nonce, id_token: '' }).toString()}`;
    const done = obj(await client.read(path));
    assert.equal(idp.stats().tokens.authorization_code, redeemedBefore + 1, 'Vault redeemed the code at the provider once');

    assert.equal(done.mount_type, 'oidc');
    assert.equal(done.data, null);
    const auth = obj(done.auth);
    assert.match(String(auth.client_token), /^hvs\.[A-Za-z0-9]{91}$/);
    assert.deepEqual(auth.policies, ['default', 'engineer']);
    assert.deepEqual(auth.token_policies, ['default', 'engineer']);
    assert.deepEqual(auth.metadata, { role: 'engineer', email: 'alice@example.com', name: 'Alice Example' });
    assert.equal(auth.lease_duration, 900);
    assert.equal(auth.renewable, true);
    assert.equal(auth.token_type, 'service');
    assert.match(String(auth.entity_id), UUID);

    const self = obj(obj(await vault({ endpoint: sb.addr, token: String(auth.client_token) }).tokenLookupSelf()).data);
    assert.equal(self.path, 'auth/oidc/oidc/callback');
    assert.equal(self.display_name, 'oidc-alice@example.com');
    assert.deepEqual(self.meta, { role: 'engineer', email: 'alice@example.com', name: 'Alice Example' });

    // Replaying the callback: the state is gone, and the provider is not asked again.
    assertError(await callback({ state, code, client_nonce: nonce }), 400, EXPIRED);
    assert.equal(idp.stats().tokens.authorization_code, redeemedBefore + 1);
  });

  test('another user gets their own identity; no client_nonce at auth_url means none is needed at the callback', async () => {
    const { code, state } = await browse(await startLogin('engineer'), { SANDBOX_LOGIN: 'bob@example.com' });
    const r = await callback({ state, code });
    assert.equal(r.status, 200, r.text);
    const auth = obj(r.body.auth);
    assert.deepEqual(auth.metadata, { role: 'engineer', email: 'bob@example.com', name: 'Bob Example' });
    const view = sb.tokens().find((t) => t.accessor === auth.accessor);
    assert.equal(view?.displayName, 'oidc-bob@example.com');
  });
});

describe('auth_url', () => {
  test('400 for a missing or unknown role and a missing redirect_uri; role names are case-insensitive', async () => {
    assertError(await authUrl({ redirect_uri: redirectUri }), 400, 'missing role');
    assertError(await authUrl({ role: 'nope', redirect_uri: redirectUri }), 400, 'role "nope" could not be found');
    assertError(await authUrl({ role: 'engineer' }), 400, 'missing redirect_uri');
    const r = await authUrl({ role: 'ENGINEER', redirect_uri: redirectUri, client_nonce: 'n' });
    assert.equal(r.status, 200, r.text);
    assert.notEqual(obj(r.body.data).auth_url, '');
  });

  test('a redirect URI the role does not allow: HTTP 200 with an empty auth_url', async () => {
    for (const uri of [
      `http://localhost:${listener.port}/other/callback`, // path differs
      `https://localhost:${listener.port}/oidc/callback`, // scheme differs
      `http://127.0.0.1:${listener.port}/oidc/callback`, // localhost ≠ 127.0.0.1
      `http://[::1]:${listener.port}/oidc/callback`,
      `http://localhost.example.com:8250/oidc/callback`, // not loopback: whole-string comparison
      'not a url',
    ]) {
      const r = await authUrl({ role: 'engineer', redirect_uri: uri, client_nonce: 'n' });
      assert.equal(r.status, 200, `${uri}: ${r.text}`);
      assert.deepEqual(r.body.data, { auth_url: '' }, uri);
      assert.equal(r.body.mount_type, 'oidc');
    }
  });

  test('loopback redirect URIs match on any port; the URI is passed on exactly as given', async () => {
    for (const port of [8250, 1234, listener.port]) {
      const uri = `http://localhost:${port}/oidc/callback`;
      const url = new URL(await startLogin('engineer', 'n', { redirect: uri }));
      assert.equal(url.searchParams.get('redirect_uri'), uri);
    }
    // A role that allows 127.0.0.1 takes 127.0.0.1 on any port, but not localhost.
    const url = new URL(await startLogin('ip', 'n', { redirect: 'http://127.0.0.1:9999/oidc/callback' }));
    assert.equal(url.searchParams.get('redirect_uri'), 'http://127.0.0.1:9999/oidc/callback');
    const refused = await authUrl({ role: 'ip', redirect_uri: 'http://localhost:9999/oidc/callback' });
    assert.deepEqual(refused.body.data, { auth_url: '' });
  });

  test('other redirect URIs are compared as whole strings, ignoring case', async () => {
    const allowed = 'https://app.example.com/ui/vault/auth/oidc/oidc/Callback';
    assert.notEqual(obj((await authUrl({ role: 'web', redirect_uri: allowed.toUpperCase() })).body.data).auth_url, '');
    for (const uri of ['https://app.example.com:443/ui/vault/auth/oidc/oidc/Callback', `${allowed}/`, `${allowed}?x=1`]) {
      assert.deepEqual((await authUrl({ role: 'web', redirect_uri: uri })).body.data, { auth_url: '' }, uri);
    }
  });

  test('a role_type "jwt" role offers no browser login; an oidc role is refused at login', async () => {
    // Vault's auth_url does not look at role_type: a jwt role has no allowed_redirect_uris, so its
    // auth_url is empty (HTTP 200), like any refused redirect.
    const r = await authUrl({ role: 'machine', redirect_uri: redirectUri, client_nonce: 'n' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.data, { auth_url: '' });
    // The mount is Vault's JWT/OIDC plugin: /login exists and refuses oidc roles.
    assertError(await raw('POST', '/v1/auth/oidc/login', { body: { role: 'engineer', jwt: 'x.y.z' } }), 400, 'role with oidc role_type is not allowed');
    // An oidc role must list allowed_redirect_uris.
    assert.throws(() => sb.setOidcRole('bad', { user_claim: 'email' }), /'allowed_redirect_uris' must be set/);
    sb.setOidcRole('machine2', { role_type: 'jwt', user_claim: 'sub', bound_audiences: ['tng'] });
  });
});

describe('callback: state and client_nonce', () => {
  test('an unknown or missing state → 400', async () => {
    assertError(await callback({ state: 'no-such-state', code: 'x', client_nonce: 'n' }), 400, EXPIRED);
    assertError(await callback({ code: 'x' }), 400, EXPIRED);
  });

  test('a state older than 10 minutes → 400, and the provider is not asked', async () => {
    const nonce = clientNonce();
    const { code, state } = await loginUpToCode('engineer', nonce);
    const before = idp.stats().tokens.authorization_code ?? 0;
    sb.expireOidcStates();
    assertError(await callback({ state, code, client_nonce: nonce }), 400, EXPIRED);
    assert.equal(idp.stats().tokens.authorization_code ?? 0, before);
  });

  test('a wrong or missing client_nonce → 400 "invalid client_nonce", and the state is used up', async () => {
    const nonce = clientNonce();
    const { code, state } = await loginUpToCode('engineer', nonce);
    assertError(await callback({ state, code, client_nonce: 'wrong' }), 400, 'invalid client_nonce');
    assertError(await callback({ state, code, client_nonce: nonce }), 400, EXPIRED);

    const second = await loginUpToCode('engineer', nonce);
    assertError(await callback({ state: second.state, code: second.code }), 400, 'invalid client_nonce');
  });

  test('no code → 400; the form_post variant is not offered (405)', async () => {
    const nonce = clientNonce();
    const state = new URL(await startLogin('engineer', nonce)).searchParams.get('state') ?? '';
    assert.notEqual(state, '');
    assertError(await callback({ state, client_nonce: nonce, id_token: '' }), 400, 'Vault login failed. No code or id_token received.');
    const post = await raw('POST', '/v1/auth/oidc/oidc/callback', { body: { state: 'x', code: 'y' } });
    assert.equal(post.status, 405, post.text);
  });
});

describe('callback: the code exchange and the claim rules', () => {
  test('a code the provider refuses → 400 "Error exchanging oidc code"', async () => {
    const nonce = clientNonce();
    const state = new URL(await startLogin('engineer', nonce)).searchParams.get('state') ?? '';
    assertError(await callback({ state, code: 'bogus', client_nonce: nonce }), 400, /^Vault login failed\. Error exchanging oidc code: ".*invalid_grant.*"\.$/);

    // A code that was already redeemed, brought to another login: refused by the provider too.
    const first = await loginUpToCode('engineer', nonce);
    assert.equal((await callback({ state: first.state, code: first.code, client_nonce: nonce })).status, 200);
    const otherState = new URL(await startLogin('engineer', nonce)).searchParams.get('state') ?? '';
    assertError(await callback({ state: otherState, code: first.code, client_nonce: nonce }), 400, /^Vault login failed\. Error exchanging oidc code: ".*invalid_grant.*"\.$/);
  });

  test('bound_audiences that do not include the ID token audience → 400', async () => {
    const nonce = clientNonce();
    const { code, state } = await loginUpToCode('wrong-aud', nonce);
    assertError(await callback({ state, code, client_nonce: nonce }), 400, /^Vault login failed\. Error exchanging oidc code: ".*invalid id_token audiences.*"\.$/);
  });

  test('bound_claims mismatch, bound_subject mismatch and a missing user claim → 400', async () => {
    const nonce = clientNonce();
    let hit = await loginUpToCode('admins', nonce);
    assertError(
      await callback({ state: hit.state, code: hit.code, client_nonce: nonce }),
      400,
      'Vault login failed. error validating claims: claim "groups" does not match any associated bound claim values',
    );
    hit = await loginUpToCode('other-subject', nonce);
    assertError(await callback({ state: hit.state, code: hit.code, client_nonce: nonce }), 400, 'Vault login failed. sub claim does not match bound subject');
    // Without the email scope the provider puts no email claim into the ID token (nor userinfo).
    hit = await loginUpToCode('no-email-scope', nonce);
    assertError(await callback({ state: hit.state, code: hit.code, client_nonce: nonce }), 400, 'Vault login failed. claim "email" not found in token');
  });
});

describe('the request pipeline applies to the OIDC paths', () => {
  test('namespaces, faults, sealing and request counting', async () => {
    const nonce = clientNonce();
    const countBefore = sb.count('GET', 'auth/oidc/oidc/callback');
    const { code, state } = await loginUpToCode('engineer', nonce, { namespace: 'team-a' });

    // A fault answers before the backend, so the state survives it.
    sb.fault({ path: 'auth/oidc/oidc/callback', status: 502, times: 1 });
    assertError(await callback({ state, code, client_nonce: nonce }, { namespace: 'team-a' }), 502, 'sandbox fault: HTTP 502');
    // Another namespace has its own mount: the state is unknown there (and stays valid in team-a).
    assertError(await callback({ state, code, client_nonce: nonce }), 400, EXPIRED);
    const r = await callback({ state, code, client_nonce: nonce }, { namespace: 'team-a' });
    assert.equal(r.status, 200, r.text);
    const auth = obj(r.body.auth);
    assert.match(String(auth.client_token), /^hvs\.[A-Za-z0-9]{91}\.[A-Za-z0-9]{5}$/);
    assert.equal((await raw('GET', '/v1/auth/token/lookup-self', { namespace: 'team-b' })).status, 403);

    assert.equal(sb.count('GET', 'auth/oidc/oidc/callback'), countBefore + 3);
    const records = sb.requests().filter((x) => x.path === 'auth/oidc/oidc/callback').slice(-3);
    assert.deepEqual(
      records.map((x) => [x.status, x.namespace]),
      [
        [502, 'team-a'],
        [400, undefined],
        [200, 'team-a'],
      ],
    );
    // The path form of the namespace works too.
    const viaPath = await raw('POST', '/v1/team-a/auth/oidc/oidc/auth_url', { body: { role: 'engineer', redirect_uri: redirectUri } });
    assert.equal(viaPath.status, 200, viaPath.text);
    assert.notEqual(obj(viaPath.body.data).auth_url, '');

    sb.seal();
    assertError(await authUrl({ role: 'engineer', redirect_uri: redirectUri }), 503, 'Vault is sealed');
    assertError(await callback({ state: 'x', code: 'y' }), 503, 'Vault is sealed');
  });
});

describe('mount options and control endpoints', () => {
  test('custom mount with default_role; unconfigured mounts; a provider that cannot be discovered', async () => {
    const other = await startVaultSandbox({
      oidc: { mount: 'sso', oidc_discovery_url: idp.issuer, oidc_client_id: CLIENT_ID, oidc_client_secret: CLIENT_SECRET, default_role: 'engineer', roles: { engineer: ENGINEER } },
    });
    const noClient = await startVaultSandbox({ oidc: { oidc_discovery_url: idp.issuer, oidc_client_id: '', oidc_client_secret: '', roles: { engineer: ENGINEER } } });
    const dead = await startVaultSandbox({ oidc: { oidc_discovery_url: 'http://127.0.0.1:1/dex', oidc_client_id: CLIENT_ID, oidc_client_secret: 's', roles: { engineer: ENGINEER } } });
    const slash = await startVaultSandbox({ oidc: { oidc_discovery_url: `${idp.issuer}/`, oidc_client_id: CLIENT_ID, oidc_client_secret: 's', roles: { engineer: ENGINEER } } });
    const none = await startVaultSandbox();
    try {
      const r = await authUrl({ redirect_uri: redirectUri }, { base: other.addr, mount: 'sso' });
      assert.equal(r.status, 200, r.text);
      assert.equal(new URL(String(obj(r.body.data).auth_url)).searchParams.get('client_id'), CLIENT_ID);
      other.setOidcRole('second', { ...ENGINEER, allowed_redirect_uris: ['http://localhost/elsewhere'] });
      assert.deepEqual((await authUrl({ role: 'second', redirect_uri: redirectUri }, { base: other.addr, mount: 'sso' })).body.data, { auth_url: '' });

      assertError(await authUrl({ role: 'engineer', redirect_uri: redirectUri }, { base: noClient.addr }), 400, 'OIDC login is not configured for this mount');
      // Discovery fails (nothing listens; the issuer differs from oidc_discovery_url): Vault only logs it.
      for (const s of [dead, slash]) {
        const refused = await authUrl({ role: 'engineer', redirect_uri: redirectUri }, { base: s.addr });
        assert.equal(refused.status, 200, refused.text);
        assert.deepEqual(refused.body.data, { auth_url: '' });
      }

      assert.throws(() => none.setOidcRole('x', ENGINEER), /no OIDC auth method is mounted/);
      assert.equal((await authUrl({ role: 'x', redirect_uri: redirectUri }, { base: none.addr })).status, 404);
    } finally {
      await Promise.all([other.close(), noClient.close(), dead.close(), slash.close(), none.close()]);
    }
  });

  test('POST /__sandbox/oidc/role and /__sandbox/oidc/expire-states drive the mount over HTTP', async () => {
    const control = async (path: string, body: unknown): Promise<RawResponse> => raw('POST', `/__sandbox/${path}`, { body });
    let r = await control('oidc/role', { name: 'Ctl', role: { ...ENGINEER, token_policies: ['ctl'] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { role: 'ctl', mount: 'oidc' });
    r = await control('oidc/role', { name: 'broken', role: { user_claim: 'email' } });
    assertError({ ...r, body: { errors: [r.body.error] } }, 400, "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.");
    r = await control('oidc/role', { role: ENGINEER });
    assert.equal(r.status, 400);
    assert.equal((await control('oidc/role', { name: 'x', mount: 'unknown-mount', role: ENGINEER })).status, 200, 'an unknown mount is created with the sandbox config');

    const nonce = clientNonce();
    const { code, state } = await loginUpToCode('ctl', nonce);
    r = await control('oidc/expire-states', {});
    assert.equal(r.status, 200, r.text);
    assert.ok(Number(r.body.expired) >= 1, r.text);
    assertError(await callback({ state, code, client_nonce: nonce }), 400, EXPIRED);
    assert.equal((await control('oidc/expire-states', { mount: 'nope' })).status, 400);

    const again = await loginUpToCode('ctl', nonce);
    const done = await callback({ state: again.state, code: again.code, client_nonce: nonce });
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(obj(done.body.auth).policies, ['ctl', 'default']);
  });
});

describe('clock skew (for tng doctor)', () => {
  const near = (actualMs: number, expectedMs: number, what: string): void => {
    assert.ok(Math.abs(actualMs - expectedMs) < 5000, `${what}: ${new Date(actualMs).toISOString()} vs ${new Date(expectedMs).toISOString()}`);
  };

  test('setClockSkew shifts every Date header and sys/health server_time_utc', async () => {
    sb.setClockSkew(3600);
    const health = await raw('GET', '/v1/sys/health');
    assert.equal(health.status, 200);
    near(Number(health.body.server_time_utc) * 1000, Date.now() + 3600_000, 'server_time_utc');
    near(Date.parse(health.headers.get('date') ?? ''), Date.now() + 3600_000, 'Date of sys/health');
    for (const [method, path] of [
      ['POST', '/v1/auth/oidc/oidc/auth_url'],
      ['GET', '/v1/auth/token/lookup-self'],
      ['GET', '/v1/nope'],
      ['GET', '/__sandbox/requests'],
    ] as const) {
      const r = await raw(method, path, method === 'POST' ? { body: {} } : {});
      near(Date.parse(r.headers.get('date') ?? ''), Date.now() + 3600_000, `Date of ${method} ${path}`);
    }
    sb.setClockSkew(0);
    const plain = await raw('GET', '/v1/sys/health');
    near(Date.parse(plain.headers.get('date') ?? ''), Date.now(), 'Date after reset');
    near(Number(plain.body.server_time_utc) * 1000, Date.now(), 'server_time_utc after reset');
    assert.throws(() => sb.setClockSkew(Number.NaN), /finite/);
  });

  test('POST /__sandbox/clock {"skew_seconds"} does the same over HTTP; bad input → 400', async () => {
    let r = await raw('POST', '/__sandbox/clock', { body: { skew_seconds: -600 } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { skew_seconds: -600 });
    const health = await raw('GET', '/v1/sys/health');
    near(Date.parse(health.headers.get('date') ?? ''), Date.now() - 600_000, 'Date');
    near(Number(health.body.server_time_utc) * 1000, Date.now() - 600_000, 'server_time_utc');
    // Logins are not affected: the skew is only in what the sandbox reports.
    const nonce = clientNonce();
    const { code, state } = await loginUpToCode('engineer', nonce);
    assert.equal((await callback({ state, code, client_nonce: nonce })).status, 200);

    for (const body of [{ skew_seconds: 'soon' }, {}, { skew_seconds: null }]) {
      r = await raw('POST', '/__sandbox/clock', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(String(r.body.error), /skew_seconds/);
    }
    assert.equal((await raw('GET', '/__sandbox/clock')).status, 405);
  });
});

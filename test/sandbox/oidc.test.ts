// Proves that the sandbox OIDC provider behaves like Dex where tng depends on it, using openid-client v6
// as an independent relying party, a tiny loopback HTTP server as the redirect target, and
// test/sandbox/browser.mjs (spawned the way tng spawns $BROWSER) as the person at the browser.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as client from 'openid-client';

import { dexSubject, startOidcSandbox, type OidcSandbox } from './oidc.ts';

const BROWSER_SCRIPT = fileURLToPath(new URL('./browser.mjs', import.meta.url));
const SCOPE = 'openid email profile groups offline_access';
const tmp = mkdtempSync(join(tmpdir(), 'tng-oidc-sandbox-'));
let runs = 0;

interface BrowserRecord {
  url: string;
  mode: string;
  steps: Array<{ url: string; status: number | null; method?: string }>;
  callback: { url: string; status?: number; body?: string; error?: string } | null;
  extra: Array<{ kind: string; url?: string; status?: number; body?: string; error?: string }>;
  final?: { url: string; status: number; body: string };
  error?: string;
}

/** Split a $BROWSER value into words the way a shell would (quotes, no expansions). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  for (const m of command.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3] ?? ''));
  }
  return words;
}

/** Runs $BROWSER with the URL as its last argument, as tng does, and returns what it logged. */
async function openBrowser(url: string, env: Record<string, string> = {}): Promise<BrowserRecord> {
  const log = join(tmp, `browser-${++runs}.jsonl`);
  const browser = `"${process.execPath}" "${BROWSER_SCRIPT}"`;
  const [cmd, ...args] = shellWords(browser);
  assert.ok(cmd);
  const child = spawn(cmd, [...args, url], {
    env: { ...process.env, SANDBOX_BROWSER_LOG: log, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `browser.mjs exited ${code}: ${stderr}`);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  return JSON.parse(lines[0] ?? '') as BrowserRecord;
}

interface Loopback {
  redirectUri: string;
  expectedState: string;
  /** every request that reached the redirect path */
  hits: URL[];
  /** resolves with the first callback URL that carries the expected state */
  callback: Promise<URL>;
  /** where GET /start redirects (a CLI-style "open this first" URL) */
  startTarget?: string;
  origin: string;
  close(): Promise<void>;
}

/** A stand-in for the CLI's loopback listener. */
async function startLoopback(opts: { host?: string; path?: string; closeAfterCallback?: boolean } = {}): Promise<Loopback> {
  const host = opts.host ?? '127.0.0.1';
  const path = opts.path ?? '/callback';
  let resolveCallback!: (u: URL) => void;
  const callback = new Promise<URL>((resolve) => (resolveCallback = resolve));
  const lb = { hits: [] as URL[], expectedState: client.randomState(), callback } as Loopback;
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', lb.origin);
    if (u.pathname === '/start' && lb.startTarget) {
      res.writeHead(302, { Location: lb.startTarget }).end();
      return;
    }
    if (u.pathname !== path) {
      res.writeHead(404).end('not here\n');
      return;
    }
    lb.hits.push(u);
    if (u.searchParams.get('state') !== lb.expectedState) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('state mismatch\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('logged in; you can close this window\n');
    resolveCallback(u);
    // like a CLI that stops listening once it has its code
    if (opts.closeAfterCallback !== false) res.on('finish', () => server.close());
  });
  await new Promise<void>((resolve) => server.listen(0, host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, ''), resolve));
  const port = (server.address() as AddressInfo).port;
  lb.origin = `http://${host}:${port}`;
  lb.redirectUri = `${lb.origin}${path}`;
  lb.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return lb;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]);
}

async function discover(issuer: string, clientId = 'tng'): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
}

interface LoginResult {
  tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  record: BrowserRecord;
  nonce: string;
  redirectUri: string;
}

/** The full auth-code + PKCE S256 flow that tng runs, with browser.mjs as the user. */
async function loginWithBrowser(
  config: client.Configuration,
  opts: { env?: Record<string, string>; host?: string; path?: string; scope?: string } = {},
): Promise<LoginResult> {
  const lb = await startLoopback({ host: opts.host, path: opts.path });
  try {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: lb.redirectUri,
      scope: opts.scope ?? SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: lb.expectedState,
      nonce,
    });
    const record = await openBrowser(url.href, opts.env);
    assert.equal(record.error, undefined, `browser failed: ${record.error}`);
    const cb = await withTimeout(lb.callback, 5000, 'the callback');
    const tokens = await client.authorizationCodeGrant(config, new URL(`${lb.redirectUri}${cb.search}`), {
      pkceCodeVerifier: verifier,
      expectedState: lb.expectedState,
      expectedNonce: nonce,
    });
    return { tokens, record, nonce, redirectUri: lb.redirectUri };
  } finally {
    await lb.close();
  }
}

async function expectOAuthError(p: Promise<unknown>, error: string, status = 400): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof client.ResponseBodyError, `expected a ResponseBodyError, got ${String(err)}`);
    assert.equal(err.error, error);
    assert.equal(err.status, status);
    return true;
  });
}

function decodeJwtPart(jwt: string, i: 0 | 1): Record<string, unknown> {
  const part = jwt.split('.')[i];
  assert.ok(part);
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('sandbox OIDC provider (Dex stand-in)', () => {
  let sandbox: OidcSandbox;
  let config: client.Configuration;

  before(async () => {
    sandbox = await startOidcSandbox();
    config = await discover(sandbox.issuer);
  });
  after(async () => {
    await sandbox.close();
  });

  test('issuer and discovery document match Dex', async () => {
    assert.match(sandbox.issuer, /^http:\/\/127\.0\.0\.1:\d+\/dex$/);
    assert.equal(sandbox.issuer, `http://127.0.0.1:${sandbox.port}/dex`);
    const res = await fetch(`${sandbox.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const d = (await res.json()) as Record<string, unknown>;
    const i = sandbox.issuer;
    assert.equal(d.issuer, i);
    assert.equal(d.authorization_endpoint, `${i}/auth`);
    assert.equal(d.token_endpoint, `${i}/token`);
    assert.equal(d.jwks_uri, `${i}/keys`);
    assert.equal(d.userinfo_endpoint, `${i}/userinfo`);
    assert.equal(d.device_authorization_endpoint, `${i}/device/code`);
    assert.equal('revocation_endpoint' in d, false);
    assert.equal('end_session_endpoint' in d, false);
    assert.deepEqual(d.code_challenge_methods_supported, ['S256', 'plain']);
    assert.deepEqual(d.id_token_signing_alg_values_supported, ['RS256']);
    assert.deepEqual(d.scopes_supported, ['openid', 'email', 'groups', 'profile', 'offline_access']);
    assert.deepEqual(d.grant_types_supported, ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']);
    // what openid-client made of it
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, i);
    assert.equal(meta.revocation_endpoint, undefined);
    const jwks = (await (await fetch(`${i}/keys`)).json()) as { keys: Array<Record<string, unknown>> };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.kty, 'RSA');
    assert.equal(jwks.keys[0]?.d, undefined, 'no private key material in the JWKS');
  });

  test('auth code + PKCE S256 with state and nonce yields Dex-shaped tokens', async () => {
    const { tokens, record, nonce } = await loginWithBrowser(config);
    assert.equal(record.callback?.status, 200);
    assert.match(record.callback?.body ?? '', /logged in/);
    assert.ok(tokens.access_token);
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token without any consent screen');
    assert.ok(tokens.id_token);
    assert.equal(decodeJwtPart(tokens.id_token, 0).alg, 'RS256');

    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.iss, sandbox.issuer);
    assert.equal(claims.aud, 'tng');
    assert.equal(claims.nonce, nonce);
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, true);
    assert.deepEqual(claims.groups, ['engineers', 'platform']);
    assert.equal(claims.name, 'Alice Example');
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.exp - claims.iat, 86400);
    // sub: opaque base64url of a protobuf {user id, connector id}, like Dex's
    assert.match(claims.sub, /^[A-Za-z0-9_-]+$/);
    const raw = Buffer.from(claims.sub, 'base64url');
    assert.equal(raw[0], 0x0a);
    assert.ok(raw.includes(Buffer.from('local')));
    assert.equal(claims.sub, dexSubject('5b8c1f2e-4d3a-4e6b-9a71-0c2d3e4f5a61'));

    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, 'alice@example.com');
    assert.deepEqual(info.groups, ['engineers', 'platform']);

    // the login really went through the form: a POST with the credentials, then a redirect to the callback
    assert.ok(record.steps.some((s) => s.method === 'POST' && /\/dex\/interaction\//.test(s.url)));
    assert.equal(record.steps.at(-1)?.url, record.callback?.url);
  });

  test('sub is stable per user and differs between users; groups follow the user', async () => {
    const a = await loginWithBrowser(config);
    const b = await loginWithBrowser(config, { env: { SANDBOX_LOGIN: 'bob@example.com' } });
    const again = await loginWithBrowser(config);
    assert.equal(a.tokens.claims()?.sub, again.tokens.claims()?.sub);
    assert.notEqual(a.tokens.claims()?.sub, b.tokens.claims()?.sub);
    assert.equal(b.tokens.claims()?.email, 'bob@example.com');
    assert.deepEqual(b.tokens.claims()?.groups, ['developers']);
  });

  test('any loopback host, port and path is an acceptable redirect URI', async () => {
    const viaLocalhost = await loginWithBrowser(config, { host: 'localhost', path: '/some/deep/path' });
    assert.equal(viaLocalhost.record.callback?.status, 200);
    assert.ok(viaLocalhost.redirectUri.startsWith('http://localhost:'));
    const viaV6 = await loginWithBrowser(config, { host: '[::1]', path: '/oidc/callback' });
    assert.equal(viaV6.record.callback?.status, 200);
    assert.ok(viaV6.tokens.id_token);

    for (const redirect of ['http://127.0.0.1:1/cb', 'http://127.0.0.2:65535/x/y?z=1', 'http://localhost/', 'http://[::1]:8250/oidc/callback']) {
      const url = client.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid', state: 's' });
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 303, redirect);
      assert.match(res.headers.get('location') ?? '', /^\/dex\/interaction\//, redirect);
    }
  });

  test('a non-loopback redirect URI is refused without redirecting', async () => {
    for (const redirect of ['http://evil.example/cb', 'https://127.0.0.1:8000/cb', 'http://127.0.0.1.evil.example/cb', 'http://10.0.0.1/cb']) {
      const url = client.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid', state: 's' });
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 400, redirect);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /invalid_redirect_uri/);
    }
    const url = client.buildAuthorizationUrl(config, { redirect_uri: 'http://evil.example/cb', scope: SCOPE, state: 's' });
    const record = await openBrowser(url.href);
    assert.equal(record.callback, null);
    assert.equal(record.steps[0]?.status, 400);
  });

  test('the token request must repeat the exact redirect_uri', async () => {
    const lb = await startLoopback();
    try {
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: lb.redirectUri,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: lb.expectedState,
      });
      await openBrowser(url.href);
      const cb = await withTimeout(lb.callback, 5000, 'the callback');
      const otherPath = new URL(`${lb.origin}/elsewhere${cb.search}`);
      await expectOAuthError(
        client.authorizationCodeGrant(config, otherPath, { pkceCodeVerifier: verifier, expectedState: lb.expectedState }),
        'invalid_grant',
      );
    } finally {
      await lb.close();
    }
  });

  test('PKCE plain (and a missing method, which means plain) is accepted; a wrong verifier is not', async () => {
    for (const method of ['plain', undefined]) {
      const lb = await startLoopback();
      try {
        const verifier = client.randomPKCECodeVerifier();
        const url = client.buildAuthorizationUrl(config, {
          redirect_uri: lb.redirectUri,
          scope: 'openid email',
          code_challenge: verifier,
          ...(method ? { code_challenge_method: method } : {}),
          state: lb.expectedState,
        });
        await openBrowser(url.href);
        const cb = new URL(`${lb.redirectUri}${(await withTimeout(lb.callback, 5000, 'the callback')).search}`);
        if (method === undefined) {
          await expectOAuthError(
            client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: lb.expectedState }),
            'invalid_grant',
          );
        } else {
          const tokens = await client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: lb.expectedState });
          assert.equal(tokens.claims()?.email, 'alice@example.com');
          assert.equal(tokens.refresh_token, undefined, 'no offline_access, no refresh token');
        }
      } finally {
        await lb.close();
      }
    }
  });

  test('refresh tokens rotate on every use and the previous one is dead at once', async () => {
    const { tokens, nonce } = await loginWithBrowser(config);
    const rt1 = tokens.refresh_token;
    assert.ok(rt1);
    const r2 = await client.refreshTokenGrant(config, rt1);
    assert.ok(r2.refresh_token);
    assert.notEqual(r2.refresh_token, rt1);
    assert.ok(r2.id_token, 'a refresh returns a fresh ID token');
    assert.ok((r2.claims()?.iat ?? 0) >= (tokens.claims()?.iat ?? Infinity));
    assert.notEqual(r2.access_token, tokens.access_token);
    assert.equal(r2.claims()?.sub, tokens.claims()?.sub);
    assert.equal(r2.claims()?.nonce, nonce, 'the refreshed ID token keeps the nonce of the login');
    assert.deepEqual(r2.claims()?.groups, ['engineers', 'platform']);

    await expectOAuthError(client.refreshTokenGrant(config, rt1), 'invalid_grant');
    // unlike oidc-provider's default, the reuse does not take the newer token down with it (Dex doesn't)
    const r3 = await client.refreshTokenGrant(config, r2.refresh_token);
    assert.ok(r3.refresh_token);
    await expectOAuthError(client.refreshTokenGrant(config, r2.refresh_token), 'invalid_grant');
    await expectOAuthError(client.refreshTokenGrant(config, 'not-a-token'), 'invalid_grant');
  });

  test('one refresh token per (user, client): a new login invalidates the earlier one', async () => {
    const first = await loginWithBrowser(config);
    const bob = await loginWithBrowser(config, { env: { SANDBOX_LOGIN: 'bob@example.com' } });
    const second = await loginWithBrowser(config);
    assert.ok(first.tokens.refresh_token && second.tokens.refresh_token && bob.tokens.refresh_token);
    await expectOAuthError(client.refreshTokenGrant(config, first.tokens.refresh_token), 'invalid_grant');
    const fresh = await client.refreshTokenGrant(config, second.tokens.refresh_token);
    assert.equal(fresh.claims()?.email, 'alice@example.com');
    // bob's session is another user's: untouched
    const bobFresh = await client.refreshTokenGrant(config, bob.tokens.refresh_token);
    assert.equal(bobFresh.claims()?.email, 'bob@example.com');
  });

  test('deny mode presses Cancel and the client receives access_denied', async () => {
    const lb = await startLoopback({ closeAfterCallback: false });
    try {
      const url = client.buildAuthorizationUrl(config, { redirect_uri: lb.redirectUri, scope: SCOPE, state: lb.expectedState });
      const record = await openBrowser(url.href, { SANDBOX_BROWSER_MODE: 'deny' });
      assert.equal(record.mode, 'deny');
      assert.equal(record.error, undefined);
      assert.equal(record.callback?.status, 200);
      const cb = await withTimeout(lb.callback, 5000, 'the callback');
      assert.equal(cb.searchParams.get('error'), 'access_denied');
      assert.equal(cb.searchParams.get('code'), null);
      await assert.rejects(
        client.authorizationCodeGrant(config, new URL(`${lb.redirectUri}${cb.search}`), { expectedState: lb.expectedState }),
        (err: unknown) => err instanceof client.AuthorizationResponseError && err.error === 'access_denied',
      );
    } finally {
      await lb.close();
    }
  });

  test('wrong-state mode first hits the callback with a bogus state, then logs in', async () => {
    const { record, tokens } = await loginWithBrowser(config, { env: { SANDBOX_BROWSER_MODE: 'wrong-state' } });
    assert.equal(record.extra.length, 1);
    const bogus = record.extra[0];
    assert.equal(bogus?.kind, 'wrong-state');
    assert.equal(bogus?.status, 400);
    assert.match(bogus?.body ?? '', /state mismatch/);
    assert.equal(new URL(bogus?.url ?? 'x:').searchParams.get('state'), 'wrong');
    assert.equal(new URL(bogus?.url ?? 'x:').searchParams.get('code'), 'bogus');
    assert.equal(record.callback?.status, 200);
    assert.ok(tokens.id_token);
  });

  test('replay mode requests the callback URL a second time and records the outcome', async () => {
    // a listener that stops after the first good callback: the replay cannot connect
    const { record } = await loginWithBrowser(config, { env: { SANDBOX_BROWSER_MODE: 'replay' } });
    assert.equal(record.callback?.status, 200);
    assert.equal(record.extra.length, 1);
    assert.equal(record.extra[0]?.kind, 'replay');
    assert.equal(record.extra[0]?.url, record.callback?.url);
    // refused, or reset when the replay races the listener's shutdown: either way it could not connect
    assert.match(record.extra[0]?.error ?? '', /^ECONN(REFUSED|RESET)$/);

    // a listener that stays up answers the replay itself
    const lb = await startLoopback({ closeAfterCallback: false });
    try {
      const url = client.buildAuthorizationUrl(config, { redirect_uri: lb.redirectUri, scope: 'openid', state: lb.expectedState });
      const rec = await openBrowser(url.href, { SANDBOX_BROWSER_MODE: 'replay' });
      assert.equal(rec.extra[0]?.status, 200);
      assert.equal(lb.hits.length, 2);
      assert.equal(lb.hits[0]?.href, lb.hits[1]?.href);
    } finally {
      await lb.close();
    }
  });

  test('a wrong password shows the form again and never reaches the callback', async () => {
    const lb = await startLoopback();
    try {
      const url = client.buildAuthorizationUrl(config, { redirect_uri: lb.redirectUri, scope: SCOPE, state: lb.expectedState });
      const record = await openBrowser(url.href, { SANDBOX_PASSWORD: 'not-the-password' });
      assert.match(record.error ?? '', /login form came back: Invalid Email Address and password/);
      assert.equal(record.callback, null);
      assert.equal(lb.hits.length, 0);
      assert.equal(JSON.stringify(record).includes('not-the-password'), false, 'the password is not logged');
    } finally {
      await lb.close();
    }
  });

  test('the browser follows a non-provider start URL that redirects to the provider', async () => {
    const lb = await startLoopback();
    try {
      const verifier = client.randomPKCECodeVerifier();
      lb.startTarget = client.buildAuthorizationUrl(config, {
        redirect_uri: lb.redirectUri,
        scope: SCOPE,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: lb.expectedState,
      }).href;
      const record = await openBrowser(`${lb.origin}/start`);
      assert.equal(record.url, `${lb.origin}/start`);
      assert.equal(record.steps[0]?.status, 302);
      assert.equal(record.callback?.status, 200);
      const cb = await withTimeout(lb.callback, 5000, 'the callback');
      const tokens = await client.authorizationCodeGrant(config, new URL(`${lb.redirectUri}${cb.search}`), {
        pkceCodeVerifier: verifier,
        expectedState: lb.expectedState,
      });
      assert.ok(tokens.refresh_token);
    } finally {
      await lb.close();
    }
  });

  test('noop mode only records the URL', async () => {
    sandbox.resetStats();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid', state: 's' });
    const record = await openBrowser(url.href, { SANDBOX_BROWSER_MODE: 'noop' });
    assert.equal(record.url, url.href);
    assert.equal(record.mode, 'noop');
    assert.deepEqual(record.steps, []);
    assert.equal(record.callback, null);
    assert.equal(sandbox.stats().authorizations, 0);
  });

  test('device flow: verification_uri_complete in the browser, then polling yields tokens', async () => {
    const earlier = await loginWithBrowser(config);
    assert.ok(earlier.tokens.refresh_token);

    // the bare verification page asks for the code
    const page = await fetch(`${sandbox.issuer}/device`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<input[^>]+name="user_code"/);

    const da = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
    assert.match(da.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(da.verification_uri, `${sandbox.issuer}/device`);
    assert.equal(da.verification_uri_complete, `${sandbox.issuer}/device?user_code=${encodeURIComponent(da.user_code)}`);
    assert.equal(da.interval, 5);
    assert.equal(da.expires_in, 300);

    // before anyone opened the page, polling is answered with authorization_pending
    const pending = await fetch(`${sandbox.issuer}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: da.device_code, client_id: 'tng' }),
    });
    assert.equal(pending.status, 400);
    assert.equal(((await pending.json()) as { error: string }).error, 'authorization_pending');

    const record = await openBrowser(da.verification_uri_complete ?? '');
    assert.equal(record.error, undefined);
    assert.equal(record.callback, null);
    assert.equal(record.final?.status, 200);
    assert.match(record.final?.body ?? '', /Login successful/);

    const tokens = await client.pollDeviceAuthorizationGrant(config, { ...da, interval: 0.05 }, undefined, { signal: AbortSignal.timeout(5000) });
    const claims = tokens.claims();
    assert.equal(claims?.email, 'alice@example.com');
    assert.equal(claims?.aud, 'tng');
    assert.deepEqual(claims?.groups, ['engineers', 'platform']);
    assert.ok(tokens.refresh_token);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.id_token);
    // the device login replaced the refresh token of the earlier browser login (same user, same client)
    await expectOAuthError(client.refreshTokenGrant(config, earlier.tokens.refresh_token), 'invalid_grant');
  });

  test('device flow: Cancel ends it with access_denied', async () => {
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid email' });
    const record = await openBrowser(da.verification_uri_complete ?? '', { SANDBOX_BROWSER_MODE: 'deny' });
    assert.equal(record.callback, null);
    await expectOAuthError(
      client.pollDeviceAuthorizationGrant(config, { ...da, interval: 0.05 }, undefined, { signal: AbortSignal.timeout(5000) }),
      'access_denied',
    );
  });

  test('stats count authorizations, token requests by grant_type and refresh tokens', async () => {
    sandbox.resetStats();
    assert.deepEqual(sandbox.stats(), { authorizations: 0, tokens: {}, refreshTokensIssued: 0 });
    const { tokens } = await loginWithBrowser(config);
    assert.ok(tokens.refresh_token);
    await client.refreshTokenGrant(config, tokens.refresh_token);
    await expectOAuthError(client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant');
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    await openBrowser(da.verification_uri_complete ?? '');
    await client.pollDeviceAuthorizationGrant(config, { ...da, interval: 0.05 }, undefined, { signal: AbortSignal.timeout(5000) });

    const s = sandbox.stats();
    assert.equal(s.authorizations, 2);
    assert.equal(s.tokens.authorization_code, 1);
    assert.equal(s.tokens.refresh_token, 2);
    assert.equal(s.tokens['urn:ietf:params:oauth:grant-type:device_code'], 1);
    assert.equal(s.refreshTokensIssued, 2);

    // the same over HTTP, for tests that drive the sandbox from another process
    const viaHttp = (await (await fetch(`http://127.0.0.1:${sandbox.port}/__sandbox/stats`)).json()) as unknown;
    assert.deepEqual(viaHttp, s);
    const reset = await fetch(`http://127.0.0.1:${sandbox.port}/__sandbox/reset`, { method: 'POST' });
    assert.equal(reset.status, 200);
    assert.deepEqual(sandbox.stats(), { authorizations: 0, tokens: {}, refreshTokensIssued: 0 });
  });
});

describe('sandbox OIDC provider options', () => {
  test('revocation: true adds a working revocation_endpoint; idTokenTtlSeconds sets the ID token lifetime', async () => {
    const sandbox = await startOidcSandbox({ revocation: true, idTokenTtlSeconds: 600 });
    try {
      const config = await discover(sandbox.issuer);
      assert.equal(config.serverMetadata().revocation_endpoint, `${sandbox.issuer}/token/revocation`);
      const { tokens } = await loginWithBrowser(config);
      const claims = tokens.claims();
      assert.ok(claims && tokens.refresh_token);
      assert.equal(claims.exp - claims.iat, 600);
      await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
      await expectOAuthError(client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant');
    } finally {
      await sandbox.close();
    }
  });

  test('custom users and a confidential extra client with exact redirect URIs', async () => {
    const lb = await startLoopback({ path: '/oidc/callback' });
    const sandbox = await startOidcSandbox({
      users: [{ id: 'carol-1', email: 'carol@example.com', password: 's3cret', name: 'Carol', groups: ['ops'] }],
      extraClients: [{ client_id: 'vault', client_secret: 'vault-secret', redirect_uris: [lb.redirectUri] }],
    });
    try {
      const vault = await client.discovery(new URL(sandbox.issuer), 'vault', undefined, client.ClientSecretBasic('vault-secret'), {
        execute: [client.allowInsecureRequests],
      });
      // exact matching for a client with registered URIs: another loopback port is refused
      const other = client.buildAuthorizationUrl(vault, { redirect_uri: 'http://127.0.0.1:1/oidc/callback', scope: 'openid', state: 's' });
      assert.equal((await fetch(other, { redirect: 'manual' })).status, 400);

      const url = client.buildAuthorizationUrl(vault, { redirect_uri: lb.redirectUri, scope: 'openid email groups', state: lb.expectedState });
      const record = await openBrowser(url.href, { SANDBOX_LOGIN: 'carol@example.com', SANDBOX_PASSWORD: 's3cret' });
      assert.equal(record.callback?.status, 200);
      const cb = await withTimeout(lb.callback, 5000, 'the callback');
      const tokens = await client.authorizationCodeGrant(vault, new URL(`${lb.redirectUri}${cb.search}`), { expectedState: lb.expectedState });
      assert.equal(tokens.claims()?.aud, 'vault');
      assert.equal(tokens.claims()?.sub, dexSubject('carol-1'));
      assert.deepEqual(tokens.claims()?.groups, ['ops']);
      assert.equal(tokens.claims()?.name, undefined, 'no profile scope, no name');

      // the wrong secret is a 401 invalid_client
      const bad = await client.discovery(new URL(sandbox.issuer), 'vault', undefined, client.ClientSecretPost('nope'), {
        execute: [client.allowInsecureRequests],
      });
      await expectOAuthError(client.refreshTokenGrant(bad, 'whatever'), 'invalid_client', 401);
    } finally {
      await sandbox.close();
      await lb.close();
    }
  });
});

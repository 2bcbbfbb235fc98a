import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../../../src/clock.ts';
import { configCheck, healthVerdict, issuerCheck, keychainCheck, keychainProbeKey, sessionCheck, vaultCheck } from '../../../src/doctor/checks.ts';
import { TngError } from '../../../src/errors.ts';
import type { SecretStore } from '../../../src/keychain/store.ts';
import type { Fetch } from '../../../src/net/http.ts';
import type { Session } from '../../../src/session/session.ts';

const ISSUER = 'http://127.0.0.1:5556/dex';
const VAULT = 'http://127.0.0.1:8200';
const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const clock: Clock = { now: () => NOW };
const httpDate = (ms: number) => new Date(ms).toUTCString();

type Route = (url: string, init: RequestInit) => Response | Promise<Response>;

function fakeFetch(routes: Record<string, Route>, seen: string[] = []): Fetch {
  return async (input, init = {}) => {
    const url = String(input);
    seen.push(url);
    const route = routes[url.split('?')[0] as string];
    if (!route) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    return route(url, init);
  };
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

const discovery = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/auth`,
  token_endpoint: `${ISSUER}/token`,
  jwks_uri: `${ISSUER}/keys`,
  response_types_supported: ['code'],
  subject_types_supported: ['public'],
  id_token_signing_alg_values_supported: ['RS256'],
};

describe('the issuer check', () => {
  it('runs discovery, counts the JWKS keys and samples the Date header', async () => {
    const seen: string[] = [];
    const fetch = fakeFetch(
      {
        [`${ISSUER}/.well-known/openid-configuration`]: () => json(discovery, 200, { date: httpDate(NOW - 300_000) }),
        [`${ISSUER}/keys`]: () => json({ keys: [{ kty: 'RSA', kid: 'a' }, { kty: 'RSA', kid: 'b' }] }),
      },
      seen,
    );
    const { check, samples } = await issuerCheck({ issuer: ISSUER, clientId: 'tng' }, fetch, clock);
    assert.equal(check.status, 'ok', check.detail);
    assert.equal(check.detail, `${ISSUER}: discovery works, JWKS holds 2 keys`);
    assert.deepEqual(seen, [`${ISSUER}/.well-known/openid-configuration`, `${ISSUER}/keys`]);
    assert.equal(samples.length, 1);
    assert.equal(samples[0]?.server, 'the issuer');
    assert.equal(Math.round(samples[0]?.skewSeconds ?? 0), 300);
  });

  it('an empty JWKS fails with exit 6', async () => {
    const fetch = fakeFetch({
      [`${ISSUER}/.well-known/openid-configuration`]: () => json(discovery),
      [`${ISSUER}/keys`]: () => json({ keys: [] }),
    });
    const { check } = await issuerCheck({ issuer: ISSUER, clientId: 'tng' }, fetch, clock);
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 6);
    assert.match(check.detail, /holds no keys/);
  });

  it('a JWKS that answers 500 fails with exit 6, naming the URL', async () => {
    const fetch = fakeFetch({
      [`${ISSUER}/.well-known/openid-configuration`]: () => json(discovery),
      [`${ISSUER}/keys`]: () => json({ error: 'boom' }, 500),
    });
    const { check } = await issuerCheck({ issuer: ISSUER, clientId: 'tng' }, fetch, clock);
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 6);
    assert.match(check.detail, /JWKS at http:\/\/127\.0\.0\.1:5556\/dex\/keys answered HTTP 500/);
  });

  it('an unreachable issuer fails with exit 6 and a hint; there is no clock sample', async () => {
    const { check, samples } = await issuerCheck({ issuer: ISSUER, clientId: 'tng' }, fakeFetch({}), clock);
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 6);
    assert.match(check.detail, /^Cannot reach the issuer at http:\/\/127\.0\.0\.1:5556\/dex /);
    assert.ok(check.hint);
    assert.deepEqual(samples, []);
  });

  it('discovery naming another issuer is a configuration error (exit 2)', async () => {
    const fetch = fakeFetch({ [`${ISSUER}/.well-known/openid-configuration`]: () => json({ ...discovery, issuer: 'http://127.0.0.1:5556/other' }) });
    const { check } = await issuerCheck({ issuer: ISSUER, clientId: 'tng' }, fetch, clock);
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 2);
  });
});

/** A server that never answers: the request ends only when its signal aborts. */
const hanging: Route = (_url, init) =>
  new Promise<Response>((_resolve, reject) => {
    const signal = init.signal;
    if (signal) signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

describe('the network checks never hang', () => {
  // The deadline's timer does not hold the event loop open (a real request's socket does); this stands in for it.
  let socket: NodeJS.Timeout;
  before(() => {
    socket = setInterval(() => undefined, 1000);
  });
  after(() => clearInterval(socket));

  it('a silent issuer: discovery ends at the check\'s deadline, exit 6', { timeout: 5000 }, async () => {
    const started = Date.now();
    const fetch = fakeFetch({ [`${ISSUER}/.well-known/openid-configuration`]: hanging });
    const { check } = await issuerCheck({ issuer: ISSUER, clientId: 'tng' }, fetch, clock, { timeoutMs: 200 });
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 6);
    assert.match(check.detail, /did not answer in time/);
    assert.ok(Date.now() - started < 2000);
  });

  it('discovery and JWKS share one deadline', { timeout: 5000 }, async () => {
    const fetch = fakeFetch({
      [`${ISSUER}/.well-known/openid-configuration`]: () => json(discovery),
      [`${ISSUER}/keys`]: hanging,
    });
    const { check } = await issuerCheck({ issuer: ISSUER, clientId: 'tng' }, fetch, clock, { timeoutMs: 200 });
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 6);
    assert.match(check.detail, /JWKS at .*\/keys did not answer in time/);
  });

  it('a silent Vault ends at the deadline, exit 6', { timeout: 5000 }, async () => {
    const fetch = fakeFetch({ [`${VAULT}/v1/sys/health`]: hanging });
    const { check } = await vaultCheck({ vaultAddr: VAULT, vaultNamespace: undefined }, fetch, clock, { timeoutMs: 200 });
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 6);
    assert.match(check.detail, /Vault at .* did not answer in time/);
  });

  it('Ctrl-C ends the checks at once', { timeout: 5000 }, async () => {
    const interrupt = new AbortController();
    const fetch = fakeFetch({ [`${VAULT}/v1/sys/health`]: hanging });
    const pending = vaultCheck({ vaultAddr: VAULT, vaultNamespace: undefined }, fetch, clock, { signal: interrupt.signal, timeoutMs: 60_000 });
    interrupt.abort();
    assert.equal((await pending).check.status, 'fail');
  });
});

describe('the vault check', () => {
  const health = (body: Record<string, unknown>, status: number, date?: string): Route => () => json(body, status, date ? { date } : {});
  const active = { initialized: true, sealed: false, standby: false, performance_standby: false, version: '1.18.3', server_time_utc: Math.floor(NOW / 1000) };

  it('an active, unsealed Vault is ok, with samples from the Date header and server_time_utc', async () => {
    const seen: string[] = [];
    const fetch = fakeFetch({ [`${VAULT}/v1/sys/health`]: health(active, 200, httpDate(NOW + 45_000)) }, seen);
    const { check, samples } = await vaultCheck({ vaultAddr: VAULT, vaultNamespace: undefined }, fetch, clock);
    assert.equal(check.status, 'ok');
    assert.equal(check.detail, `Vault 1.18.3 at ${VAULT}: initialized, unsealed, active`);
    assert.match(seen[0] ?? '', /\/v1\/sys\/health\?/);
    // Both times are whole seconds: the middle of the server's second is compared with the (fixed) local time.
    assert.deepEqual(samples.map((s) => [s.via, s.skewSeconds]), [['Date header', -45.5], ['server_time_utc', -0.5]]);
  });

  it('reaches a verdict on every health state', () => {
    const verdict = (body: Record<string, unknown>, status: number) => healthVerdict(VAULT, { ...body, status });
    assert.deepEqual(
      [verdict({ ...active, sealed: true, standby: true }, 503), verdict({ ...active, initialized: false }, 501)].map((c) => [c.status, c.exitCode]),
      [['fail', 6], ['fail', 6]],
    );
    assert.match(verdict({ ...active, sealed: true }, 503).detail, /Vault 1\.18\.3 at .* is sealed/);
    assert.match(verdict({ ...active, sealed: true }, 503).hint ?? '', /unseal/);
    const standby = verdict({ ...active, standby: true }, 429);
    assert.equal(standby.status, 'warn');
    assert.match(standby.detail, /standby/);
    assert.equal(verdict({ ...active, performance_standby: true }, 473).status, 'ok');
    assert.equal(verdict({ ...active }, 474).status, 'warn');
    assert.equal(verdict({ ...active }, 472).status, 'fail');
    const notVault = verdict({}, 200);
    assert.equal(notVault.status, 'fail');
    assert.match(notVault.detail, /does not look like Vault/);
    assert.equal(verdict({}, 502).exitCode, 6);
  });

  it('an unreachable Vault fails with exit 6', async () => {
    const { check, samples } = await vaultCheck({ vaultAddr: VAULT, vaultNamespace: undefined }, fakeFetch({}), clock);
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 6);
    assert.match(check.detail, /Cannot reach Vault/);
    assert.deepEqual(samples, []);
  });
});

function memoryStore(items: Record<string, string> = {}, reads: string[] = []): SecretStore {
  return {
    get: async (key) => {
      reads.push(key);
      return items[key];
    },
    set: async () => {
      throw new Error('the session check must never write to the keychain');
    },
    delete: async () => {
      throw new Error('the session check must never delete from the keychain');
    },
  };
}

/** A keychain that keeps items in a map and records each operation. */
function recordingStore(ops: string[], keep: (value: string) => string | undefined = (value) => value): SecretStore {
  const items = new Map<string, string>();
  return {
    get: async (key) => {
      ops.push(`get ${key}`);
      return items.get(key);
    },
    set: async (key, value) => {
      ops.push(`set ${key}`);
      const kept = keep(value);
      if (kept !== undefined) items.set(key, kept);
    },
    delete: async (key) => {
      ops.push(`delete ${key}`);
      return items.delete(key);
    },
  };
}

describe('the keychain check', () => {
  it('stores a probe item, reads it back and deletes it, leaving nothing behind', async () => {
    const ops: string[] = [];
    const store = recordingStore(ops);
    const { check, store: answered } = await keychainCheck({ keychain: async () => store });
    assert.equal(check.status, 'ok');
    assert.match(check.detail, /stores, reads and deletes/);
    assert.equal(answered, store);
    const probe = keychainProbeKey();
    assert.deepEqual(ops, [`set ${probe}`, `get ${probe}`, `delete ${probe}`]);
    assert.equal(await store.get(probe), undefined);
  });

  it('a keychain that refuses the write (a locked keyring answers reads) fails with its message and hint, exit 7', async () => {
    const ops: string[] = [];
    const locked: SecretStore = {
      ...recordingStore(ops),
      set: async () => {
        throw new TngError('keychain', 'keychain.locked', 'The OS keychain is locked.', { hint: 'Unlock the login keyring.' });
      },
    };
    const { check, store } = await keychainCheck({ keychain: async () => locked });
    assert.deepEqual([check.status, check.detail, check.hint, check.exitCode], ['fail', 'The OS keychain is locked.', 'Unlock the login keyring.', 7]);
    assert.equal(store, undefined);
  });

  it('a keychain that returns something else than was stored fails, exit 7, and the probe is still deleted', async () => {
    const ops: string[] = [];
    const { check } = await keychainCheck({ keychain: async () => recordingStore(ops, () => 'other') });
    assert.deepEqual([check.status, check.exitCode], ['fail', 7]);
    assert.match(check.detail, /did not return the item/);
    assert.equal(ops.at(-1), `delete ${keychainProbeKey()}`);
  });

  it('any other failure of the keychain is still exit 7', async () => {
    const { check } = await keychainCheck({ keychain: async () => Promise.reject(new Error('dlopen failed')) });
    assert.equal(check.status, 'fail');
    assert.equal(check.exitCode, 7);
    assert.match(check.detail, /dlopen failed/);
  });
});

describe('the session check', () => {
  const profile = { name: 'work', vaultAddr: VAULT, vaultNamespace: undefined };
  const session = (expiresAt: number, addr = VAULT): Session => ({
    version: 1,
    profile: 'work',
    createdAt: NOW - 60_000,
    vault: { addr, namespace: null, token: 'hvs.very-secret-token', accessor: 'acc', policies: ['engineer'], entityId: 'e', expiresAt, renewable: true, method: 'jwt', mount: 'jwt' },
    oidc: { issuer: ISSUER, subject: 'sub', email: 'alice@example.com', groups: [], expiresAt: null },
  });
  const stored = (s: Session) => memoryStore({ 'profile:work:session': JSON.stringify(s) });

  it('reports who is logged in and how long the Vault token has left, never the token', async () => {
    const check = await sessionCheck(stored(session(NOW / 1000 + 845)), profile, clock);
    assert.equal(check.status, 'ok');
    assert.match(check.detail, /logged in as alice@example\.com; Vault token valid for 14m05s more \(until 2025-03-01T12:14:05\.000Z, renewable\)/);
    assert.doesNotMatch(JSON.stringify(check), /very-secret/);
  });

  it('no session is a warning pointing at tng login', async () => {
    const check = await sessionCheck(memoryStore(), profile, clock);
    assert.equal(check.status, 'warn');
    assert.equal(check.hint, 'Run `tng login --profile work`.');
  });

  it('an expired session, or one for another Vault, is a warning', async () => {
    const expired = await sessionCheck(stored(session(NOW / 1000 - 125)), profile, clock);
    assert.equal(expired.status, 'warn');
    assert.match(expired.detail, /ended 2m05s ago/);
    const moved = await sessionCheck(stored(session(NOW / 1000 + 600, 'http://127.0.0.1:9999')), profile, clock);
    assert.equal(moved.status, 'warn');
    assert.match(moved.detail, /for Vault at http:\/\/127\.0\.0\.1:9999/);
  });
});

describe('the config check', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tng-doctor-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const deps = (config: string, env: NodeJS.ProcessEnv = {}) => ({
    env,
    paths: { config, state: join(dir, 'state') },
    fetch: async () => fakeFetch({}),
  });
  const profile = `issuer = "${ISSUER}"\nclient_id = "tng"\nvault_addr = "${VAULT}"\nvault_role = "engineer"\n`;

  it('no config file: fail with exit 2, profile null', async () => {
    const outcome = await configCheck(undefined, deps(join(dir, 'missing.toml')));
    assert.equal(outcome.check.status, 'fail');
    assert.equal(outcome.check.exitCode, 2);
    assert.match(outcome.check.detail, /No profile is configured \(no profiles in .*missing\.toml\)/);
    assert.equal(outcome.name, null);
    assert.equal(outcome.profile, undefined);
  });

  it('a valid profile passes and yields the profile and its fetch', async () => {
    const path = join(dir, 'good.toml');
    await writeFile(path, `[profiles.work]\n${profile}`);
    const outcome = await configCheck(undefined, deps(path));
    assert.equal(outcome.check.status, 'ok');
    assert.equal(outcome.name, 'work');
    assert.equal(outcome.profile?.vaultAddr, VAULT);
    assert.ok(outcome.fetch);
  });

  it('an invalid profile fails with exit 2 but keeps its name; TNG_PROFILE selects it', async () => {
    const path = join(dir, 'bad.toml');
    await writeFile(path, `[profiles.work]\n${profile}\n[profiles.broken]\nissuer = "http://dex.example.com/dex"\nclient_id = "tng"\nvault_addr = "${VAULT}"\nvault_role = "r"\n`);
    const outcome = await configCheck(undefined, deps(path, { TNG_PROFILE: 'broken' }));
    assert.equal(outcome.check.status, 'fail');
    assert.equal(outcome.check.exitCode, 2);
    assert.match(outcome.check.detail, /https/);
    assert.equal(outcome.name, 'broken');
  });

  it('an unreadable vault_cacert is a configuration failure', async () => {
    const path = join(dir, 'cacert.toml');
    await writeFile(path, `[profiles.work]\n${profile}vault_cacert = "${join(dir, 'nope.pem')}"\n`);
    const outcome = await configCheck('work', {
      ...deps(path),
      fetch: async () => {
        throw new TngError('usage', 'config.cacert', 'Cannot read vault_cacert.', { hint: 'Point vault_cacert at a readable PEM file.' });
      },
    });
    assert.equal(outcome.check.status, 'fail');
    assert.equal(outcome.check.exitCode, 2);
    assert.equal(outcome.name, 'work');
  });
});

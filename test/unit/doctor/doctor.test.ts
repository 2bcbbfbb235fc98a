import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { doctorCommand, runDoctor, type DoctorCommandDeps, type DoctorOptions } from '../../../src/commands/doctor.ts';
import { createDeps } from '../../../src/deps.ts';
import { diagnose } from '../../../src/doctor/doctor.ts';
import { exitCodeOf } from '../../../src/doctor/report.ts';
import { TngError } from '../../../src/errors.ts';
import type { SecretStore } from '../../../src/keychain/store.ts';
import type { Fetch } from '../../../src/net/http.ts';
import type { IO } from '../../../src/ui/io.ts';

const ISSUER = 'http://127.0.0.1:5556/dex';
const VAULT = 'http://127.0.0.1:8200';

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', date: new Date().toUTCString() } });
}

/** Resolves once `count` parties have arrived; rejects after `ms` (so a sequential run fails instead of hanging). */
function barrier(count: number, ms = 3000): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    arrived += 1;
    if (arrived === count) open();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${arrived} of ${count} checks started together`)), ms);
    });
    try {
      await Promise.race([opened, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

function servers(options: { sealed?: boolean; arrive?: () => Promise<void> } = {}): Fetch {
  return async (input) => {
    const url = String(input);
    if (url === `${ISSUER}/.well-known/openid-configuration`) {
      await options.arrive?.();
      return json({ issuer: ISSUER, authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token`, jwks_uri: `${ISSUER}/keys`, response_types_supported: ['code'] });
    }
    if (url === `${ISSUER}/keys`) return json({ keys: [{ kty: 'RSA', kid: 'k1' }] });
    if (url.startsWith(`${VAULT}/v1/sys/health`)) {
      await options.arrive?.();
      const sealed = options.sealed === true;
      return json({ initialized: true, sealed, standby: sealed, version: '1.18.3', server_time_utc: Math.floor(Date.now() / 1000) }, sealed ? 503 : 200);
    }
    throw new TypeError('fetch failed');
  };
}

/** An empty keychain where doctor may write (and delete) only its probe item. */
function store(arrive?: () => Promise<void>): SecretStore {
  const probes = new Map<string, string>();
  const onlyProbe = (key: string) => assert.ok(key.startsWith('doctor:probe'), `doctor wrote ${key} to the keychain`);
  return {
    get: async (key) => {
      await arrive?.();
      return probes.get(key);
    },
    set: async (key, value) => {
      onlyProbe(key);
      probes.set(key, value);
    },
    delete: async (key) => {
      onlyProbe(key);
      return probes.delete(key);
    },
  };
}

let dir: string;
let config: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tng-doctor-'));
  config = join(dir, 'config.toml');
  await writeFile(config, `default_profile = "work"\n[profiles.work]\nissuer = "${ISSUER}"\nclient_id = "tng"\nvault_addr = "${VAULT}"\nvault_role = "engineer"\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function deps(overrides: Partial<DoctorCommandDeps> = {}): DoctorCommandDeps {
  const io: IO = {
    canPrompt: () => false,
    out: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    readStdin: async () => '',
    flush: async () => undefined,
    ask: async () => '',
    askSecret: async () => '',
    colour: false,
  };
  return {
    env: { HOME: dir },
    io,
    clock: { now: () => Date.now() },
    paths: { config, state: join(dir, 'state') },
    signal: new AbortController().signal,
    keychain: async () => store(),
    fetch: async () => servers(),
    ...overrides,
  };
}

describe('diagnose', () => {
  it('runs the issuer, Vault and keychain checks concurrently; a healthy setup has only the session warning', async () => {
    const arrive = barrier(3);
    const report = await diagnose({}, deps({ fetch: async () => servers({ arrive }), keychain: async () => store(arrive) }));
    assert.equal(report.profile, 'work');
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.status]),
      [['config', 'ok'], ['issuer', 'ok'], ['vault', 'ok'], ['clock', 'ok'], ['keychain', 'ok'], ['session', 'warn'], ['authenticator', 'ok'], ['plaintext', 'ok']],
    );
    assert.equal(exitCodeOf(report.checks), 0);
  });

  it('without any profile: config fails (exit 2), profile checks are skipped, keychain and plaintext still run', async () => {
    await mkdir(join(dir, '.aws'), { recursive: true });
    await writeFile(join(dir, '.aws', 'credentials'), '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n');
    try {
      const report = await diagnose({}, deps({ paths: { config: join(dir, 'none.toml'), state: dir } }));
      assert.equal(report.profile, null);
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.status]),
        [['config', 'fail'], ['issuer', 'skip'], ['vault', 'skip'], ['clock', 'skip'], ['keychain', 'ok'], ['session', 'skip'], ['authenticator', 'ok'], ['plaintext', 'warn']],
      );
      assert.equal(exitCodeOf(report.checks), 2);
    } finally {
      await rm(join(dir, '.aws'), { recursive: true, force: true });
    }
  });

  it('a sealed Vault and a broken keychain: both fail, the exit status is the earlier one (Vault, 6), session skipped', async () => {
    const broken: SecretStore = {
      ...store(),
      get: async () => {
        throw new TngError('keychain', 'keychain.unavailable', 'The OS keychain is not available (no D-Bus session bus).', { hint: 'Start gnome-keyring.' });
      },
    };
    const report = await diagnose({}, deps({ fetch: async () => servers({ sealed: true }), keychain: async () => broken }));
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    assert.equal(byName.vault?.status, 'fail');
    assert.equal(byName.keychain?.status, 'fail');
    assert.equal(byName.keychain?.exitCode, 7);
    assert.equal(byName.session?.status, 'skip');
    assert.equal(exitCodeOf(report.checks), 6);
  });

  it('both servers down: issuer and Vault fail, the clock check is skipped', async () => {
    const down: Fetch = async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    };
    const report = await diagnose({}, deps({ fetch: async () => down }));
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    assert.equal(byName.issuer?.status, 'fail');
    assert.equal(byName.vault?.status, 'fail');
    assert.equal(byName.clock?.status, 'skip');
    assert.equal(exitCodeOf(report.checks), 6);
  });
});

describe('the doctor command', () => {
  it('passes --json and --profile to the run function', async () => {
    const seen: DoctorOptions[] = [];
    let code = -1;
    const command = doctorCommand(createDeps({}, new AbortController().signal), (c) => (code = c), async (options) => {
      seen.push(options);
      return 7;
    });
    await command.parseAsync(['--json', '--profile', 'work'], { from: 'user' });
    assert.deepEqual(seen, [{ profile: 'work', json: true }]);
    assert.equal(code, 7);
  });

  it('--json prints one object on stdout and nothing on stderr; the human form prints only to stderr', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { ...deps().io, out: (text: string) => void out.push(text), info: (line: string) => void err.push(line) };
    assert.equal(await runDoctor({ json: true }, deps({ io })), 0);
    assert.deepEqual(err, []);
    assert.equal(out.length, 1);
    const parsed = JSON.parse(out[0] ?? '') as { profile: string; ok: boolean; checks: unknown[] };
    assert.equal(parsed.profile, 'work');
    assert.equal(parsed.ok, true);
    assert.equal(parsed.checks.length, 8);

    out.length = 0;
    assert.equal(await runDoctor({ json: false, profile: 'nope' }, deps({ io })), 2);
    assert.deepEqual(out, []);
    assert.match(err[0] ?? '', /^✘ config +Unknown profile "nope"/);
    assert.match(err.at(-1) ?? '', /^doctor: .* — exit 2 \(config\)\.$/);
  });
});

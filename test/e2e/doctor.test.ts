import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { ROOT, TNG, createWorld, initProfile, login, runProcess, type RunResult, type World } from './harness.ts';

interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  hint: string | null;
}
interface DoctorJson {
  profile: string | null;
  ok: boolean;
  checks: DoctorCheck[];
}

const NAMES = ['config', 'issuer', 'vault', 'clock', 'keychain', 'session', 'authenticator', 'plaintext'];

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

async function doctorJson(world: World, env: Record<string, string> = {}, profile: string | null = world.profile): Promise<{ result: RunResult; report: DoctorJson; check: (name: string) => DoctorCheck }> {
  const result = await world.run(['doctor', '--json', ...(profile === null ? [] : ['--profile', profile])], { env });
  let report: DoctorJson;
  try {
    report = JSON.parse(result.stdout) as DoctorJson;
  } catch {
    throw new Error(`doctor --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  assert.deepEqual(Object.keys(report), ['profile', 'ok', 'checks']);
  assert.deepEqual(report.checks.map((c) => c.name), NAMES);
  for (const check of report.checks) {
    assert.deepEqual(Object.keys(check), ['name', 'status', 'detail', 'hint']);
    assert.ok(check.detail.length > 0 && !check.detail.includes('\n'), JSON.stringify(check));
    if (check.status === 'warn' || check.status === 'fail') assert.ok(check.hint && !check.hint.includes('\n'), JSON.stringify(check));
    else assert.equal(check.hint, null);
  }
  // --json: the object on stdout, nothing for people on stderr.
  assert.equal(result.stderr, '');
  const check = (name: string): DoctorCheck => report.checks.find((c) => c.name === name) as DoctorCheck;
  return { result, report, check };
}

const statuses = (report: DoctorJson) => Object.fromEntries(report.checks.map((c) => [c.name, c.status]));

async function freshWorld(extra: string[] = []): Promise<World> {
  const world = await createWorld();
  await initProfile(world, sandbox, extra);
  return world;
}

describe('tng doctor against the sandbox', () => {
  it('healthy: exit 0, every check ok except the missing session; after login the session is ok too', async () => {
    const world = await freshWorld();
    try {
      const { result, report, check } = await doctorJson(world);
      assert.equal(result.code, 0, result.stdout);
      assert.equal(report.profile, world.profile);
      assert.equal(report.ok, true);
      assert.deepEqual(statuses(report), { config: 'ok', issuer: 'ok', vault: 'ok', clock: 'ok', keychain: 'ok', session: 'warn', authenticator: 'ok', plaintext: 'ok' });
      assert.match(check('issuer').detail, new RegExp(`^${sandbox.issuer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: discovery works, JWKS holds [1-9]\\d* keys?$`));
      assert.match(check('vault').detail, /Vault 1\.18\.3\+ent at http:\/\/127\.0\.0\.1:\d+: initialized, unsealed, active/);
      assert.match(check('clock').detail, /the issuer.*Vault/);
      assert.match(check('session').detail, /no session stored/);
      assert.match(check('session').hint ?? '', /tng login/);
      assert.ok(sandbox.vault.count('GET', 'sys/health') > 0);

      assert.equal((await login(world)).code, 0);
      const afterLogin = await doctorJson(world);
      assert.equal(afterLogin.result.code, 0);
      assert.equal(afterLogin.check('session').status, 'ok');
      assert.match(afterLogin.check('session').detail, /logged in as alice@example\.com; Vault token valid for 1[0-5]m\d\ds more/);
      assert.doesNotMatch(afterLogin.result.stdout, /hvs\./);

      // The human form: one line per check on stderr (no colour without a TTY), hints beneath, a summary; stdout empty.
      const human = await world.run(['doctor', '--profile', world.profile]);
      assert.equal(human.code, 0);
      assert.equal(human.stdout, '');
      assert.ok(!human.stderr.includes('\u001b['), 'no colour codes without a TTY');
      const lines = human.stderr.trimEnd().split('\n');
      assert.deepEqual(lines.filter((l) => /^[✔!✘-] /.test(l)).map((l) => l.split(/\s+/)[1]), NAMES);
      assert.match(human.stderr, /^✔ vault /m);
      assert.match(lines.at(-1) ?? '', /^doctor: 8 ok, 0 warnings, 0 failed — all good\.$/);
    } finally {
      await world.dispose();
    }
  });

  it('on a terminal the marks are coloured, unless NO_COLOR is set', async () => {
    const world = await freshWorld();
    try {
      const coloured = await world.run(['doctor', '--profile', world.profile], { tty: true, env: { TERM: 'xterm', NO_COLOR: undefined, CI: undefined } });
      assert.equal(coloured.code, 0, coloured.stdout);
      assert.ok(coloured.stdout.includes('\u001b[32m✔\u001b[0m config'), coloured.stdout);
      const plain = await world.run(['doctor', '--profile', world.profile], { tty: true, env: { TERM: 'xterm', NO_COLOR: '1' } });
      assert.equal(plain.code, 0, plain.stdout);
      assert.ok(!plain.stdout.includes('\u001b['), plain.stdout);
      assert.match(plain.stdout, /^✔ config /m);
    } finally {
      await world.dispose();
    }
  });

  it('Vault sealed: the vault check fails and doctor exits 6, after reporting everything', async () => {
    const world = await freshWorld();
    try {
      sandbox.vault.seal();
      const { result, report, check } = await doctorJson(world);
      sandbox.vault.unseal();
      assert.equal(result.code, 6);
      assert.equal(report.ok, false);
      assert.equal(check('vault').status, 'fail');
      assert.match(check('vault').detail, /is sealed/);
      assert.match(check('vault').hint ?? '', /unseal/);
      assert.equal(check('issuer').status, 'ok');
      assert.equal(check('keychain').status, 'ok');

      sandbox.vault.seal();
      const human = await world.run(['doctor', '--profile', world.profile]);
      sandbox.vault.unseal();
      assert.equal(human.code, 6);
      assert.match(human.stderr, /^✘ vault +Vault .* is sealed\.$/m);
      assert.match(human.stderr, /^ +hint: Ask your Vault operators to unseal it/m);
      assert.match(human.stderr, /^doctor: .*1 failed \(vault\) — exit 6 \(vault\)\.$/m);
    } finally {
      sandbox.vault.unseal();
      await world.dispose();
    }
  });

  it('issuer down: the issuer check fails with exit 6, Vault is still checked', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, { ...sandbox, issuer: 'http://127.0.0.1:9/dex' });
      const started = Date.now();
      const { result, check } = await doctorJson(world);
      assert.equal(result.code, 6);
      assert.equal(check('issuer').status, 'fail');
      assert.match(check('issuer').detail, /Cannot reach the issuer at http:\/\/127\.0\.0\.1:9\/dex/);
      assert.equal(check('vault').status, 'ok');
      // The clock is still compared against the server that answered.
      assert.equal(check('clock').status, 'ok');
      assert.match(check('clock').detail, /Vault/);
      assert.doesNotMatch(check('clock').detail, /issuer/);
      assert.ok(Date.now() - started < 15_000);
    } finally {
      await world.dispose();
    }
  });

  it('no keychain: the keychain check fails with its error (exit 7), quickly; the session is skipped', async () => {
    const world = await freshWorld();
    const runtime = await mkdtemp(join(world.home, 'run-'));
    try {
      const started = Date.now();
      const { result, check } = await doctorJson(world, { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent', XDG_RUNTIME_DIR: runtime });
      assert.equal(result.code, 7);
      assert.equal(check('keychain').status, 'fail');
      assert.match(check('keychain').detail, /The OS keychain is not available/);
      assert.match(check('keychain').hint ?? '', /gnome-keyring|Secret Service/);
      assert.equal(check('session').status, 'skip');
      assert.equal(check('vault').status, 'ok');
      assert.equal(check('issuer').status, 'ok');
      assert.ok(Date.now() - started < 10_000);
    } finally {
      await world.dispose();
    }
  });

  it('a locked keyring, which still answers reads: the keychain check fails naming the lock (exit 7), and leaves no probe behind', async () => {
    const world = await freshWorld();
    try {
      const locked = join(ROOT, 'test', 'sandbox', 'with-keyring.sh');
      const result = await runProcess('bash', [locked, '--locked', TNG, 'doctor', '--json', '--profile', world.profile], world.env);
      const report = JSON.parse(result.stdout) as DoctorJson;
      const keychain = report.checks.find((c) => c.name === 'keychain');
      assert.equal(result.code, 7, result.stdout + result.stderr);
      assert.deepEqual([keychain?.status, keychain?.detail], ['fail', 'The OS keychain is locked.']);
      assert.match(keychain?.hint ?? '', /Unlock the login keyring/);
      // In a keyring of its own, doctor writes the probe, reads it back and deletes it: nothing is left.
      const own = await runProcess(
        'bash',
        [locked, 'bash', '-c', '"$0" doctor --json --profile "$1"; echo "doctor exit $?"; secret-tool search --all service tng 2>&1', TNG, world.profile],
        world.env,
      );
      const [reportText, rest] = own.stdout.split(/(?<=\n)(?=doctor exit)/);
      const answered = JSON.parse(reportText ?? '') as DoctorJson;
      assert.deepEqual(answered.checks.find((c) => c.name === 'keychain')?.detail, 'the OS keychain stores, reads and deletes an item (service "tng")');
      assert.equal(rest, 'doctor exit 0\n', own.stdout + own.stderr);
    } finally {
      await world.dispose();
    }
  });

  it('plaintext credentials: AKIA keys in ~/.aws/credentials and ~/.vault-token are warnings, and no value is printed', async () => {
    const world = await freshWorld();
    const akia = 'AKIAIOSFODNN7EXAMPLE';
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const vaultToken = 'hvs.CAESIJplaintextVaultTokenValue';
    try {
      await mkdir(join(world.home, '.aws'), { recursive: true });
      await writeFile(
        join(world.home, '.aws', 'credentials'),
        [
          '# old laptop keys',
          '[default]',
          `aws_access_key_id = ${akia}`,
          `aws_secret_access_key = ${secret}`,
          '[profile legacy]',
          `aws_access_key_id=${akia}`,
          `aws_secret_access_key=${secret}`,
          '[temporary]',
          'aws_access_key_id = ASIAIOSFODNN7EXAMPLE',
          `aws_secret_access_key = ${secret}`,
          'aws_session_token = IQoJb3JpZ2luX2VjEXAMPLE',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      await writeFile(join(world.home, '.vault-token'), vaultToken, { mode: 0o600 });
      const { result, report, check } = await doctorJson(world);
      assert.equal(result.code, 0);
      assert.equal(report.ok, true);
      const plaintext = check('plaintext');
      assert.equal(plaintext.status, 'warn');
      assert.match(plaintext.detail, new RegExp(`${join(world.home, '.aws', 'credentials')} holds long-lived AWS access keys \\(AKIA…\\) in \\[default\\], \\[profile legacy\\];`));
      assert.doesNotMatch(plaintext.detail, /temporary/);
      assert.match(plaintext.detail, new RegExp(`${join(world.home, '.vault-token')} holds a Vault token in plaintext`));
      const human = await world.run(['doctor', '--profile', world.profile]);
      assert.equal(human.code, 0);
      assert.match(human.stderr, /^! plaintext /m);
      for (const output of [result.stdout, human.stdout + human.stderr]) {
        for (const value of [akia, secret, vaultToken, 'ASIAIOSFODNN7EXAMPLE', 'IQoJb3JpZ2luX2VjEXAMPLE']) {
          assert.ok(!output.includes(value), `${value} was printed`);
        }
      }
    } finally {
      await world.dispose();
    }
  });

  it('no profile configured: config fails (exit 2), profile checks are skipped, keychain and plaintext still run', async () => {
    const world = await createWorld();
    try {
      await writeFile(join(world.home, '.vault-token'), 'hvs.whatever', { mode: 0o600 });
      const { result, report, check } = await doctorJson(world, {}, null);
      assert.equal(result.code, 2);
      assert.equal(report.profile, null);
      assert.deepEqual(statuses(report), { config: 'fail', issuer: 'skip', vault: 'skip', clock: 'skip', keychain: 'ok', session: 'skip', authenticator: 'ok', plaintext: 'warn' });
      assert.match(check('config').detail, /No profile is configured/);
      assert.match(check('config').hint ?? '', /tng init/);

      const unknown = await world.run(['doctor', '--profile', 'nope']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^✘ config +Unknown profile "nope"/m);
    } finally {
      await world.dispose();
    }
  });
});

describe('tng doctor and a skewed clock', () => {
  it('warns naming Vault and the skew in seconds; the issuer agrees with this machine; exit 0', async () => {
    const world = await freshWorld();
    try {
      sandbox.vault.setClockSkew(300);
      const { result, check } = await doctorJson(world);
      assert.equal(result.code, 0);
      assert.equal(check('vault').status, 'ok');
      const clock = check('clock');
      assert.equal(clock.status, 'warn');
      const match = /^the local clock is (\d+) s behind Vault at (\S+) \((Date header|server_time_utc)\)$/.exec(clock.detail);
      assert.ok(match, clock.detail);
      assert.ok(Math.abs(Number(match[1]) - 300) <= 2, clock.detail);
      assert.equal(match[2], sandbox.vaultAddr);
      assert.match(clock.hint ?? '', /agrees with the issuer, so the clock of Vault is probably wrong/);

      const human = await world.run(['doctor', '--profile', world.profile]);
      assert.equal(human.code, 0);
      assert.match(human.stderr, /^! clock +the local clock is \d+ s behind Vault/m);
      assert.match(human.stderr, /^doctor: 6 ok, 2 warnings \(clock, session\), 0 failed/m);

      // The other way round, and within the limit.
      sandbox.vault.setClockSkew(-120);
      const ahead = await doctorJson(world);
      assert.match(ahead.check('clock').detail, /the local clock is 1(19|20|21) s ahead of Vault/);
      sandbox.vault.setClockSkew(10);
      const close = await doctorJson(world);
      assert.equal(close.check('clock').status, 'ok');
      assert.match(close.check('clock').detail, /\b(9|10|11) s behind Vault/);
    } finally {
      sandbox.vault.setClockSkew(0);
      await world.dispose();
    }
  });
});

describe('tng doctor and security keys', () => {
  it('reports the keys present, their capabilities, and whether one holds the enrolled credential', async () => {
    const { startVirtualAuthenticator } = await import('../sandbox/authenticator/index.ts');
    const key = await startVirtualAuthenticator({ pin: '123456' });
    const other = await startVirtualAuthenticator();
    const world = await createWorld();
    try {
      world.env.TNG_FIDO2_DEVICE = key.device;
      await initProfile(world, sandbox);
      const before = await world.run(['doctor', '--json', '--profile', world.profile]);
      const beforeCheck = (JSON.parse(before.stdout) as { checks: Array<{ name: string; status: string; detail: string }> }).checks.find((c) => c.name === 'authenticator');
      assert.equal(beforeCheck?.status, 'ok');
      assert.match(beforeCheck?.detail ?? '', /1 key: YubiKey 5 Series \(FIDO_2_1, hmac-secret, PIN set\)/);

      const enrolled = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
      assert.equal(enrolled.code, 0, enrolled.stderr);
      const both = await world.run(['doctor', '--json', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: `${key.device},${other.device}` } });
      const bothCheck = (JSON.parse(both.stdout) as { checks: Array<{ name: string; status: string; detail: string }> }).checks.find((c) => c.name === 'authenticator');
      assert.equal(bothCheck?.status, 'ok');
      assert.match(bothCheck?.detail ?? '', /2 keys: .*, enrolled; .*, not enrolled here/);
      const touches = key.stats().touches + other.stats().touches;
      assert.equal(touches, 2, 'doctor itself never asks for a touch (the two are the enrolment\'s)');

      const wrongKey = await world.run(['doctor', '--json', '--profile', world.profile], { env: { TNG_FIDO2_DEVICE: other.device } });
      const wrongCheck = (JSON.parse(wrongKey.stdout) as { checks: Array<{ name: string; status: string; hint: string | null }> }).checks.find((c) => c.name === 'authenticator');
      assert.equal(wrongCheck?.status, 'warn');
      assert.match(wrongCheck?.hint ?? '', /None of these keys is enrolled/);
    } finally {
      await world.dispose();
      await key.close();
      await other.close();
    }
  });
});

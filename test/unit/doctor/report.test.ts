import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode } from '../../../src/errors.ts';
import { exitCodeOf, fail, formatHuman, ok, skip, summaryLine, toJson, warn, type CheckResult } from '../../../src/doctor/report.ts';

const healthy: CheckResult[] = [
  ok('config', 'profile "work" is valid'),
  ok('issuer', 'discovery works, JWKS holds 1 key'),
  ok('vault', 'Vault 1.18.3: initialized, unsealed, active'),
  ok('clock', 'in step'),
  ok('keychain', 'the OS keychain answers'),
  warn('session', 'no session stored for profile "work"', 'Run `tng login --profile work`.'),
  ok('plaintext', 'nothing found'),
];

describe('the exit status', () => {
  it('is 0 when nothing failed, warnings included', () => {
    assert.equal(exitCodeOf(healthy), 0);
  });

  it('is the exit code of the first failed check in report order, whatever the order they finished in', () => {
    const checks = [
      fail('keychain', 'The OS keychain is not available.', 'Start gnome-keyring.', ExitCode.keychain),
      fail('vault', 'Vault is sealed.', 'Unseal it.', ExitCode.unavailable),
      ok('config', 'fine'),
    ];
    assert.equal(exitCodeOf(checks), 6);
    assert.equal(exitCodeOf([fail('config', 'No profile.', 'tng init', ExitCode.usage), ...checks]), 2);
    assert.equal(exitCodeOf([ok('config', 'fine'), checks[0] as CheckResult]), 7);
  });

  it('a failure without an exit code counts as an internal error', () => {
    assert.equal(exitCodeOf([{ name: 'issuer', status: 'fail', detail: 'x', hint: 'y' }]), ExitCode.internal);
  });
});

describe('--json', () => {
  it('is {profile, ok, checks:[{name,status,detail,hint}]} in report order, without internal fields', () => {
    const json = toJson({ profile: 'work', checks: [...healthy].reverse() });
    assert.deepEqual(Object.keys(json), ['profile', 'ok', 'checks']);
    assert.equal(json.profile, 'work');
    assert.equal(json.ok, true);
    assert.deepEqual(json.checks.map((c) => c.name), ['config', 'issuer', 'vault', 'clock', 'keychain', 'session', 'plaintext']);
    for (const check of json.checks) assert.deepEqual(Object.keys(check), ['name', 'status', 'detail', 'hint']);
    assert.equal(json.checks[0]?.hint, null);
    assert.equal(json.checks[5]?.hint, 'Run `tng login --profile work`.');
  });

  it('ok is false when a check failed; the profile may be null; details stay on one line', () => {
    const json = toJson({ profile: null, checks: [fail('config', 'No profile\nis configured.', 'Run\n tng init.', 2), skip('issuer', 'skipped')] });
    assert.equal(json.ok, false);
    assert.equal(json.profile, null);
    assert.equal(json.checks[0]?.detail, 'No profile is configured.');
    assert.equal(json.checks[0]?.hint, 'Run tng init.');
    assert.equal(json.checks[1]?.hint, null);
  });
});

describe('human output', () => {
  it('one line per check with ✔ ! ✘ - marks, hints beneath warnings and failures, then a summary', () => {
    const checks = [
      fail('config', 'Invalid config.', 'Fix it.', 2),
      skip('issuer', 'skipped: the profile is not usable (see config)'),
      ...healthy.slice(4),
    ];
    const lines = formatHuman({ profile: null, checks }, false);
    assert.deepEqual(lines, [
      '✘ config         Invalid config.',
      '                 hint: Fix it.',
      '- issuer         skipped: the profile is not usable (see config)',
      '✔ keychain       the OS keychain answers',
      '! session        no session stored for profile "work"',
      '                 hint: Run `tng login --profile work`.',
      '✔ plaintext      nothing found',
      'doctor: 2 ok, 1 warning (session), 1 failed (config), 1 skipped — exit 2 (config).',
    ]);
    assert.ok(lines.every((line) => !line.includes('\u001b[')));
  });

  it('colours only the marks, and only when asked', () => {
    const lines = formatHuman({ profile: 'work', checks: healthy }, true);
    assert.equal(lines[0], '\u001b[32m✔\u001b[0m config         profile "work" is valid');
    assert.ok((lines[5] ?? '').startsWith('\u001b[33m!\u001b[0m session'), lines[5]);
  });

  it('summarises a clean run and a run with only warnings', () => {
    assert.equal(summaryLine(healthy.slice(0, 5)), 'doctor: 5 ok, 0 warnings, 0 failed — all good.');
    assert.equal(summaryLine(healthy), 'doctor: 6 ok, 1 warning (session), 0 failed — usable, but see the warnings.');
  });
});

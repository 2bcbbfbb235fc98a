import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCOPES, validateProfile } from '../../../src/config/profile.ts';
import { TngError } from '../../../src/errors.ts';

const minimal = { issuer: 'https://dex.example.com/dex', client_id: 'tng', vault_addr: 'https://vault.example.com/', vault_role: 'engineer' };

function exitCodeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof TngError ? error.exitCode : -1;
  }
  return undefined;
}

describe('validateProfile', () => {
  it('applies the contract defaults', () => {
    const profile = validateProfile('work', minimal);
    assert.deepEqual(profile.scopes, DEFAULT_SCOPES);
    assert.equal(profile.vaultAuth, 'jwt');
    assert.equal(profile.vaultAuthMount, 'jwt');
    assert.equal(profile.awsMount, 'aws');
    assert.equal(profile.awsCredentialType, 'sts');
    assert.equal(profile.awsTtlSeconds, 900);
    assert.equal(profile.touch, 'never');
    assert.equal(profile.vaultAddr, 'https://vault.example.com');
    assert.equal(profile.redirectPort, undefined);
  });

  it('defaults the oidc mount with vault_auth = "oidc" and touch to "login" once enrolled', () => {
    const fido2 = [{ credential_id: 'a', public_key: 'b', aaguid: 'c', rp_id: 'tng:dex.example.com', salt: 'd', uv: 'discouraged' }];
    const profile = validateProfile('work', { ...minimal, vault_auth: 'oidc', fido2 });
    assert.equal(profile.vaultAuthMount, 'oidc');
    assert.equal(profile.touch, 'login');
  });

  it('names missing required keys and unknown keys (exit 2)', () => {
    assert.throws(() => validateProfile('work', { issuer: minimal.issuer }), /lacks client_id, vault_addr, vault_role/);
    assert.throws(() => validateProfile('work', { ...minimal, vault_adr: 'x' }), /vault_adr is not a known key/);
    assert.equal(exitCodeOf(() => validateProfile('work', { ...minimal, vault_adr: 'x' })), 2);
    // The hint names no flag that does not exist: an unknown key is removed, a damaged fido2 entry re-enrolled.
    const hintOf = (table: unknown) => {
      try {
        validateProfile('work', table);
      } catch (error) {
        return (error as { hint: string }).hint;
      }
      return undefined;
    };
    assert.equal(hintOf({ ...minimal, vault_adr: 'x' }), 'Remove or rename it in the config file; `tng init --help` lists the keys (as --kebab-case flags).');
    assert.match(hintOf({ ...minimal, extra: { a: 1 } }) ?? '', /^Remove or rename it/);
    const entry = { credential_id: 'c', public_key: 'p', aaguid: 'a', rp_id: 'tng', salt: 's', uv: 'sometimes' };
    assert.match(hintOf({ ...minimal, fido2: [entry] }) ?? '', /^Fix the \[\[profiles\.work\.fido2\]\] entry .* enrol the key again\.$/);
    assert.match(hintOf({ ...minimal, vault_auth: 'bogus' }) ?? '', /tng init --profile work --vault-auth VALUE/);
    // Names every object inherits are no profile keys either (found by the config fuzzing).
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const table: unknown = JSON.parse(`${JSON.stringify(minimal).slice(0, -1)},"${key}":"x"}`); // as a TOML parser builds it: an own key
      assert.throws(() => validateProfile('work', table), new RegExp(`${key} is not a known key`));
    }
  });

  it('checks types, enums, ports and durations', () => {
    assert.throws(() => validateProfile('w', { ...minimal, redirect_port: 0 }), /port number/);
    assert.throws(() => validateProfile('w', { ...minimal, redirect_port: '8250' }), /port number/);
    assert.throws(() => validateProfile('w', { ...minimal, touch: 'always' }), /one of "login", "exec", "never"/);
    assert.throws(() => validateProfile('w', { ...minimal, aws_ttl: 'soon' }), /duration/);
    assert.throws(() => validateProfile('w', { ...minimal, scopes: 'openid' }), /list of strings/);
    assert.throws(() => validateProfile('w', { ...minimal, fido2: [{ credential_id: 'x' }] }), /fido2\.public_key is missing/);
    assert.equal(validateProfile('w', { ...minimal, aws_ttl: '1h30m' }).awsTtlSeconds, 5400);
  });

  it('requires https except on loopback', () => {
    assert.throws(() => validateProfile('w', { ...minimal, issuer: 'http://dex.example.com/dex' }), /https:\/\//);
    assert.throws(() => validateProfile('w', { ...minimal, vault_addr: 'ftp://vault' }), /https:\/\//);
    for (const host of ['127.0.0.1:5556', 'localhost:8200', '[::1]:8200', '127.8.9.10']) {
      assert.doesNotThrow(() => validateProfile('w', { ...minimal, vault_addr: `http://${host}` }));
    }
  });
});

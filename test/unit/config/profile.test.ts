import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCOPES, validateProfile } from '../../../src/config/profile.ts';
import { TngError } from '../../../src/errors.ts';

/** An enrolled key's entry as `tng enroll` writes it. */
const ENTRY = {
  credential_id: 'Y3JlZGVudGlhbC1pZA',
  public_key: 'pQECAyYgASFYIA',
  aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8',
  rp_id: 'tng:dex.example.com',
  salt: Buffer.alloc(32, 7).toString('base64url'),
  uv: 'discouraged',
};
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
    const fido2 = [ENTRY];
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
    const entry = { ...ENTRY, uv: 'sometimes' };
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

  it('checks each field of an enrolled key as tng enroll writes it (exit 2, not a failure at the first touch)', () => {
    for (const [field, value, problem] of [
      ['salt', 'AAAA', /fido2\.salt must be 32 bytes in base64url/],
      ['salt', `${'A'.repeat(42)}==`, /fido2\.salt must be 32 bytes in base64url/],
      ['credential_id', '!!!', /fido2\.credential_id must be base64url/],
      ['public_key', 'pQECAyYg AQ', /fido2\.public_key must be base64url/],
      ['aaguid', 'xyz', /fido2\.aaguid must be a UUID/],
      ['rp_id', '', /fido2\.rp_id must not be empty/],
    ] as const) {
      assert.throws(
        () => validateProfile('w', { ...minimal, fido2: [{ ...ENTRY, [field]: value }] }),
        (error: unknown) => error instanceof TngError && error.exitCode === 2 && problem.test(error.message),
        `${field} = ${value}`,
      );
    }
    assert.doesNotThrow(() => validateProfile('w', { ...minimal, fido2: [ENTRY] }));
  });

  it('refuses a user name or password in the issuer or Vault URL, without repeating it', () => {
    for (const key of ['issuer', 'vault_addr'] as const) {
      const url = key === 'issuer' ? 'https://user:s3cretpw@dex.example.com/dex' : 'http://vu:vaultpw@127.0.0.1:8200';
      assert.throws(
        () => validateProfile('w', { ...minimal, [key]: url }),
        (error: unknown) => /must not carry a user name or password/.test((error as Error).message) && !/s3cretpw|vaultpw/.test(`${(error as Error).message} ${(error as { hint: string }).hint}`),
      );
    }
  });

  it('requires https except on loopback', () => {
    assert.throws(() => validateProfile('w', { ...minimal, issuer: 'http://dex.example.com/dex' }), /https:\/\//);
    assert.throws(() => validateProfile('w', { ...minimal, vault_addr: 'ftp://vault' }), /https:\/\//);
    for (const host of ['127.0.0.1:5556', 'localhost:8200', '[::1]:8200', '127.8.9.10']) {
      assert.doesNotThrow(() => validateProfile('w', { ...minimal, vault_addr: `http://${host}` }));
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFLICTING_AWS_VARIABLES, childEnvironment } from '../../../src/exec/env.ts';

const inherited = { PATH: '/bin', HOME: '/home/u', AWS_PROFILE: 'prod', AWS_ACCESS_KEY_ID: 'AKIAOLD', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/x', AWS_REGION: 'us-west-2', VAULT_TOKEN: 'old' };

describe('childEnvironment', () => {
  it('with the endpoint: removes competing AWS variables, sets the container variables, Vault and tng ids', () => {
    const env = childEnvironment({
      inherited,
      profile: 'work',
      auditId: 'id-1',
      vault: { addr: 'https://vault', token: 'hvs.new', namespace: 'team' },
      aws: { mode: 'endpoint', url: 'http://127.0.0.1:1/x', authorization: 'tok', region: 'eu-west-1' },
    });
    for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_SECRET_ACCESS_KEY']) assert.equal(env[name], undefined, name);
    assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, 'http://127.0.0.1:1/x');
    assert.equal(env.AWS_CONTAINER_AUTHORIZATION_TOKEN, 'tok');
    assert.equal(env.AWS_REGION, 'eu-west-1');
    assert.equal(env.AWS_DEFAULT_REGION, 'eu-west-1');
    assert.deepEqual([env.VAULT_ADDR, env.VAULT_TOKEN, env.VAULT_NAMESPACE], ['https://vault', 'hvs.new', 'team']);
    assert.deepEqual([env.TNG_PROFILE, env.TNG_AUDIT_ID, env.PATH, env.HOME], ['work', 'id-1', '/bin', '/home/u']);
  });

  it('with static keys: the three variables (no session token for IAM-user keys) and the expiry', () => {
    const env = childEnvironment({
      inherited,
      profile: 'p',
      auditId: 'a',
      aws: { mode: 'static', credentials: { accessKeyId: 'AKIANEW', secretAccessKey: 'sec', issuedAt: 0, expiresAt: 900, role: 'r' } },
    });
    assert.equal(env.AWS_ACCESS_KEY_ID, 'AKIANEW');
    assert.equal(env.AWS_SECRET_ACCESS_KEY, 'sec');
    assert.equal(env.AWS_SESSION_TOKEN, undefined);
    assert.equal(env.AWS_CREDENTIAL_EXPIRATION, '1970-01-01T00:15:00.000Z');
    assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
    assert.equal(env.AWS_PROFILE, undefined);
    assert.equal(env.AWS_REGION, 'us-west-2', 'an inherited region stays when the profile sets none');
  });

  it('removes the older key names SDKs still read, and an inherited namespace the profile does not set', () => {
    const env = childEnvironment({
      inherited: { ...inherited, AWS_ACCESS_KEY: 'AKIALEGACY', AWS_SECRET_KEY: 'legacy-secret', VAULT_NAMESPACE: 'other-team' },
      profile: 'p',
      auditId: 'a',
      vault: { addr: 'https://vault', token: 'hvs.new' },
      aws: { mode: 'endpoint', url: 'http://127.0.0.1:1/x', authorization: 'tok' },
    });
    assert.equal(env.AWS_ACCESS_KEY, undefined);
    assert.equal(env.AWS_SECRET_KEY, undefined);
    assert.equal(env.VAULT_NAMESPACE, undefined);
    assert.equal(childEnvironment({ inherited: { VAULT_NAMESPACE: 'kept' }, profile: 'p', auditId: 'a' }).VAULT_NAMESPACE, 'kept', 'without Vault from tng, the namespace stays');
  });

  it('without AWS from tng, inherited AWS settings stay; without Vault, the inherited token stays', () => {
    const env = childEnvironment({ inherited, profile: 'p', auditId: 'a' });
    assert.equal(env.AWS_PROFILE, 'prod');
    assert.equal(env.AWS_ACCESS_KEY_ID, 'AKIAOLD');
    assert.equal(env.VAULT_TOKEN, 'old');
    assert.ok(CONFLICTING_AWS_VARIABLES.includes('AWS_WEB_IDENTITY_TOKEN_FILE'));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsCredentialsPaths, describeSections, plaintextCheck, scanAwsCredentials, type PlaintextFiles } from '../../../src/doctor/plaintext.ts';

const LONG = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TEMPORARY = 'ASIAIOSFODNN7EXAMPLE';

describe('scanning an AWS credentials file', () => {
  it('finds long-lived AKIA keys per section, with their lines', () => {
    const text = [
      '[default]',
      `aws_access_key_id = ${LONG}`,
      `aws_secret_access_key = ${SECRET}`,
      '',
      '[profile ci]',
      `AWS_ACCESS_KEY_ID=${LONG}`,
    ].join('\n');
    assert.deepEqual(scanAwsCredentials(text), [
      { section: 'default', line: 2 },
      { section: 'profile ci', line: 6 },
    ]);
  });

  it('ignores temporary ASIA keys, commented-out keys and other entries', () => {
    const text = [
      '# [old]',
      `# aws_access_key_id = ${LONG}`,
      `; aws_access_key_id = ${LONG}`,
      '[sts]',
      `aws_access_key_id = ${TEMPORARY}`,
      'aws_session_token = IQoJb3JpZ2luX2VjEXAMPLE',
      '[notes]',
      `description = copied from ${LONG}`,
      `aws_access_key_id_old = ${LONG}`,
    ].join('\n');
    assert.deepEqual(scanAwsCredentials(text), []);
  });

  it('reads values with inline comments, quotes, CRLF line ends and a BOM', () => {
    const text = `\uFEFF[ team ]  # shared\r\naws_access_key_id = ${LONG} ; rotate me\r\n[quoted]\r\naws_access_key_id = "${LONG}"\r\n[before]\r\naws_access_key_id =\r\n`;
    assert.deepEqual(scanAwsCredentials(text), [
      { section: 'team', line: 2 },
      { section: 'quoted', line: 4 },
    ]);
  });

  it('reports a key above every section, and names each section once', () => {
    const keys = scanAwsCredentials(`aws_access_key_id = ${LONG}\n[a]\naws_access_key_id = ${LONG}\naws_access_key_id = ${LONG}\n[profile b]\naws_access_key_id=${LONG}\n`);
    assert.equal(keys.length, 4);
    assert.equal(describeSections(keys), '(before any section), [a], [profile b]');
  });
});

describe('which credentials files are scanned', () => {
  it('~/.aws/credentials and ~/.aws/config, and the files AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE name (with ~ expanded)', () => {
    assert.deepEqual(awsCredentialsPaths({}, '/home/u'), ['/home/u/.aws/credentials', '/home/u/.aws/config']);
    assert.deepEqual(awsCredentialsPaths({ AWS_SHARED_CREDENTIALS_FILE: '~/work/creds' }, '/home/u'), ['/home/u/work/creds', '/home/u/.aws/credentials', '/home/u/.aws/config']);
    assert.deepEqual(awsCredentialsPaths({ AWS_SHARED_CREDENTIALS_FILE: '/home/u/.aws/credentials' }, '/home/u'), ['/home/u/.aws/credentials', '/home/u/.aws/config']);
    assert.deepEqual(awsCredentialsPaths({ AWS_CONFIG_FILE: '~/cfg' }, '/home/u'), ['/home/u/.aws/credentials', '/home/u/cfg', '/home/u/.aws/config']);
  });
});

function fakeFiles(contents: Record<string, string | Error>): PlaintextFiles {
  const lookup = (path: string) => {
    const value = contents[path];
    if (value instanceof Error) throw value;
    return value;
  };
  return {
    read: async (path) => lookup(path),
    isFile: async (path) => lookup(path) !== undefined,
  };
}

describe('the plaintext check', () => {
  const env = { HOME: '/home/u' };

  it('is ok when nothing is lying around, naming what it looked at', async () => {
    const check = await plaintextCheck(env, fakeFiles({ '/home/u/.aws/credentials': `[sts]\naws_access_key_id = ${TEMPORARY}\n` }));
    assert.equal(check.status, 'ok');
    assert.match(check.detail, /\/home\/u\/\.aws\/credentials/);
    assert.match(check.detail, /\/home\/u\/\.vault-token/);
  });

  it('an empty ~/.vault-token, or one holding only whitespace, holds no token', async () => {
    for (const text of ['', '\n', '  \r\n']) {
      const check = await plaintextCheck(env, fakeFiles({ '/home/u/.vault-token': text }));
      assert.equal(check.status, 'ok', JSON.stringify(text));
    }
  });

  it('warns about AKIA keys and ~/.vault-token, naming files and sections but never a value', async () => {
    const files = fakeFiles({
      '/home/u/.aws/credentials': `[default]\naws_access_key_id = ${LONG}\naws_secret_access_key = ${SECRET}\n[profile x]\naws_access_key_id = ${LONG}\n`,
      '/home/u/.vault-token': 'hvs.CAESIplaintexttoken',
    });
    const check = await plaintextCheck(env, files);
    assert.equal(check.status, 'warn');
    assert.match(check.detail, /\/home\/u\/\.aws\/credentials holds long-lived AWS access keys \(AKIA…\) in \[default\], \[profile x\]/);
    assert.match(check.detail, /\/home\/u\/\.vault-token holds a Vault token/);
    assert.match(check.hint ?? '', /IAM access keys/);
    assert.match(check.hint ?? '', /delete \/home\/u\/\.vault-token/);
    const printed = JSON.stringify(check);
    for (const secret of [LONG, SECRET, 'hvs.CAESIplaintexttoken', 'AKIAIOSF']) assert.ok(!printed.includes(secret), `${secret} leaked: ${printed}`);
  });

  it('scans the file AWS_SHARED_CREDENTIALS_FILE names', async () => {
    const check = await plaintextCheck({ ...env, AWS_SHARED_CREDENTIALS_FILE: '/etc/aws/creds' }, fakeFiles({ '/etc/aws/creds': `[ci]\naws_access_key_id=${LONG}\n` }));
    assert.equal(check.status, 'warn');
    assert.match(check.detail, /^\/etc\/aws\/creds holds long-lived AWS access keys \(AKIA…\) in \[ci\]$/);
  });

  it('an unreadable credentials file is a warning with its error code', async () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const check = await plaintextCheck(env, fakeFiles({ '/home/u/.aws/credentials': denied }));
    assert.equal(check.status, 'warn');
    assert.match(check.detail, /cannot read \/home\/u\/\.aws\/credentials \(EACCES\)/);
    assert.match(check.hint ?? '', /permissions/);
  });
});

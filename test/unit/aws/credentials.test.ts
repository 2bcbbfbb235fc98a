import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountOf, isFreshEnough, type AwsCredentials } from '../../../src/aws/credentials.ts';

const creds = (issuedAt: number, expiresAt: number): AwsCredentials => ({ accessKeyId: 'ASIA', secretAccessKey: 's', issuedAt, expiresAt, role: 'deploy' });

describe('credential freshness', () => {
  it('reuses while max(5 minutes, a third of the lifetime) remains', () => {
    // 15-minute credentials: 5 minutes is the margin.
    assert.equal(isFreshEnough(creds(0, 900), 599), true);
    assert.equal(isFreshEnough(creds(0, 900), 601), false);
    // 1-hour credentials: a third (20 minutes) is the margin.
    assert.equal(isFreshEnough(creds(0, 3600), 2400), true);
    assert.equal(isFreshEnough(creds(0, 3600), 2401), false);
    assert.equal(isFreshEnough(creds(0, 900), 1000), false);
  });
  it('finds the account in an ARN', () => {
    assert.equal(accountOf('arn:aws:sts::123456789012:assumed-role/deploy/tng-x'), '123456789012');
    assert.equal(accountOf(undefined), undefined);
    assert.equal(accountOf('nonsense'), undefined);
  });
});

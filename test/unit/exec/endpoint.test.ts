import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AwsCredentials } from '../../../src/aws/credentials.ts';
import { startCredentialsEndpoint } from '../../../src/exec/endpoint.ts';

const credentials: AwsCredentials = { accessKeyId: 'ASIAX', secretAccessKey: 'secret', sessionToken: 'token', issuedAt: 0, expiresAt: 4_000_000_000, arn: 'arn:aws:sts::123456789012:assumed-role/deploy/tng-1', role: 'deploy' };

describe('credentials endpoint', () => {
  it('serves the container-credentials JSON to the right token only', async () => {
    const warnings: string[] = [];
    const endpoint = await startCredentialsEndpoint({ credentials: async () => credentials, sessionEndsAt: async () => 4_000_000_000, now: () => Date.now(), warn: (l) => warnings.push(l) });
    try {
      const url = new URL(endpoint.url);
      assert.equal(url.hostname, '127.0.0.1');
      const ok = await fetch(endpoint.url, { headers: { Authorization: endpoint.authorization } });
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { AccessKeyId: 'ASIAX', SecretAccessKey: 'secret', Token: 'token', Expiration: new Date(4_000_000_000_000).toISOString(), AccountId: '123456789012' });
      assert.equal((await fetch(endpoint.url)).status, 401);
      assert.equal((await fetch(endpoint.url, { headers: { Authorization: `Bearer ${endpoint.authorization}` } })).status, 403);
      assert.equal((await fetch(endpoint.url, { headers: { Authorization: endpoint.authorization.slice(1) + 'x' } })).status, 403);
      assert.equal((await fetch(`${url.origin}/other`, { headers: { Authorization: endpoint.authorization } })).status, 404);
      assert.deepEqual(warnings, []);
    } finally {
      endpoint.close();
    }
  });

  it('stops serving once the session has ended, and says so', async () => {
    const warnings: string[] = [];
    const endpoint = await startCredentialsEndpoint({ credentials: async () => credentials, sessionEndsAt: async () => Date.now() / 1000 - 1, now: () => Date.now(), warn: (l) => warnings.push(l) });
    try {
      const response = await fetch(endpoint.url, { headers: { Authorization: endpoint.authorization } });
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { Code: string }).Code, 'SessionEnded');
      assert.match(warnings.join('\n'), /tng login/);
    } finally {
      endpoint.close();
    }
  });

  it('a failing refresh is a 503 and a warning, not a crash', async () => {
    const warnings: string[] = [];
    const endpoint = await startCredentialsEndpoint({ credentials: async () => Promise.reject(new Error('Vault down')), sessionEndsAt: async () => 4_000_000_000, now: () => Date.now(), warn: (l) => warnings.push(l) });
    try {
      assert.equal((await fetch(endpoint.url, { headers: { Authorization: endpoint.authorization } })).status, 503);
      assert.match(warnings.join('\n'), /Vault down/);
    } finally {
      endpoint.close();
    }
  });
});

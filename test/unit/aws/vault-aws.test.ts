import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAwsCredentials } from '../../../src/aws/vault-aws.ts';
import { TngError } from '../../../src/errors.ts';
import { VaultClient } from '../../../src/vault/client.ts';

const NOW = 1_700_000_000;
const request = { mount: 'aws', role: 'deploy', type: 'creds', ttlSeconds: 900, sessionName: 'tng-x' } as const;

function vaultAnswering(body: unknown): VaultClient {
  return new VaultClient({ addr: 'http://127.0.0.1:8200', fetch: async () => new Response(JSON.stringify(body), { status: 200 }), retryDelayMs: () => 0 });
}

function answer(leaseDuration: unknown, ttl: unknown) {
  return { lease_id: '', lease_duration: leaseDuration, renewable: false, data: { access_key: 'ASIAEXAMPLE', secret_key: 'secret', session_token: 'session', ttl } };
}

describe('issueAwsCredentials: the lifetime Vault states', () => {
  it('expires at now + lease_duration, in whole seconds', async () => {
    const credentials = await issueAwsCredentials(vaultAnswering(answer(900, 899)), 't', request, NOW);
    assert.equal(credentials.expiresAt, NOW + 900);
    assert.equal((await issueAwsCredentials(vaultAnswering(answer(899.7, undefined)), 't', request, NOW)).expiresAt, NOW + 899);
  });

  it('a lease under one second is no lifetime: data.ttl is used instead', async () => {
    for (const lease of [5e-324, 0.4, 0, -1, Number.MAX_VALUE, '900']) {
      const credentials = await issueAwsCredentials(vaultAnswering(answer(lease, 899)), 't', request, NOW);
      assert.equal(credentials.expiresAt, NOW + 899, `lease_duration ${String(lease)}`);
    }
  });

  it('with no usable lifetime at all, it is tng\'s own error (exit 6), not credentials that expire as issued', async () => {
    for (const [lease, ttl] of [[5e-324, 5e-324], [0.9, undefined], [0, 0]] as const) {
      await assert.rejects(issueAwsCredentials(vaultAnswering(answer(lease, ttl)), 't', request, NOW), (error: unknown) => {
        assert.ok(error instanceof TngError, String(error));
        assert.equal(error.exitCode, 6);
        assert.match(error.message, /no usable AWS credentials/);
        return true;
      });
    }
  });
});

import assert from 'node:assert/strict';
import { connect } from 'node:net';
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

  it('answers requests sent the moment they connect, several at once, and close() ends kept-alive connections', async () => {
    const endpoint = await startCredentialsEndpoint({ credentials: async () => credentials, sessionEndsAt: async () => 4_000_000_000, now: () => Date.now(), warn: () => undefined });
    const url = new URL(endpoint.url);
    /** A raw HTTP/1.1 request written on connect, before tng has loaded its HTTP server; resolves with the reply and when the socket closes. */
    const raw = () => {
      const socket = connect(Number(url.port), url.hostname);
      socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${endpoint.authorization}\r\nConnection: keep-alive\r\n\r\n`);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const replied = new Promise<string>((resolve) => {
        const check = () => (text.includes('"AccessKeyId"') ? resolve(text) : undefined);
        socket.on('data', check);
      });
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      return { replied, closed };
    };
    try {
      const clients = Array.from({ length: 5 }, raw);
      for (const reply of await Promise.all(clients.map((client) => client.replied))) {
        assert.match(reply, /^HTTP\/1\.1 200 /);
        assert.match(reply, /"AccessKeyId":"ASIAX"/);
      }
      endpoint.close();
      await Promise.all(clients.map((client) => client.closed));
    } finally {
      endpoint.close();
    }
  });
});

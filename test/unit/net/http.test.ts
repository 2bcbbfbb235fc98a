import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { createFetch, networkError, proxySettings } from '../../../src/net/http.ts';

describe('proxy settings', () => {
  it('reads lower-case names first, and HTTPS falls back to HTTP_PROXY', () => {
    assert.deepEqual(proxySettings({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:1', NO_PROXY: '.corp' }), { httpProxy: undefined, httpsProxy: 'http://lower:1', noProxy: '.corp' });
    assert.deepEqual(proxySettings({ HTTP_PROXY: 'http://p:3128' }), { httpProxy: 'http://p:3128', httpsProxy: 'http://p:3128', noProxy: undefined });
    assert.deepEqual(proxySettings({}), { httpProxy: undefined, httpsProxy: undefined, noProxy: undefined });
  });

  it('never sends loopback requests to the proxy', async () => {
    const server = createServer((_req, res) => res.end('direct'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      // A proxy that does not exist: if tng used it for loopback, the request would fail.
      const fetch = await createFetch({ env: { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9' }, timeoutMs: 2000 });
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'direct');
      assert.equal(await (await fetch(`http://localhost:${port}/`)).text(), 'direct');
    } finally {
      server.close();
    }
  });
});

describe('network errors', () => {
  it('times out with exit 6', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const fetch = await createFetch({ timeoutMs: 200 });
      const error = await fetch(`http://127.0.0.1:${port}/`).then(() => undefined, (e: unknown) => networkError(e, 'Vault', `http://127.0.0.1:${port}`));
      assert.ok(error instanceof TngError);
      assert.equal(error.exitCode, 6);
      assert.match(error.message, /did not answer in time/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an unreadable vault_cacert is a usage error', async () => {
    await assert.rejects(createFetch({ cacertPath: '/nonexistent/ca.pem' }), (error: unknown) => error instanceof TngError && error.exitCode === 2);
  });
});

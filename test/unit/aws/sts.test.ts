import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { callerIdentity } from '../../../src/aws/sts.ts';

const credentials = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token', issuedAt: Date.now(), expiresAt: Date.now() + 900_000, role: 'deploy' };

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('STS GetCallerIdentity through a proxy', () => {
  it('a proxy that cannot be reached is named (without its password), exit 6', async (t) => {
    const port = await closedPort();
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = `http://alice:sts-proxy-pw@127.0.0.1:${port}`;
    t.after(() => {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    });
    const error = await callerIdentity(credentials, { region: 'eu-west-1', env: { AWS_ENDPOINT_URL_STS: 'https://sts.corp.example' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof TngError, String(error));
    assert.equal(error.exitCode, 6);
    assert.match(error.message, new RegExp(`^Cannot reach STS at https://sts\\.corp\\.example through the proxy http://127\\.0\\.0\\.1:${port} \\(`));
    assert.match(error.hint ?? '', /HTTPS_PROXY.*sts\.corp\.example in NO_PROXY/);
    assert.ok(!`${error.message}${error.hint}`.includes('sts-proxy-pw'));
  });
});

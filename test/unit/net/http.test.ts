import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { createFetch, networkError, proxyFor, proxySettings, redirectTarget } from '../../../src/net/http.ts';
import { tempDirs } from '../../temp-dirs.ts';

const newDir = tempDirs('http');

describe('proxy settings', () => {
  it('reads lower-case names first, and HTTPS falls back to HTTP_PROXY', () => {
    assert.deepEqual(proxySettings({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:1', NO_PROXY: '.corp' }), { httpProxy: undefined, httpsProxy: 'http://lower:1/', noProxy: '.corp' });
    assert.deepEqual(proxySettings({ HTTP_PROXY: 'http://p:3128' }), { httpProxy: 'http://p:3128/', httpsProxy: 'http://p:3128/', noProxy: undefined });
    assert.deepEqual(proxySettings({}), { httpProxy: undefined, httpsProxy: undefined, noProxy: undefined });
  });

  it('takes a proxy without a scheme as http://, as curl does, and refuses one that is no address (exit 2, password not repeated)', () => {
    assert.equal(proxySettings({ HTTPS_PROXY: 'proxy.corp.example:3128' }).httpsProxy, 'http://proxy.corp.example:3128/');
    assert.equal(proxySettings({ https_proxy: ' user:pw@127.0.0.1:8080 ' }).httpsProxy, 'http://user:pw@127.0.0.1:8080/');
    for (const value of ['ftp://proxy:21', 'http://', 'http://sec:r3t@[bad', '::::']) {
      assert.throws(
        () => proxySettings({ HTTPS_PROXY: value }),
        (error: unknown) => error instanceof TngError && error.exitCode === 2 && /^HTTPS_PROXY is not a proxy address/.test(error.message) && !error.message.includes('r3t'),
        value,
      );
    }
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

describe('which requests go through the proxy', () => {
  const proxies = (noProxy?: string) => proxySettings({ HTTPS_PROXY: 'http://p:3128', HTTP_PROXY: 'http://h:3128', ...(noProxy === undefined ? {} : { NO_PROXY: noProxy }) });

  it('https through HTTPS_PROXY, http through HTTP_PROXY, loopback never', () => {
    assert.equal(proxyFor(new URL('https://vault.corp.example'), proxies()), 'http://p:3128/');
    assert.equal(proxyFor(new URL('http://vault.corp.example'), proxies()), 'http://h:3128/');
    for (const url of ['https://127.0.0.1:8200', 'http://localhost:5556', 'https://[::1]:8200']) assert.equal(proxyFor(new URL(url), proxies()), undefined, url);
    assert.equal(proxyFor(new URL('https://vault.corp.example'), proxySettings({})), undefined);
  });

  it('NO_PROXY as undici routes it: *, a host, a domain (with or without a leading dot or *.), a port', () => {
    const cases: Array<[string, string, boolean]> = [
      ['*', 'https://vault.corp.example', false],
      ['vault.corp.example', 'https://vault.corp.example', false],
      ['VAULT.corp.example', 'https://vault.corp.example:8200', false],
      ['corp.example', 'https://vault.corp.example', false],
      ['.corp.example', 'https://vault.corp.example', false],
      ['*.corp.example', 'https://vault.corp.example', false],
      ['other.example, corp.example', 'https://vault.corp.example', false],
      ['xcorp.example', 'https://vault.corp.example', true],
      ['vault.corp.example:8200', 'https://vault.corp.example:8200', false],
      ['vault.corp.example:8200', 'https://vault.corp.example', true],
      ['vault.corp.example:443', 'https://vault.corp.example', false],
      ['', 'https://vault.corp.example', true],
    ];
    for (const [noProxy, url, proxied] of cases) assert.equal(proxyFor(new URL(url), proxies(noProxy)) !== undefined, proxied, `NO_PROXY=${noProxy} ${url}`);
  });
});

describe('network errors', () => {
  it('a proxy that cannot be reached is named (without its password), not only the server behind it; exit 6', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const url = 'https://vault.example.com:8200';
    const fetch = await createFetch({ env: { HTTPS_PROXY: `http://alice:pr0xy-pw@127.0.0.1:${port}` }, timeoutMs: 3000 });
    const error = await fetch(`${url}/v1/sys/health`).then(() => undefined, (e: unknown) => networkError(e, 'Vault', url));
    assert.ok(error instanceof TngError);
    assert.deepEqual(
      [error.exitCode, error.code, error.message],
      [6, 'net.unreachable', `Cannot reach Vault at ${url} through the proxy http://127.0.0.1:${port} (ECONNREFUSED).`],
    );
    assert.equal(error.hint, 'Check that the proxy in HTTPS_PROXY / HTTP_PROXY is right and up, or list vault.example.com in NO_PROXY.');
    assert.ok(!`${error.message}${error.hint}`.includes('pr0xy-pw'));
  });

  it('a request aborted by its caller stays an abort, proxy or not', async () => {
    const fetch = await createFetch({ env: { HTTPS_PROXY: 'http://127.0.0.1:9' }, timeoutMs: 3000 });
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(fetch('https://vault.example.com/', { signal: abort.signal }), (error: unknown) => (error as Error).name === 'AbortError');
  });

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

  it('a proxy that refuses the tunnel (not 407): exit 6 naming the status and the destination, not "cannot reach"', async () => {
    const proxy = createServer();
    proxy.on('connect', (_request, socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const fetch = await createFetch({ env: { HTTPS_PROXY: proxyUrl } });
      const url = 'https://vault.example.com:8200';
      const error = await fetch(`${url}/v1/sys/health`).then(() => undefined, (e: unknown) => networkError(e, 'Vault', url));
      assert.ok(error instanceof TngError);
      assert.deepEqual([error.exitCode, error.code, error.message], [6, 'net.proxy-refused', `The proxy refused to connect tng to Vault at ${url} (HTTP 403).`]);
      assert.match(error.hint ?? '', /NO_PROXY.*vault\.example\.com/);
    } finally {
      proxy.close();
    }
  });

  it('an unreadable vault_cacert is a usage error', async () => {
    await assert.rejects(createFetch({ cacertPath: '/nonexistent/ca.pem' }), (error: unknown) => error instanceof TngError && error.exitCode === 2);
  });

  it('a vault_cacert whose PEM block holds no certificate is a usage error, not a trust store missing its CA', async () => {
    const file = join(await newDir(), 'ca.pem');
    await writeFile(file, '-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n');
    await assert.rejects(
      createFetch({ cacertPath: file }),
      (error: unknown) => error instanceof TngError && error.exitCode === 2 && /certificate 1 of 1 is not a valid certificate/.test(error.message),
    );
  });
});

describe('redirects', () => {
  /** A loopback server: `routes` maps a path to [status, location] or to a handler of its own. */
  async function server(handle: (path: string, method: string, body: string, headers: Record<string, string | string[] | undefined>) => { status: number; location?: string; body?: string }) {
    const seen: string[] = [];
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        const answer = handle(req.url ?? '', req.method ?? '', body, req.headers);
        res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
        res.end(answer.body ?? '');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    return { origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, seen, close: () => http.close() };
  }

  it('never follows a redirect to http:// off this machine: the token in the body stays put (exit 2)', async () => {
    const vault = await server(() => ({ status: 307, location: 'http://192.0.2.1:8200/v1/auth/jwt/login' }));
    try {
      const fetch = await createFetch({ timeoutMs: 2000 });
      const error = await fetch(`${vault.origin}/v1/auth/jwt/login`, { method: 'POST', body: '{"jwt":"secret-id-token"}' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof TngError);
      assert.equal(error.exitCode, 2);
      assert.equal(error.code, 'net.redirect-insecure');
      assert.match(error.message, /redirected tng to http:\/\/192\.0\.2\.1:8200\/v1\/auth\/jwt\/login, which is not https/);
      assert.deepEqual(vault.seen, ['POST /v1/auth/jwt/login {"jwt":"secret-id-token"}']);
    } finally {
      vault.close();
    }
  });

  it('follows loopback redirects as fetch does: 307 keeps the method and body, 303 becomes a GET', async () => {
    const target = await server((path, method, body) => ({ status: 200, body: `${method} ${path} ${body}` }));
    const front = await server((path) => ({ status: path === '/keep' ? 307 : 303, location: `${target.origin}/landed` }));
    try {
      const fetch = await createFetch({ timeoutMs: 2000 });
      assert.equal(await (await fetch(`${front.origin}/keep`, { method: 'POST', body: 'a=1' })).text(), 'POST /landed a=1');
      assert.equal(await (await fetch(`${front.origin}/see-other`, { method: 'POST', body: 'a=1' })).text(), 'GET /landed ');
    } finally {
      target.close();
      front.close();
    }
  });

  it('gives up after 5 redirects (exit 6)', async () => {
    const loop = await server((path) => ({ status: 302, location: `${path}x` }));
    try {
      const fetch = await createFetch({ timeoutMs: 2000 });
      const error = await fetch(`${loop.origin}/a`).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof TngError);
      assert.equal(error.exitCode, 6);
      assert.match(error.message, /more than 5 times/);
      assert.equal(loop.seen.length, 6);
    } finally {
      loop.close();
    }
  });

  it('allows https, and http only from loopback http to loopback', () => {
    const https = new URL('https://vault.example.com/v1/sys/health');
    const local = new URL('http://127.0.0.1:8200/v1/sys/health');
    assert.equal(redirectTarget(https, 'https://vault-2.example.com/v1/sys/health').host, 'vault-2.example.com');
    assert.equal(redirectTarget(local, '/v1/other').href, 'http://127.0.0.1:8200/v1/other');
    assert.equal(redirectTarget(local, 'http://localhost:8201/').host, 'localhost:8201');
    for (const [from, to] of [
      [https, 'http://vault.example.com/v1/sys/health'],
      [https, 'http://127.0.0.1:8200/'],
      [local, 'http://vault.example.com/'],
      [local, 'file:///etc/passwd'],
    ] as const) {
      assert.throws(() => redirectTarget(from, to), (e: unknown) => e instanceof TngError && e.code === 'net.redirect-insecure', to);
    }
  });
});

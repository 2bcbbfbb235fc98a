// Checks the TLS and proxy pieces of the sandbox: the throw-away PKI (tls.ts) against Node's own TLS
// verification, the forward proxy (proxy.ts) with raw CONNECT / absolute-form requests and with undici's
// ProxyAgent, and the sandbox Vault served over HTTPS under a name only the proxy can resolve.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { isIP, connect as netConnect, Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, ProxyAgent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { isLoopbackAddress, startProxySandbox } from './proxy.ts';
import type { ProxySandbox } from './proxy.ts';
import { createTestPki } from './tls.ts';
import type { TestPki } from './tls.ts';
import { startVaultSandbox } from './vault/index.ts';
import type { VaultSandbox } from './vault/index.ts';

const NAMES = ['vault.sandbox.test', 'localhost', '127.0.0.1', '::1'];

// ---------------------------------------------------------------------------------------------------
// Helpers

/** A TLS handshake with 127.0.0.1:port, checking the certificate against `name` (DNS name or IP). */
async function handshake(port: number, name: string, ca: string | undefined): Promise<{ authorized: boolean; greeting: string; peer: X509Certificate }> {
  const dns = isIP(name) === 0;
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    ...(ca !== undefined ? { ca } : {}),
    // SNI carries DNS names only; IP literals are checked against the IP SANs.
    ...(dns ? { servername: name } : {}),
    checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
  });
  try {
    await once(socket, 'secureConnect');
    const peer = socket.getPeerX509Certificate();
    assert.ok(peer);
    let greeting = '';
    socket.setEncoding('utf8');
    for await (const chunk of socket) greeting += chunk as string;
    return { authorized: socket.authorized, greeting, peer };
  } finally {
    socket.destroy();
  }
}

interface RawAnswer {
  status: number;
  head: string;
  body: string;
  socket: Socket;
}

/** Sends one request line + headers to the proxy over a plain socket and reads the answer's head (and body unless 200 to CONNECT). */
async function rawProxyRequest(proxyPort: number, requestLine: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const socket = netConnect({ host: '127.0.0.1', port: proxyPort });
  await once(socket, 'connect');
  const lines = [requestLine, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
  socket.write(lines.join('\r\n'));
  let buffer = Buffer.alloc(0);
  while (!buffer.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buffer = Buffer.concat([buffer, chunk]);
  }
  const end = buffer.indexOf('\r\n\r\n');
  const head = buffer.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? NaN);
  let rest = buffer.subarray(end + 4);
  if (requestLine.startsWith('CONNECT ') && status === 200) {
    assert.equal(rest.length, 0, 'nothing may follow the 200 before the client speaks');
    return { status, head, body: '', socket };
  }
  socket.on('data', (chunk: Buffer) => {
    rest = Buffer.concat([rest, chunk]);
  });
  if (!socket.readableEnded) await once(socket, 'end');
  socket.destroy();
  return { status, head, body: rest.toString('utf8'), socket };
}

/** Records every TCP connection this process starts (host:port) until stopped. */
function watchConnections(): { attempts: string[]; stop(): void } {
  const attempts: string[] = [];
  const original = Socket.prototype.connect;
  Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (first !== null && typeof first === 'object') {
      const o = first as { host?: string; port?: number; path?: string };
      attempts.push(o.path !== undefined ? `unix:${o.path}` : `${o.host ?? 'localhost'}:${o.port ?? ''}`);
    } else {
      attempts.push(`${String(args[1] ?? 'localhost')}:${String(first)}`);
    }
    return original.apply(this, args as Parameters<typeof original>);
  } as typeof original;
  return {
    attempts,
    stop: () => {
      Socket.prototype.connect = original;
    },
  };
}

async function json(dispatcher: Dispatcher, url: string, init: { method?: Dispatcher.HttpMethod; body?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher, method: init.method ?? 'GET', ...(init.body !== undefined ? { body: init.body } : {}) });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

// ---------------------------------------------------------------------------------------------------

describe('createTestPki', () => {
  let pki: TestPki;
  let server: TlsServer;
  let port: number;

  before(async () => {
    pki = await createTestPki({ names: NAMES });
    server = createTlsServer({ cert: pki.certPem, key: pki.keyPem }, (socket: TLSSocket) => socket.end('hello over tls'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.close();
    await pki.remove();
  });

  test('the server certificate is a one-day EC leaf for exactly the names, with serverAuth, issued by the CA', async () => {
    const ca = new X509Certificate(pki.caPem);
    const cert = new X509Certificate(pki.certPem);
    const other = new X509Certificate(await readFile(pki.otherCaPath, 'utf8'));
    assert.equal(ca.ca, true);
    assert.equal(other.ca, true);
    assert.equal(cert.ca, false);
    assert.equal(cert.checkIssued(ca), true);
    assert.equal(cert.verify(ca.publicKey), true);
    assert.equal(cert.checkIssued(other), false);
    assert.equal(cert.verify(other.publicKey), false);
    assert.equal(cert.subjectAltName, 'DNS:vault.sandbox.test, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.match(cert.subject, /CN=vault\.sandbox\.test/);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']); // extended key usage: serverAuth only
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const validMs = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    assert.equal(validMs, 24 * 3600 * 1000);
    assert.ok(Date.parse(cert.validFrom) <= Date.now() + 1000);
    assert.equal(cert.checkPrivateKey(createPrivateKey(pki.keyPem)), true);

    assert.equal(await readFile(pki.caPath, 'utf8'), pki.caPem);
    assert.equal(await readFile(pki.certPath, 'utf8'), pki.certPem);
    assert.equal(await readFile(pki.keyPath, 'utf8'), pki.keyPem);
    assert.equal((await stat(pki.keyPath)).mode & 0o777, 0o600);
    assert.ok(pki.caPath.startsWith(pki.dir) && pki.otherCaPath.startsWith(pki.dir));
  });

  test('Node TLS accepts the server certificate for each name when given the CA', async () => {
    for (const name of NAMES) {
      const result = await handshake(port, name, pki.caPem);
      assert.equal(result.authorized, true, name);
      assert.equal(result.greeting, 'hello over tls', name);
      assert.equal(result.peer.fingerprint256, new X509Certificate(pki.certPem).fingerprint256, name);
    }
  });

  test('Node TLS rejects a name the certificate does not carry', async () => {
    for (const name of ['other.sandbox.test', '127.0.0.2', '::2']) {
      await assert.rejects(handshake(port, name, pki.caPem), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, name);
    }
  });

  test('Node TLS rejects the certificate without the CA and with the unrelated CA', async () => {
    await assert.rejects(handshake(port, 'vault.sandbox.test', undefined), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const otherCa = await readFile(pki.otherCaPath, 'utf8');
    assert.notEqual(otherCa, pki.caPem);
    await assert.rejects(handshake(port, 'vault.sandbox.test', otherCa), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  test('a given dir is used, and only the PKI files are removed from it', async () => {
    const own = await createTestPki({ dir: `${pki.dir}/nested`, names: ['127.0.0.1'] });
    assert.equal(own.dir, `${pki.dir}/nested`);
    assert.equal(new X509Certificate(own.certPem).subjectAltName, 'IP Address:127.0.0.1');
    await own.remove();
    await assert.rejects(stat(own.caPath), { code: 'ENOENT' });
    assert.ok((await stat(own.dir)).isDirectory());
    await assert.rejects(createTestPki({ names: ['bad name; rm -rf'] }), /neither a DNS name nor an IP address/);
  });
});

describe('sandbox Vault over HTTPS', () => {
  let pki: TestPki;

  before(async () => {
    pki = await createTestPki({ names: NAMES });
  });
  after(() => pki.remove());

  test('serves HTTPS with the given certificate and reports addr with https and publicHost', async () => {
    const vault = await startVaultSandbox({ tls: pki });
    const named = await startVaultSandbox({ tls: pki, publicHost: 'vault.sandbox.test' });
    const plain = await startVaultSandbox({ publicHost: 'localhost' });
    const agent = new Agent({ connect: { ca: pki.caPem } });
    try {
      assert.equal(vault.addr, `https://127.0.0.1:${vault.port}`);
      assert.equal(named.addr, `https://vault.sandbox.test:${named.port}`);
      assert.equal(plain.addr, `http://localhost:${plain.port}`);
      const health = await json(agent, `${vault.addr}/v1/sys/health`);
      assert.equal(health.status, 200);
      assert.equal(health.body.initialized, true);
      assert.equal(vault.count('GET', 'sys/health'), 1);
      // Without the CA the certificate is refused; plain HTTP to the HTTPS port gets no Vault answer.
      const untrusting = new Agent();
      await assert.rejects(request(`${vault.addr}/v1/sys/health`, { dispatcher: untrusting }), (err: Error & { code?: string }) => err.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      await untrusting.close();
      const overHttp = await request(`http://127.0.0.1:${vault.port}/v1/sys/health`).then(
        (res) => `HTTP ${res.statusCode}`,
        (err: Error & { code?: string }) => err.code ?? err.message,
      );
      assert.equal(overHttp, 'UND_ERR_SOCKET'); // the TLS server drops a connection that does not start a handshake
      assert.equal(vault.count('GET', 'sys/health'), 1);
    } finally {
      await agent.close();
      await Promise.all([vault.close(), named.close(), plain.close()]);
    }
  });
});

describe('proxy sandbox', () => {
  let pki: TestPki;
  let tlsVault: VaultSandbox;
  let plainVault: VaultSandbox;
  let proxy: ProxySandbox;
  const agents: Dispatcher[] = [];
  const proxyAgent = (options: Omit<ProxyAgent.Options, 'uri'> & { uri?: string } = {}): ProxyAgent => {
    const agent = new ProxyAgent({ uri: proxy.url, ...options });
    agents.push(agent);
    return agent;
  };

  before(async () => {
    pki = await createTestPki({ names: NAMES });
    tlsVault = await startVaultSandbox({ tls: pki, publicHost: 'vault.sandbox.test' });
    plainVault = await startVaultSandbox();
    proxy = await startProxySandbox({
      hosts: {
        'vault.sandbox.test': `127.0.0.1:${tlsVault.port}`,
        'plain.sandbox.test:8200': `127.0.0.1:${plainVault.port}`,
        'Elsewhere.Sandbox.Test': '10.1.2.3:8200',
      },
    });
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await Promise.all([proxy.close(), tlsVault.close(), plainVault.close()]);
    await pki.remove();
  });

  test('tunnels HTTPS to the Vault addressed by a name only the proxy knows (undici ProxyAgent)', async () => {
    proxy.reset();
    assert.equal(tlsVault.addr, `https://vault.sandbox.test:${tlsVault.port}`);
    // One connection: the second request must reuse the tunnel (undici would otherwise race a second one).
    const agent = proxyAgent({ requestTls: { ca: pki.caPem }, connections: 1 });
    const health = await json(agent, `${tlsVault.addr}/v1/sys/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body.initialized, true);
    assert.equal(health.body.sealed, false);
    // The kept-alive tunnel carries the second request: one CONNECT, two Vault requests.
    assert.equal((await json(agent, `${tlsVault.addr}/v1/sys/health?standbyok=true`)).status, 200);
    assert.deepEqual(proxy.requests(), [{ method: 'CONNECT', target: `vault.sandbox.test:${tlsVault.port}`, status: 200 }]);
    assert.deepEqual(proxy.dials(), [`127.0.0.1:${tlsVault.port}`]);
    assert.equal(tlsVault.count('GET', 'sys/health'), 2);
  });

  test('TLS stays end to end: the client sees the Vault certificate through a raw CONNECT tunnel', async () => {
    proxy.reset();
    const tunnel = await rawProxyRequest(proxy.port, `CONNECT vault.sandbox.test:${tlsVault.port} HTTP/1.1`, { Host: `vault.sandbox.test:${tlsVault.port}` });
    assert.equal(tunnel.status, 200);
    const tls = tlsConnect({ socket: tunnel.socket, servername: 'vault.sandbox.test', ca: pki.caPem });
    await once(tls, 'secureConnect');
    assert.equal(tls.authorized, true);
    assert.equal(tls.getPeerX509Certificate()?.fingerprint256, new X509Certificate(pki.certPem).fingerprint256);
    tls.end('GET /v1/sys/health HTTP/1.1\r\nHost: vault.sandbox.test\r\nConnection: close\r\n\r\n');
    let answer = '';
    tls.setEncoding('utf8');
    for await (const chunk of tls) answer += chunk as string;
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /"initialized":true/);

    // A client that trusts another CA fails the handshake although the proxy opened the tunnel.
    const wrongCa = proxyAgent({ requestTls: { ca: await readFile(pki.otherCaPath, 'utf8') } });
    await assert.rejects(request(`${tlsVault.addr}/v1/sys/health`, { dispatcher: wrongCa }), (err: Error & { code?: string }) => err.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const records = proxy.requests();
    assert.equal(records.length, 2);
    assert.ok(records.every((r) => r.method === 'CONNECT' && r.status === 200));
  });

  test('forwards absolute-form http requests (raw, node:http and undici without tunnelling)', async () => {
    proxy.reset();
    const before = plainVault.count('GET', 'sys/health');
    const target = 'http://plain.sandbox.test:8200/v1/sys/health';
    const raw = await rawProxyRequest(proxy.port, `GET ${target} HTTP/1.1`, { Host: 'plain.sandbox.test:8200', Connection: 'close' });
    assert.equal(raw.status, 200);
    assert.match(raw.head, /content-type: application\/json/i);
    assert.equal((JSON.parse(raw.body) as { initialized: boolean }).initialized, true);

    // A request with a body: the Vault parses it (the role name comes back in the error).
    const posted = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: 'http://plain.sandbox.test:8200/v1/auth/jwt/login', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ role: 'sent-through-the-proxy', jwt: 'x.y.z' }));
    });
    assert.equal(posted.status, 400);
    assert.deepEqual(JSON.parse(posted.body), { errors: ['role "sent-through-the-proxy" could not be found'] });

    const agent = proxyAgent({ proxyTunnel: false });
    const viaUndici = await json(agent, `${target}?standbyok=true`);
    assert.equal(viaUndici.status, 200);

    assert.deepEqual(proxy.requests(), [
      { method: 'GET', target, status: 200 },
      { method: 'POST', target: 'http://plain.sandbox.test:8200/v1/auth/jwt/login', status: 400 },
      { method: 'GET', target: `${target}?standbyok=true`, status: 200 },
    ]);
    assert.equal(plainVault.count('GET', 'sys/health'), before + 2);
    assert.equal(plainVault.count('POST', 'auth/jwt/login'), 1);
    assert.ok(proxy.dials().every((d) => d === `127.0.0.1:${plainVault.port}`));
  });

  test('an unmapped name goes through the system resolver and still reaches loopback only', async () => {
    proxy.reset();
    const agent = proxyAgent({ requestTls: { ca: pki.caPem } });
    const health = await json(agent, `https://localhost:${tlsVault.port}/v1/sys/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(proxy.requests(), [{ method: 'CONNECT', target: `localhost:${tlsVault.port}`, status: 200 }]);
    assert.ok(proxy.dials().length >= 1);
    assert.ok(proxy.dials().every((d) => isLoopbackAddress(d.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'))));
    // Nothing listens on the mapped port's neighbour: a loopback destination that refuses is a 502.
    const closedPort = await rawProxyRequest(proxy.port, 'CONNECT 127.0.0.1:1 HTTP/1.1');
    assert.equal(closedPort.status, 502);
    assert.match(closedPort.body, /ECONNREFUSED/);
  });

  test('refuses non-loopback destinations with 502 without connecting anywhere', async () => {
    proxy.reset();
    const lookups: string[] = [];
    const outsideProxy = await startProxySandbox({
      lookup: (name) => {
        lookups.push(name);
        return Promise.resolve(name === 'outside.sandbox.test' ? ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] : ['127.0.0.1']);
      },
    });
    const watch = watchConnections();
    try {
      const refusals = [
        await rawProxyRequest(proxy.port, 'CONNECT 93.184.216.34:443 HTTP/1.1', { Host: '93.184.216.34:443' }),
        await rawProxyRequest(proxy.port, 'CONNECT [::ffff:93.184.216.34]:443 HTTP/1.1'),
        await rawProxyRequest(proxy.port, 'CONNECT [2606:2800:220:1:248:1893:25c8:1946]:443 HTTP/1.1'),
        await rawProxyRequest(proxy.port, 'CONNECT 0.0.0.0:8200 HTTP/1.1'),
        await rawProxyRequest(proxy.port, 'GET http://93.184.216.34/ HTTP/1.1', { Host: '93.184.216.34' }),
        // A mapping to an outside address is refused the same way.
        await rawProxyRequest(proxy.port, 'CONNECT elsewhere.sandbox.test:8200 HTTP/1.1'),
        // A name that resolves outside: resolved first, then refused.
        await rawProxyRequest(outsideProxy.port, 'CONNECT outside.sandbox.test:443 HTTP/1.1'),
        await rawProxyRequest(outsideProxy.port, 'GET http://outside.sandbox.test/ HTTP/1.1', { Host: 'outside.sandbox.test' }),
      ];
      for (const answer of refusals) {
        assert.equal(answer.status, 502, answer.head);
        assert.match(answer.body, /loopback addresses only/);
      }
      assert.deepEqual(lookups, ['outside.sandbox.test', 'outside.sandbox.test']);
      // Control: the watch does see the proxy's own connections when it is allowed to make one.
      const allowed = await rawProxyRequest(proxy.port, 'CONNECT plain.sandbox.test:8200 HTTP/1.1');
      assert.equal(allowed.status, 200);
      allowed.socket.destroy();
    } finally {
      watch.stop();
      await outsideProxy.close();
    }
    // Every TCP connection this process started went to a proxy on 127.0.0.1, apart from the control's
    // dial to the Vault; none to the refused targets.
    assert.deepEqual(watch.attempts.slice(-2), [`127.0.0.1:${proxy.port}`, `127.0.0.1:${plainVault.port}`]);
    const refusedPhase = watch.attempts.slice(0, -2);
    assert.equal(refusedPhase.length, 8);
    assert.ok(refusedPhase.every((a) => a === `127.0.0.1:${proxy.port}` || a === `127.0.0.1:${outsideProxy.port}`), refusedPhase.join(' '));
    assert.deepEqual(proxy.dials(), [`127.0.0.1:${plainVault.port}`]);
    assert.deepEqual(outsideProxy.dials(), []);
    assert.deepEqual(
      proxy.requests().map((r) => `${r.method} ${r.target} ${r.status}`),
      [
        'CONNECT 93.184.216.34:443 502',
        'CONNECT [::ffff:93.184.216.34]:443 502',
        'CONNECT [2606:2800:220:1:248:1893:25c8:1946]:443 502',
        'CONNECT 0.0.0.0:8200 502',
        'GET http://93.184.216.34/ 502',
        'CONNECT elsewhere.sandbox.test:8200 502',
        'CONNECT plain.sandbox.test:8200 200',
      ],
    );
  });

  test('malformed targets are 400', async () => {
    proxy.reset();
    assert.equal((await rawProxyRequest(proxy.port, 'CONNECT vault.sandbox.test HTTP/1.1')).status, 400);
    assert.equal((await rawProxyRequest(proxy.port, 'CONNECT vault.sandbox.test:99999 HTTP/1.1')).status, 400);
    assert.equal((await rawProxyRequest(proxy.port, 'GET /v1/sys/health HTTP/1.1', { Host: 'plain.sandbox.test' })).status, 400);
    assert.equal((await rawProxyRequest(proxy.port, `GET https://vault.sandbox.test:${tlsVault.port}/ HTTP/1.1`)).status, 400);
    assert.deepEqual(
      proxy.requests().map((r) => r.status),
      [400, 400, 400, 400],
    );
    assert.deepEqual(proxy.dials(), []);
  });

  test('requests() counts every request in order and reset() forgets them', async () => {
    proxy.reset();
    assert.deepEqual(proxy.requests(), []);
    for (let i = 0; i < 3; i++) {
      const res = await rawProxyRequest(proxy.port, `GET http://plain.sandbox.test:8200/v1/sys/health?n=${i} HTTP/1.1`, { Connection: 'close' });
      assert.equal(res.status, 200);
    }
    const tunnel = await rawProxyRequest(proxy.port, `CONNECT plain.sandbox.test:8200 HTTP/1.1`);
    tunnel.socket.destroy();
    const records = proxy.requests();
    assert.equal(records.length, 4);
    assert.deepEqual(
      records.map((r) => r.target),
      [0, 1, 2].map((i) => `http://plain.sandbox.test:8200/v1/sys/health?n=${i}`).concat('plain.sandbox.test:8200'),
    );
    // requests() hands out copies.
    (records[0] as { status: number }).status = 999;
    assert.equal(proxy.requests()[0]?.status, 200);
    assert.equal(proxy.dials().length, 4);
    proxy.reset();
    assert.deepEqual(proxy.requests(), []);
    assert.deepEqual(proxy.dials(), []);
  });
});

describe('proxy sandbox with authentication', () => {
  let pki: TestPki;
  let vault: VaultSandbox;
  let proxy: ProxySandbox;

  before(async () => {
    pki = await createTestPki({ names: ['vault.sandbox.test'] });
    vault = await startVaultSandbox({ tls: pki, publicHost: 'vault.sandbox.test' });
    proxy = await startProxySandbox({ hosts: { 'vault.sandbox.test': `127.0.0.1:${vault.port}` }, requireAuth: { username: 'alice', password: 's3cret:with colon' } });
  });
  after(async () => {
    await Promise.all([proxy.close(), vault.close()]);
    await pki.remove();
  });

  const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

  test('missing or wrong Proxy-Authorization is 407 with a Basic challenge', async () => {
    const target = `vault.sandbox.test:${vault.port}`;
    const missing = await rawProxyRequest(proxy.port, `CONNECT ${target} HTTP/1.1`);
    assert.equal(missing.status, 407);
    assert.match(missing.head, /^Proxy-Authenticate: Basic realm="tng sandbox proxy"$/im);
    const wrong = await rawProxyRequest(proxy.port, `CONNECT ${target} HTTP/1.1`, { 'Proxy-Authorization': basic('alice:wrong') });
    assert.equal(wrong.status, 407);
    const notBasic = await rawProxyRequest(proxy.port, `CONNECT ${target} HTTP/1.1`, { 'Proxy-Authorization': 'Bearer alice:s3cret:with colon' });
    assert.equal(notBasic.status, 407);
    const forwarded = await rawProxyRequest(proxy.port, 'GET http://vault.sandbox.test/ HTTP/1.1', { 'Proxy-Authorization': basic('bob:s3cret:with colon') });
    assert.equal(forwarded.status, 407);
    assert.match(forwarded.head, /^Proxy-Authenticate: Basic/im);

    const anonymous = new ProxyAgent({ uri: proxy.url, requestTls: { ca: pki.caPem } });
    await assert.rejects(request(`${vault.addr}/v1/sys/health`, { dispatcher: anonymous }), /Proxy response \(407\)/);
    await anonymous.close();

    assert.deepEqual(
      proxy.requests().map((r) => r.status),
      [407, 407, 407, 407, 407],
    );
    assert.deepEqual(proxy.dials(), []);
    assert.equal(vault.count('GET', 'sys/health'), 0);
  });

  test('the right credentials open the tunnel', async () => {
    proxy.reset();
    const raw = await rawProxyRequest(proxy.port, `CONNECT vault.sandbox.test:${vault.port} HTTP/1.1`, { 'Proxy-Authorization': basic('alice:s3cret:with colon') });
    assert.equal(raw.status, 200);
    raw.socket.destroy();

    const url = new URL(proxy.url);
    url.username = 'alice';
    url.password = encodeURIComponent('s3cret:with colon');
    const agent = new ProxyAgent({ uri: url.href, requestTls: { ca: pki.caPem } });
    try {
      const health = await json(agent, `${vault.addr}/v1/sys/health`);
      assert.equal(health.status, 200);
    } finally {
      await agent.close();
    }
    assert.deepEqual(
      proxy.requests().map((r) => `${r.method} ${r.status}`),
      ['CONNECT 200', 'CONNECT 200'],
    );
    assert.equal(vault.count('GET', 'sys/health'), 1);
  });
});

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { startLoopbackListener } from '../../../src/oidc/loopback.ts';

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe('loopback listener', () => {
  it('binds 127.0.0.1, refuses wrong state, foreign origins, other paths and methods, then accepts once and closes', async () => {
    const listener = await startLoopbackListener({ expectedState: 'the-state', timeoutMs: 5000 });
    const redirect = new URL(listener.redirectUri);
    assert.equal(redirect.hostname, '127.0.0.1');
    assert.equal(redirect.pathname, '/callback');
    const base = listener.redirectUri;

    assert.deepEqual(await get(`${base}?code=c&state=wrong`).then((r) => ('status' in r ? r.status : r)), 400);
    assert.deepEqual(await get(`${base}?code=c`).then((r) => ('status' in r ? r.status : r)), 400);
    assert.deepEqual(await get(`${base}?code=c&state=the-state`, { Origin: 'https://evil.example' }).then((r) => ('status' in r ? r.status : r)), 403);
    assert.deepEqual(await get(`${base}?code=c&state=the-state`, {}, 'POST').then((r) => ('status' in r ? r.status : r)), 404);
    assert.deepEqual(await get(`http://127.0.0.1:${redirect.port}/other?code=c&state=the-state`).then((r) => ('status' in r ? r.status : r)), 404);
    assert.deepEqual(await get(`${base}?state=the-state`).then((r) => ('status' in r ? r.status : r)), 400);

    const ok = await get(`${base}?code=the-code&state=the-state`);
    assert.ok('status' in ok && ok.status === 200);
    const url = await listener.callback;
    assert.equal(url.searchParams.get('code'), 'the-code');
    assert.equal(url.origin + url.pathname, base);

    const again = await get(`${base}?code=other&state=the-state`);
    assert.ok('error' in again, 'the listener must be closed after one accepted callback');
  });

  it('an error response with the right state ends the wait (the caller reports it)', async () => {
    const listener = await startLoopbackListener({ expectedState: 's', timeoutMs: 5000 });
    await get(`${listener.redirectUri}?error=access_denied&state=s`);
    const url = await listener.callback;
    assert.equal(url.searchParams.get('error'), 'access_denied');
  });

  it('times out with exit 3 and closes', async () => {
    const listener = await startLoopbackListener({ expectedState: 's', timeoutMs: 100 });
    await assert.rejects(listener.callback, (error: unknown) => error instanceof TngError && error.exitCode === 3 && /No login arrived/.test(error.message));
    assert.ok('error' in (await get(`${listener.redirectUri}?code=c&state=s`)));
  });

  it('an abort (Ctrl-C) ends the wait with exit 130', async () => {
    const controller = new AbortController();
    const listener = await startLoopbackListener({ expectedState: 's', timeoutMs: 5000, signal: controller.signal });
    controller.abort();
    await assert.rejects(listener.callback, (error: unknown) => error instanceof TngError && error.exitCode === 130);
  });

  it('a busy fixed port is a clear usage error', async () => {
    const first = await startLoopbackListener({ expectedState: 's', timeoutMs: 5000 });
    const port = Number(new URL(first.redirectUri).port);
    await assert.rejects(startLoopbackListener({ expectedState: 's', timeoutMs: 5000, port }), /Cannot listen on 127\.0\.0\.1:\d+/);
    first.close();
  });
});

describe('loopback listener: what a web page or another host can do', () => {
  /** A raw request with full control over the headers; resolves with status and headers, or the error code. */
  function raw(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string } | { error: string }> {
    return new Promise((resolve) => {
      const req = request(url, { method, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      req.end();
    });
  }

  it('listens on 127.0.0.1 only: ::1 and every other address of this machine refuse the connection', async () => {
    const { connect } = await import('node:net');
    const { networkInterfaces } = await import('node:os');
    const listener = await startLoopbackListener({ expectedState: 's', timeoutMs: 5000 });
    try {
      const port = Number(new URL(listener.redirectUri).port);
      const others = ['::1', ...Object.values(networkInterfaces()).flat().filter((a) => a && a.address !== '127.0.0.1').map((a) => a!.address)];
      for (const host of others) {
        const outcome = await new Promise<string>((resolve) => {
          const socket = connect({ host, port }, () => {
            socket.destroy();
            resolve('connected');
          });
          socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        });
        assert.notEqual(outcome, 'connected', `the listener answered on ${host}`);
      }
    } finally {
      listener.close();
    }
  });

  it('a page with a foreign Origin: the preflight and the request are refused with no CORS header, the code is not taken, the wait goes on', async () => {
    const listener = await startLoopbackListener({ expectedState: 'the-state', timeoutMs: 5000 });
    const url = `${listener.redirectUri}?code=stolen&state=the-state`;
    let settled = false;
    void listener.callback.then(() => (settled = true), () => (settled = true));
    const preflight = await raw(url, 'OPTIONS', { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' });
    assert.ok('status' in preflight && preflight.status === 404, JSON.stringify(preflight));
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:1']) {
      const fromPage = await raw(url, 'GET', { Origin: origin, 'Sec-Fetch-Site': 'cross-site' });
      assert.ok('status' in fromPage && fromPage.status === 403, JSON.stringify(fromPage));
      assert.equal(fromPage.headers['access-control-allow-origin'], undefined);
      assert.doesNotMatch(fromPage.body, /stolen/);
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'a request from a page ended the wait');
    const real = await raw(`${listener.redirectUri}?code=real&state=the-state`, 'GET', {});
    assert.ok('status' in real && real.status === 200);
    assert.equal((await listener.callback).searchParams.get('code'), 'real');
  });

  it('every answer forbids caching, framing and referrers, so nothing of the callback lingers in the browser', async () => {
    const listener = await startLoopbackListener({ expectedState: 's', timeoutMs: 5000 });
    for (const url of [`${listener.redirectUri}?code=c&state=wrong`, `${listener.redirectUri}?code=c&state=s`]) {
      const answer = await raw(url, 'GET', {});
      assert.ok('status' in answer);
      assert.equal(answer.headers['cache-control'], 'no-store');
      assert.equal(answer.headers['referrer-policy'], 'no-referrer');
      assert.equal(answer.headers['x-frame-options'], 'DENY');
      assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/);
    }
    await listener.callback;
  });
});

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

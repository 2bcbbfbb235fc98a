/**
 * The loopback listener of the browser login, through the built binary (issue 10): PKCE that makes an
 * intercepted code useless, pages with a foreign Origin that get nothing, and a listener that is gone once
 * the login is done. (Wrong state, one code only, 127.0.0.1 only and Ctrl-C: login.test.ts; the listener
 * on its own: test/unit/oidc/loopback.test.ts.)
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { BROWSER_HELPER, createWorld, initProfile, login, runProcess, whoamiJson } from './harness.ts';

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

function send(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe('the loopback listener and PKCE', () => {
  it('the request carries an S256 challenge, and an intercepted code cannot be redeemed without the verifier, which never leaves tng', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const result = await login(world, [], { SANDBOX_BROWSER_MODE: 'intercept' });
      assert.equal(result.code, 0, result.stdout);
      const [run] = await world.browserRuns();
      const authorization = new URL(String(run?.url));
      assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
      assert.match(authorization.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.match(authorization.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.match(authorization.searchParams.get('nonce') ?? '', /^[A-Za-z0-9_-]{43}$/);
      const attempts = run?.extra as Array<{ kind: string; status: number; body: string }>;
      for (const kind of ['no-verifier', 'wrong-verifier']) {
        const attempt = attempts.find((a) => a.kind === kind);
        assert.equal(attempt?.status, 400, JSON.stringify(attempt));
        assert.match(attempt?.body ?? '', /invalid_grant/);
        assert.doesNotMatch(attempt?.body ?? '', /id_token|refresh_token/);
      }
      assert.equal((await whoamiJson(world)).report?.oidc.email, 'alice@example.com', 'tng itself redeemed the code with its verifier');
    } finally {
      await world.dispose();
    }
  });

  it('a page with a foreign Origin gets nothing (refused, no CORS header, code not taken); the real login completes; then the port is closed', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const running = world.start(['login', '--profile', world.profile], { tty: true, env: { SANDBOX_BROWSER_MODE: 'noop' } });
      await running.waitFor(/Waiting for the login to finish in the browser/);
      let run: Record<string, unknown> | undefined;
      for (let i = 0; i < 100 && run === undefined; i++) {
        [run] = await world.browserRuns();
        if (run === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      const authorization = new URL(String(run?.url));
      const redirect = authorization.searchParams.get('redirect_uri') as string;
      const state = authorization.searchParams.get('state') as string;
      // What a malicious page could make a browser send: a preflight, and a request with the right state.
      const preflight = await send(`${redirect}?code=evil&state=${state}`, 'OPTIONS', { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' });
      assert.ok('status' in preflight && preflight.status === 404 && preflight.headers['access-control-allow-origin'] === undefined, JSON.stringify(preflight));
      const fromPage = await send(`${redirect}?code=evil&state=${state}`, 'GET', { Origin: 'https://evil.example' });
      assert.ok('status' in fromPage && fromPage.status === 403 && fromPage.headers['access-control-allow-origin'] === undefined, JSON.stringify(fromPage));
      // The person's browser completes the real login: the page's request ended nothing.
      const person = await runProcess(process.execPath, [BROWSER_HELPER, authorization.href], { ...world.env, SANDBOX_BROWSER_LOG: join(world.home, 'person.log') });
      assert.equal(person.code, 0);
      const result = await running.exited;
      assert.equal(result.code, 0, result.stdout);
      assert.equal((await whoamiJson(world)).report?.oidc.email, 'alice@example.com');
      // Closed after use: nothing listens on that port any more.
      const port = Number(new URL(redirect).port);
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      assert.equal(outcome, 'ECONNREFUSED');
    } finally {
      await world.dispose();
    }
  });
});

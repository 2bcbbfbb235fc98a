import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TngError, describe, loginInterrupted } from '../errors.ts';

export interface LoopbackOptions {
  /** Fixed port (`redirect_port`); a random free port when undefined. */
  port?: number;
  /** The `state` sent in the authorization request; callbacks with any other state are refused. */
  expectedState: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Addresses to listen on (default 127.0.0.1 only); `localhost` redirects need both 127.0.0.1 and ::1. */
  hosts?: string[];
  /** The host the redirect URI names (default: the first of `hosts`). */
  redirectHost?: string;
  path?: string;
}

export interface LoopbackListener {
  /** The exact redirect URI to send to the issuer, e.g. http://127.0.0.1:53121/callback. */
  redirectUri: string;
  /** Resolves with the full callback URL of the one accepted request. */
  callback: Promise<URL>;
  close(): void;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function sameState(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': "default-src 'none'",
    Connection: 'close',
  });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>tng: ${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`);
}

/**
 * The loopback redirect target of a native-app login (RFC 8252): bound to 127.0.0.1 only, accepts
 * exactly one callback carrying the expected `state`, then closes. Requests with another state, another
 * path or method, or from a page (an `Origin` header) are refused and do not end the wait.
 */
export async function startLoopbackListener(options: LoopbackOptions): Promise<LoopbackListener> {
  const hosts = options.hosts ?? ['127.0.0.1'];
  const path = options.path ?? '/callback';
  let redirectUri = '';
  let settle!: { resolve: (url: URL) => void; reject: (error: unknown) => void };
  const callback = new Promise<URL>((resolve, reject) => {
    settle = { resolve, reject };
  });
  callback.catch(() => undefined);

  let done = false;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (done) {
      page(res, 410, 'Login already completed', 'This login has already been used. Return to the terminal.');
      return;
    }
    const url = new URL(req.url ?? '/', redirectUri);
    if (req.method !== 'GET' || url.pathname !== path) {
      page(res, 404, 'Not found', 'Nothing here.');
      return;
    }
    if (req.headers.origin !== undefined) {
      page(res, 403, 'Refused', 'A login callback is never sent by a script.');
      return;
    }
    const state = url.searchParams.get('state');
    if (state === null || !sameState(state, options.expectedState)) {
      page(res, 400, 'Login refused', 'The login response does not belong to the login tng started (state mismatch).');
      return;
    }
    if (!url.searchParams.has('code') && !url.searchParams.has('error')) {
      page(res, 400, 'Login refused', 'The login response carries no authorization code.');
      return;
    }
    done = true;
    if (url.searchParams.has('error')) {
      page(res, 200, 'Login cancelled', 'The identity provider did not complete the login. Return to the terminal.');
    } else {
      page(res, 200, 'Login received', 'tng has your login. You can close this window and return to the terminal.');
    }
    finish();
    settle.resolve(url);
  };
  const servers: Server[] = [];

  const timer = setTimeout(() => {
    finish();
    settle.reject(
      new TngError('noSession', 'login.timeout', `No login arrived from the browser within ${Math.round(options.timeoutMs / 1000)} s.`, {
        hint: 'Run `tng login` again; with --no-browser you can open the URL yourself, or use --device-code.',
      }),
    );
  }, options.timeoutMs);
  timer.unref();

  const onAbort = () => {
    finish();
    settle.reject(loginInterrupted());
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  function finish() {
    done = true;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
  }

  let port = options.port ?? 0;
  for (const [index, host] of hosts.entries()) {
    const server = createServer(handle);
    try {
      await listen(server, host, port);
    } catch (error) {
      // A machine without IPv6 still serves the login on 127.0.0.1.
      const code = (error as NodeJS.ErrnoException).code;
      if (index > 0 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
      clearTimeout(timer);
      finish();
      throw new TngError('usage', 'login.port-busy', `Cannot listen on ${host}:${port} for the login callback (${code ?? describe(error)}).`, {
        hint: 'Free that port or change redirect_port in the profile (or remove it to use a random port).',
        cause: error,
      });
    }
    servers.push(server);
    port = (server.address() as AddressInfo).port;
  }
  const redirectHost = options.redirectHost ?? (hosts[0] as string);
  redirectUri = `http://${redirectHost.includes(':') ? `[${redirectHost}]` : redirectHost}:${port}${path}`;
  return { redirectUri, callback, close: finish };
}

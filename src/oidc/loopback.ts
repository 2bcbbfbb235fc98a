import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TngError } from '../errors.ts';

export interface LoopbackOptions {
  /** Fixed port (`redirect_port`); a random free port when undefined. */
  port?: number;
  /** The `state` sent in the authorization request; callbacks with any other state are refused. */
  expectedState: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Host the listener binds to and the redirect URI names. */
  host?: string;
  path?: string;
}

export interface LoopbackListener {
  /** The exact redirect URI to send to the issuer, e.g. http://127.0.0.1:53121/callback. */
  redirectUri: string;
  /** Resolves with the full callback URL of the one accepted request. */
  callback: Promise<URL>;
  close(): void;
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
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/callback';
  let settle!: { resolve: (url: URL) => void; reject: (error: unknown) => void };
  const callback = new Promise<URL>((resolve, reject) => {
    settle = { resolve, reject };
  });
  callback.catch(() => undefined);

  let done = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
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
  });

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
    settle.reject(new TngError('interrupted', 'login.interrupted', 'Login interrupted.', { hint: 'Run `tng login` again when ready.' }));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  function finish() {
    done = true;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    server.close();
    server.closeAllConnections();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new TngError('usage', 'login.port-busy', `Cannot listen on ${host}:${options.port ?? 0} for the login callback (${error.code ?? error.message}).`, {
          hint: 'Free that port or change redirect_port in the profile (or remove it to use a random port).',
          cause: error,
        }),
      );
    });
    server.listen({ host, port: options.port ?? 0, exclusive: true }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const redirectUri = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  return { redirectUri, callback, close: finish };
}

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { accountOf, type AwsCredentials } from '../aws/credentials.ts';
import { describe } from '../errors.ts';

export interface EndpointOptions {
  /** Fresh credentials for each request (the provider caches and re-issues as needed). */
  credentials: () => Promise<AwsCredentials>;
  /** When the Vault session ends (seconds since the epoch), read anew each time it is needed. */
  sessionEndsAt: () => Promise<number | undefined>;
  now: () => number;
  warn: (line: string) => void;
  /** How long before the session ends to warn, seconds. */
  warnAheadSeconds?: number;
}

export interface CredentialsEndpoint {
  /** For AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  url: string;
  /** For AWS_CONTAINER_AUTHORIZATION_TOKEN: the SDKs send it as the whole Authorization header. */
  authorization: string;
  close(): void;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The AWS SDKs' container-credentials provider, served by tng on 127.0.0.1 for as long as the child runs,
 * so a long `terraform apply` outlives any one 15-minute credential. A random token must equal the whole
 * Authorization header (compared in constant time); 401 without one, 403 with a wrong one.
 */
export async function startCredentialsEndpoint(options: EndpointOptions): Promise<CredentialsEndpoint> {
  const authorization = randomBytes(32).toString('base64url');
  const expected = Buffer.from(authorization);
  const path = `/tng/credentials/${randomBytes(8).toString('hex')}`;
  let ended = false;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const given = req.headers.authorization;
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== path) {
      send(res, 404, { Code: 'NotFound', Message: 'No such credentials endpoint.' });
      return;
    }
    if (given === undefined) {
      send(res, 401, { Code: 'Unauthorized', Message: 'Authorization header required.' });
      return;
    }
    const candidate = Buffer.from(given);
    if (candidate.length !== expected.length || !timingSafeEqual(candidate, expected)) {
      send(res, 403, { Code: 'AccessDenied', Message: 'Wrong authorization token.' });
      return;
    }
    void serve(res);
  };

  async function serve(res: ServerResponse): Promise<void> {
    const endsAt = await options.sessionEndsAt().catch(() => undefined);
    if (ended || endsAt === undefined || endsAt <= options.now() / 1000) {
      if (!ended) {
        ended = true;
        options.warn('The Vault session has ended: tng no longer serves AWS credentials to this command. Run `tng login` to continue.');
      }
      send(res, 503, { Code: 'SessionEnded', Message: 'The tng Vault session has ended; run `tng login`.' });
      return;
    }
    try {
      const credentials = await options.credentials();
      send(res, 200, {
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        Token: credentials.sessionToken,
        Expiration: new Date(credentials.expiresAt * 1000).toISOString(),
        ...(accountOf(credentials.arn) ? { AccountId: accountOf(credentials.arn) } : {}),
      });
    } catch (error) {
      options.warn(`Could not refresh AWS credentials for the command: ${describe(error)}`);
      send(res, 503, { Code: 'CredentialsUnavailable', Message: describe(error) });
    }
  }

  // Say so before the session ends, while there is still time to log in from another terminal.
  const warnAhead = options.warnAheadSeconds ?? 120;
  let warned = false;
  const watch = setInterval(() => {
    void options.sessionEndsAt().then((endsAt) => {
      const left = endsAt === undefined ? 0 : endsAt - options.now() / 1000;
      if (!warned && left <= warnAhead) {
        warned = true;
        options.warn(
          left > 0
            ? `The Vault session ends in ${Math.round(left)} s and cannot be renewed further; after that this command gets no fresh AWS credentials. Run \`tng login\` in another terminal to continue.`
            : 'The Vault session has ended; this command gets no fresh AWS credentials. Run `tng login` in another terminal to continue.',
        );
      }
      if (warned && left > warnAhead) warned = false; // a login elsewhere extended it
    }, () => undefined);
  }, 15_000);
  watch.unref();

  // Node's HTTP server is loaded on the first connection, not before the child starts: many commands never
  // ask for credentials. Until then each connection waits paused, and is then handed to the HTTP server.
  let http: Promise<HttpServer> | undefined;
  const sockets = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    http ??= import('node:http').then(({ createServer: createHttpServer }) => createHttpServer(handle));
    void http.then((httpServer) => {
      if (socket.destroyed) return;
      httpServer.emit('connection', socket);
      socket.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    authorization,
    close: () => {
      clearInterval(watch);
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

// A forward HTTP proxy for the sandbox, standing in for an organisation's egress proxy (HTTPS_PROXY):
//
//   - `CONNECT host:port` opens a TCP tunnel (TLS stays end to end between client and target);
//   - absolute-form requests (`GET http://host:port/path`) are forwarded and the answer relayed;
//   - `hosts` maps virtual names only the proxy can resolve ("vault.sandbox.test:8200" or
//     "vault.sandbox.test" → "127.0.0.1:PORT"); other names go through the system resolver;
//   - only loopback addresses are ever connected to: every destination is resolved and checked before any
//     connection is made, anything else is answered 502 (tests must never reach outside this machine);
//   - `requireAuth` demands `Proxy-Authorization: Basic …` (407 with Proxy-Authenticate otherwise).
//
//   const proxy = await startProxySandbox({ hosts: { 'vault.sandbox.test': `127.0.0.1:${vault.port}` } });
//   ... HTTPS_PROXY=proxy.url ...
//   proxy.requests(); // [{ method: 'CONNECT', target: 'vault.sandbox.test:8200', status: 200 }]
//   await proxy.close();
//
// From a shell: `node --import tsx test/sandbox/proxy.ts [--port N] [--host NAME[:PORT]=127.0.0.1:PORT]...
//   [--user U --password P]` prints the URL, logs each request to stderr and serves until SIGINT/SIGTERM.
import { lookup as dnsLookup } from 'node:dns/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, connect as netConnect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { closerOf, listenOnLoopback } from './listen.ts';

export interface ProxySandboxOptions {
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
  /**
   * Virtual names: "name:port" or "name" (any port) → "address:port" or "address" (same port). Matched
   * case-insensitively, "name:port" first. The destination must still be a loopback address.
   */
  hosts?: Record<string, string>;
  /** Demand `Proxy-Authorization: Basic base64(username:password)`; 407 otherwise. */
  requireAuth?: { username: string; password: string };
  /** Resolves an unmapped name to addresses. Default: the system resolver (dns.lookup, all addresses). */
  lookup?: (hostname: string) => Promise<string[]>;
}

export interface ProxyRequestRecord {
  /** CONNECT, GET, POST, … */
  method: string;
  /** host:port for CONNECT, the absolute URL otherwise (as sent). */
  target: string;
  /** 200 for an established tunnel, the upstream status for forwarded requests, 400/407/502 when refused; 0 while pending. */
  status: number;
}

export interface ProxySandbox {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Every request the proxy received, in order of arrival. */
  requests(): ProxyRequestRecord[];
  /** Every address:port the proxy opened a connection to (always loopback), in order. */
  dials(): string[];
  /** Forgets requests() and dials(). */
  reset(): void;
  close(): Promise<void>;
}

/** Headers that describe one hop and are not forwarded (RFC 9110 §7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

interface Destination {
  address: string;
  port: number;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** "host:port", "[v6]:port" → parts; the port is required unless a default is given. */
function splitHostPort(value: string, defaultPort?: number): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (isIP(value) === 6) {
    host = value;
  } else {
    const at = value.lastIndexOf(':');
    host = at === -1 ? value : value.slice(0, at);
    portText = at === -1 ? undefined : value.slice(at + 1);
  }
  const port = portText === undefined ? defaultPort : /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (host === '' || port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Refusal(400, `bad target "${value}"`);
  }
  return { host, port };
}

function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

async function systemLookup(hostname: string): Promise<string[]> {
  const results = await dnsLookup(hostname, { all: true, verbatim: true });
  return results.map((r) => r.address);
}

function basicCredentials(header: string | undefined): string | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  return match ? Buffer.from(match[1] ?? '', 'base64').toString('utf8') : undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startProxySandbox(options: ProxySandboxOptions = {}): Promise<ProxySandbox> {
  const hosts = new Map(Object.entries(options.hosts ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const lookup = options.lookup ?? systemLookup;
  const auth = options.requireAuth;
  let records: ProxyRequestRecord[] = [];
  let dialed: string[] = [];
  const sockets = new Set<Duplex>();
  const track = <T extends Duplex>(socket: T): T => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };

  const authorized = (headers: IncomingHttpHeaders): boolean => {
    if (!auth) return true;
    const given = basicCredentials(headers['proxy-authorization']);
    return given !== undefined && sameSecret(given, `${auth.username}:${auth.password}`);
  };

  /**
   * Where "host:port" really goes: mapped, else resolved, keeping loopback addresses only (in resolver
   * order). Refuses (502) when none is left. Nothing is connected to here.
   */
  const destinations = async (host: string, port: number): Promise<Destination[]> => {
    const name = host.toLowerCase();
    const mapped = hosts.get(formatHostPort(name, port)) ?? hosts.get(name);
    let candidates: Destination[];
    if (mapped !== undefined) {
      const to = splitHostPort(mapped, port);
      const addresses = isIP(to.host) ? [to.host] : await lookup(to.host).catch(() => []);
      candidates = addresses.map((address) => ({ address, port: to.port }));
    } else if (isIP(host)) {
      candidates = [{ address: host, port }];
    } else {
      let addresses: string[];
      try {
        addresses = await lookup(host);
      } catch (err) {
        throw new Refusal(502, `cannot resolve ${host}: ${(err as Error).message}`);
      }
      candidates = addresses.map((address) => ({ address, port }));
    }
    const allowed = candidates.filter((c) => isLoopbackAddress(c.address));
    if (allowed.length === 0) {
      const seen = candidates.map((c) => c.address).join(', ') || 'no address';
      throw new Refusal(502, `refusing ${formatHostPort(host, port)} (${seen}): the sandbox proxy connects to loopback addresses only`);
    }
    return allowed;
  };

  /** Connects to the first destination that accepts; every attempt passes the loopback gate and is recorded. */
  const connectFirst = (candidates: Destination[], label: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      let index = 0;
      let lastError = 'no address';
      const next = (): void => {
        const to = candidates[index++];
        if (!to) {
          reject(new Refusal(502, `cannot connect to ${label}: ${lastError}`));
          return;
        }
        if (!isLoopbackAddress(to.address)) {
          reject(new Refusal(502, `refusing to dial ${to.address}`)); // destinations() filtered already: belt and braces
          return;
        }
        dialed.push(formatHostPort(to.address, to.port));
        const socket = track(netConnect({ host: to.address, port: to.port }));
        const onError = (err: Error): void => {
          lastError = err.message;
          socket.destroy();
          next();
        };
        socket.once('error', onError);
        socket.once('connect', () => {
          socket.off('error', onError);
          resolve(socket);
        });
      };
      next();
    });

  const onConnect = (req: IncomingMessage, client: Duplex, head: Buffer): void => {
    track(client);
    const record: ProxyRequestRecord = { method: 'CONNECT', target: req.url ?? '', status: 0 };
    records.push(record);
    client.on('error', () => client.destroy());
    const refuse = (status: number, message: string, extra = ''): void => {
      record.status = status;
      const reason = status === 407 ? 'Proxy Authentication Required' : status === 400 ? 'Bad Request' : 'Bad Gateway';
      const body = `${message}\n`;
      client.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (!authorized(req.headers)) {
      refuse(407, 'proxy authentication required', 'Proxy-Authenticate: Basic realm="tng sandbox proxy"\r\n');
      return;
    }
    void (async () => {
      const target = splitHostPort(req.url ?? '');
      const upstream = await connectFirst(await destinations(target.host, target.port), record.target);
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      record.status = 200;
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    })().catch((err: unknown) => {
      if (err instanceof Refusal) refuse(err.status, err.message);
      else refuse(502, (err as Error).message);
    });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const record: ProxyRequestRecord = { method: req.method ?? 'GET', target: req.url ?? '', status: 0 };
    records.push(record);
    const refuse = (status: number, message: string, headers: Record<string, string> = {}): void => {
      req.resume();
      if (res.headersSent) {
        res.destroy(); // the upstream failed mid-answer: the client sees a cut-off response
        return;
      }
      record.status = status;
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(`${message}\n`);
    };
    if (!authorized(req.headers)) {
      refuse(407, 'proxy authentication required', { 'Proxy-Authenticate': 'Basic realm="tng sandbox proxy"' });
      return;
    }
    void (async () => {
      let url: URL;
      try {
        url = new URL(req.url ?? '');
      } catch {
        throw new Refusal(400, `not a proxy request (absolute-form URL expected): ${req.url ?? ''}`);
      }
      if (url.protocol !== 'http:') throw new Refusal(400, `only http:// URLs are forwarded (use CONNECT for ${url.protocol})`);
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = url.port === '' ? 80 : Number(url.port);
      const socket = await connectFirst(await destinations(host, port), url.host);
      const headers: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
      headers.host = url.host;
      headers.connection = 'close';
      // One fresh connection per forwarded request, already checked and opened above.
      const upstream = httpRequest({ method: req.method, path: `${url.pathname}${url.search}`, headers, createConnection: () => socket });
      upstream.once('response', (answer) => {
        record.status = answer.statusCode ?? 502;
        const relayed: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) relayed[name] = value;
        res.writeHead(record.status, answer.statusMessage, relayed);
        answer.pipe(res);
        answer.once('error', () => res.destroy());
      });
      upstream.once('error', (err) => refuse(502, `cannot reach ${url.host}: ${err.message}`));
      req.pipe(upstream);
    })().catch((err: unknown) => {
      if (err instanceof Refusal) refuse(err.status, err.message);
      else refuse(502, (err as Error).message);
    });
  };

  // Proxy requests name their target in the request line; a missing Host header is no reason to refuse.
  const server = createServer({ requireHostHeader: false }, onRequest);
  server.on('connect', onConnect);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const port = await listenOnLoopback(server, options.port);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => records.map((r) => ({ ...r })),
    dials: () => [...dialed],
    reset: () => {
      records = [];
      dialed = [];
    },
    // Tunnelled (CONNECT) sockets are the proxy's own, not the server's connections.
    close: closerOf(server, () => {
      for (const socket of sockets) socket.destroy();
    }),
  };
}

/** Command line: see the header comment. */
async function main(argv: string[]): Promise<void> {
  const hosts: Record<string, string> = {};
  let port: number | undefined;
  let user: string | undefined;
  let password: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [key, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${key} needs a value`);
    if (key === '--port') port = Number(value);
    else if (key === '--user') user = value;
    else if (key === '--password') password = value;
    else if (key === '--host') {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new Error(`--host wants NAME[:PORT]=ADDRESS[:PORT], got "${value}"`);
      hosts[value.slice(0, eq)] = value.slice(eq + 1);
    } else throw new Error(`unexpected argument "${arg}"`);
  }
  if ((user === undefined) !== (password === undefined)) throw new Error('--user and --password go together');
  const proxy = await startProxySandbox({
    hosts,
    ...(port !== undefined ? { port } : {}),
    ...(user !== undefined && password !== undefined ? { requireAuth: { username: user, password } } : {}),
  });
  process.stdout.write(`${proxy.url}\n`);
  let logged = 0;
  const timer = setInterval(() => {
    const all = proxy.requests();
    for (let r = all[logged]; r !== undefined && r.status !== 0; r = all[++logged]) process.stderr.write(`${r.method} ${r.target} → ${r.status}\n`);
  }, 200);
  const stop = (): void => {
    clearInterval(timer);
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`proxy sandbox: ${(err as Error).message}\n`);
    process.exit(2);
  });
}

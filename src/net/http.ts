import { rootCertificates } from 'node:tls';
import type * as Undici from 'undici';
import { readCaFile } from './cacert.ts';
import { Agent, Dispatcher, EnvHttpProxyAgent, installFetchClasses, undiciFetch } from './undici.ts';
import { TngError, describe, usageError } from '../errors.ts';
import { describeUrl, timed, timingEnabled } from '../debug/timing.ts';
import { isLoopbackHost, parseHttpUrl } from './url.ts';
import { baselineWasmOnly } from '../platform/wasm-tier.ts';

/** The fetch every network call of tng goes through (the issuer, Vault): one trust store, one timeout. */
export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface HttpOptions {
  /** A PEM file trusted in addition to the system CAs (`vault_cacert`). */
  cacertPath?: string;
  /** Per-request time limit, milliseconds. */
  timeoutMs?: number;
  /** Where HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read from. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The proxy settings of an environment, lower-case names first as curl reads them. A proxy given without a
 * scheme (`proxy.corp:3128`, as curl accepts it) is an http:// proxy; one that is not a URL is a usage error.
 */
export function proxySettings(env: NodeJS.ProcessEnv): { httpProxy?: string; httpsProxy?: string; noProxy?: string } {
  const pick = (name: string) => {
    const found = [name.toLowerCase(), name.toUpperCase()].find((variable) => env[variable]);
    return found === undefined ? undefined : { variable: found, value: env[found] as string };
  };
  const proxy = (name: string) => {
    const setting = pick(name);
    return setting === undefined ? undefined : proxyUrl(setting.variable, setting.value);
  };
  const httpProxy = proxy('http_proxy');
  return { httpProxy, httpsProxy: proxy('https_proxy') ?? httpProxy, noProxy: pick('no_proxy')?.value };
}

function proxyUrl(variable: string, value: string): string {
  const text = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  const url = parseHttpUrl(withScheme);
  if (url === undefined) {
    // The value may carry the proxy's password: it is not repeated.
    throw usageError('net.proxy-invalid', `${variable} is not a proxy address tng can use.`, `Set ${variable} to http://HOST:PORT (or unset it).`);
  }
  return url.href;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * The proxy a request to `url` goes through, or undefined when it goes straight: loopback never uses one, and
 * NO_PROXY is read as undici's EnvHttpProxyAgent reads it (`*`; host or domain suffix, with an optional port),
 * which routes the requests themselves.
 */
export function proxyFor(url: URL, proxies: ReturnType<typeof proxySettings>): string | undefined {
  const proxy = url.protocol === 'https:' ? proxies.httpsProxy : proxies.httpProxy;
  if (proxy === undefined || isLoopbackHost(url.hostname)) return undefined;
  const noProxy = proxies.noProxy ?? '';
  if (noProxy.trim() === '*') return undefined;
  const host = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number.parseInt(url.port, 10) || DEFAULT_PORTS[url.protocol] || 0;
  for (const entry of noProxy.split(/[,\s]/)) {
    if (entry === '') continue;
    const parsed = /^(.+):(\d+)$/.exec(entry);
    const name = (parsed ? (parsed[1] as string) : entry).replace(/^\*?\./, '').toLowerCase();
    if (parsed && Number.parseInt(parsed[2] as string, 10) !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return undefined;
  }
  return proxy;
}

/** A request that failed on its way through a proxy: {@link networkError} names the proxy, not only the server. */
export class ProxiedRequestError extends Error {
  constructor(
    /** The proxy's origin: never its user name or password. */
    readonly proxy: string,
    cause: unknown,
  ) {
    super(`request through the proxy ${proxy} failed`, { cause });
    this.name = 'ProxiedRequestError';
  }
}

/** Sends loopback destinations straight to their socket and everything else through the proxy rules. */
class LoopbackBypass extends Dispatcher {
  constructor(
    private readonly direct: Dispatcher,
    private readonly viaProxy: Dispatcher,
  ) {
    super();
  }

  override dispatch(options: Undici.Dispatcher.DispatchOptions, handler: Undici.Dispatcher.DispatchHandler): boolean {
    const host = new URL(String(options.origin)).hostname;
    return (isLoopbackHost(host) ? this.direct : this.viaProxy).dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.direct.close(), this.viaProxy.close()]).then(() => undefined);
    if (callback) void done.then(callback);
    else return done;
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(errorOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const error = typeof errorOrCallback === 'function' ? null : (errorOrCallback ?? null);
    const cb = typeof errorOrCallback === 'function' ? errorOrCallback : callback;
    const done = Promise.all([this.direct.destroy(error), this.viaProxy.destroy(error)]).then(() => undefined);
    if (cb) void done.then(cb);
    else return done;
  }
}

export const DEFAULT_TIMEOUT_MS = 15_000;

export async function createFetch(options: HttpOptions = {}): Promise<Fetch> {
  baselineWasmOnly(); // before the first request, when undici compiles its parser
  installFetchClasses();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ca = options.cacertPath ? [...rootCertificates, await readCaFile(options.cacertPath)] : undefined;
  // TLS verification is never switched off: extra trust is added with vault_cacert instead.
  const tls = { ca, rejectUnauthorized: true, timeout: timeoutMs };
  const agentOptions = { connect: tls, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
  const direct = new Agent(agentOptions);
  const proxies = proxySettings(options.env ?? {});
  const dispatcher: Dispatcher =
    proxies.httpProxy || proxies.httpsProxy
      ? new LoopbackBypass(direct, new EnvHttpProxyAgent({ ...agentOptions, httpProxy: proxies.httpProxy ?? '', httpsProxy: proxies.httpsProxy ?? '', noProxy: proxies.noProxy ?? '', requestTls: tls, proxyTls: tls }))
      : direct;
  return async (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let url = requireSafeTarget(new URL(String(input)));
    let request: RequestInit = init;
    for (let redirects = 0; ; redirects++) {
      const target = url;
      const send = () => undiciFetch(target, { ...(request as object), dispatcher, signal, redirect: 'manual' } as Parameters<typeof undiciFetch>[1]);
      const attempt = () =>
        send().catch((error: unknown) => {
          // The caller's own abort or deadline stays as it is: callers tell those apart by the error's name.
          const proxy = dispatcher === direct || init.signal?.aborted ? undefined : proxyFor(target, proxies);
          throw proxy === undefined ? error : new ProxiedRequestError(new URL(proxy).origin, error);
        });
      const response = (timingEnabled() ? await timed(`http ${request.method ?? 'GET'} ${describeUrl(target)}`, attempt) : await attempt()) as unknown as Response;
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return response;
      await response.body?.cancel();
      if (redirects === MAX_REDIRECTS) {
        throw new TngError('unavailable', 'net.redirect-loop', `${describeUrl(url)} redirected tng more than ${MAX_REDIRECTS} times.`, { hint: REDIRECT_HINT });
      }
      const next = redirectTarget(url, location);
      request = redirectedRequest(request, response.status, url, next);
      url = next;
    }
  };
}

/**
 * tng sends nothing over plain http:// off this machine, whatever named the address: the configured issuer
 * and Vault are checked at start, but a loopback issuer's discovery document names the token, device and
 * JWKS endpoints itself, and the requests to them carry refresh tokens and codes.
 */
export function requireSafeTarget(url: URL): URL {
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) return url;
  throw usageError(
    'net.url-insecure',
    `tng was asked to send a request to ${describeUrl(url)}, which is not https:// and not on this machine; it sent nothing.`,
    'Make the issuer advertise https:// endpoints (its discovery document), or set vault_addr and issuer to https:// addresses.',
  );
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const REDIRECT_HINT = 'Check the server address (vault_addr or issuer): it should be the server itself, not a redirect.';

/**
 * Where a redirect may take a request: to https://, or from plain http:// on loopback to another loopback
 * address. Never from https:// down to http://, and never to http:// off this machine, where the ID token or
 * Vault token the request carries would cross the network in the clear (fetch itself would follow either).
 */
export function redirectTarget(from: URL, location: string): URL {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch (cause) {
    throw new TngError('unavailable', 'net.redirect-invalid', `${describeUrl(from)} redirected tng to an address that is not a URL.`, {
      hint: REDIRECT_HINT,
      cause,
    });
  }
  if (to.protocol === 'https:' || (to.protocol === 'http:' && from.protocol === 'http:' && isLoopbackHost(to.hostname))) return to;
  throw usageError(
    'net.redirect-insecure',
    `${describeUrl(from)} redirected tng to ${describeUrl(to)}, which is not https://; tng does not follow it.`,
    "Set vault_addr or issuer to the server's own https:// address.",
  );
}

/** The request a redirect asks for, as fetch makes it: 303 (and 301/302 after a POST) become a GET without a body; credentials in `Authorization` stay with their origin. */
function redirectedRequest(request: RequestInit, status: number, from: URL, to: URL): RequestInit {
  const method = (request.method ?? 'GET').toUpperCase();
  const headers = new Headers(request.headers);
  const next: RequestInit = { ...request, headers };
  if ((status === 303 && method !== 'GET' && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    next.method = 'GET';
    delete next.body;
    for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language']) headers.delete(name);
  }
  if (to.origin !== from.origin) headers.delete('authorization');
  return next;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

/** The first system or TLS error code along the cause chain (undici nests them, sometimes in an AggregateError). */
function rootCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
    const nested = (current as { errors?: unknown[] }).errors;
    current = (current as { cause?: unknown }).cause ?? (Array.isArray(nested) ? nested[0] : undefined);
  }
  return undefined;
}

/** The innermost message along the cause chain ("fetch failed" says nothing; its cause usually does). */
function rootMessage(error: unknown): string {
  let current: unknown = error;
  let message = describe(error);
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof Error && current.message) message = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * Translates a failure to reach a server into tng's error: unreachable / timed out → exit 6;
 * an untrusted certificate → exit 6 with a hint at vault_cacert (never a way to skip verification).
 */
export function networkError(thrown: unknown, server: string, url: string): TngError {
  if (thrown instanceof TngError) return thrown;
  const proxy = thrown instanceof ProxiedRequestError ? thrown.proxy : undefined;
  const error = thrown instanceof ProxiedRequestError ? thrown.cause : thrown;
  const host = URL.canParse(url) ? new URL(url).hostname : url;
  const proxyHint = `Check that the proxy in HTTPS_PROXY / HTTP_PROXY is right and up, or list ${host} in NO_PROXY.`;
  const name = (error as { name?: string }).name;
  const code = rootCode(error);
  if (name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    const through = proxy === undefined ? '' : ` through the proxy ${proxy}`;
    return new TngError('unavailable', 'net.timeout', sentence(`${server} at ${url} did not answer in time${through}.`), {
      hint: proxy === undefined ? 'Check the network (and HTTPS_PROXY), then retry.' : proxyHint,
      cause: error,
    });
  }
  if (code !== undefined && TLS_CODES.has(code)) {
    return new TngError('unavailable', 'net.tls-untrusted', sentence(`${server} at ${url} presented a certificate tng does not trust (${code}).`), {
      hint: 'If your organisation uses a private CA, set vault_cacert to its PEM file (`tng init --vault-cacert FILE`).',
      cause: error,
    });
  }
  const tunnel = /Proxy response \((\d{3})\) !== 200 when HTTP Tunneling/.exec(rootMessage(error));
  if (tunnel) return proxyRefused(Number(tunnel[1]), server, url, host, error);
  const detail = code ?? rootMessage(error);
  if (proxy !== undefined) {
    return new TngError('unavailable', 'net.unreachable', `Cannot reach ${server} at ${url} through the proxy ${proxy} (${detail}).`, { hint: proxyHint, cause: error });
  }
  return new TngError('unavailable', 'net.unreachable', `Cannot reach ${server} at ${url} (${detail}).`, {
    hint: 'Check that the address is right and the server is up, then retry.',
    cause: error,
  });
}

/** The proxy (HTTPS_PROXY / HTTP_PROXY) answered tng's CONNECT with something else than 200. */
function proxyRefused(status: number, server: string, url: string, host: string, cause: unknown): TngError {
  const hint =
    status === 407
      ? `The proxy wants credentials: give them in the proxy variable (http://USER:PASSWORD@HOST:PORT), or list ${host} in NO_PROXY.`
      : `Check HTTPS_PROXY / HTTP_PROXY and NO_PROXY, and that the proxy lets this machine reach ${host}.`;
  const reason = status === 407 ? 'HTTP 407: it wants credentials' : `HTTP ${status}`;
  return new TngError('unavailable', 'net.proxy-refused', `The proxy refused to connect tng to ${server} at ${url} (${reason}).`, { hint, cause });
}

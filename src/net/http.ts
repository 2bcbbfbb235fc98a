import { rootCertificates } from 'node:tls';
import type * as Undici from 'undici';
import { readCaFile } from './cacert.ts';
import { Agent, Dispatcher, EnvHttpProxyAgent, installFetchClasses, undiciFetch } from './undici.ts';
import { TngError, describe } from '../errors.ts';
import { describeUrl, timed, timingEnabled } from '../debug/timing.ts';
import { isLoopbackHost } from './url.ts';
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

/** The proxy settings of an environment, lower-case names first as curl reads them. */
export function proxySettings(env: NodeJS.ProcessEnv): { httpProxy?: string; httpsProxy?: string; noProxy?: string } {
  const pick = (name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
  const httpProxy = pick('http_proxy');
  return { httpProxy, httpsProxy: pick('https_proxy') ?? httpProxy, noProxy: pick('no_proxy') };
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
    const send = () => undiciFetch(input, { ...(init as object), dispatcher, signal } as Parameters<typeof undiciFetch>[1]);
    const response = timingEnabled() ? await timed(`http ${init.method ?? 'GET'} ${describeUrl(input)}`, send) : await send();
    return response as unknown as Response;
  };
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
export function networkError(error: unknown, server: string, url: string): TngError {
  if (error instanceof TngError) return error;
  const name = (error as { name?: string }).name;
  const code = rootCode(error);
  if (name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return new TngError('unavailable', 'net.timeout', sentence(`${server} at ${url} did not answer in time.`), {
      hint: 'Check the network (and HTTPS_PROXY), then retry.',
      cause: error,
    });
  }
  if (code !== undefined && TLS_CODES.has(code)) {
    return new TngError('unavailable', 'net.tls-untrusted', sentence(`${server} at ${url} presented a certificate tng does not trust (${code}).`), {
      hint: 'If your organisation uses a private CA, set vault_cacert to its PEM file (`tng init --vault-cacert FILE`).',
      cause: error,
    });
  }
  const detail = code ?? rootMessage(error);
  return new TngError('unavailable', 'net.unreachable', `Cannot reach ${server} at ${url} (${detail}).`, {
    hint: 'Check that the address is right and the server is up, then retry.',
    cause: error,
  });
}

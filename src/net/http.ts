import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { TngError, describe, usageError } from '../errors.ts';

/** The fetch every network call of tng goes through (the issuer, Vault): one trust store, one timeout. */
export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface HttpOptions {
  /** A PEM file trusted in addition to the system CAs (`vault_cacert`). */
  cacertPath?: string;
  /** Per-request time limit, milliseconds. */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 15_000;

async function loadCa(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw usageError('config.cacert', `Cannot read vault_cacert ${path}: ${describe(error)}.`, 'Point vault_cacert at a readable PEM file.', error);
  }
}

export async function createFetch(options: HttpOptions = {}): Promise<Fetch> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ca = options.cacertPath ? [...rootCertificates, await loadCa(options.cacertPath)] : undefined;
  // TLS verification is never switched off: extra trust is added with vault_cacert instead.
  const dispatcher: Dispatcher = new Agent({
    connect: { ca, rejectUnauthorized: true, timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return async (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const response = await undiciFetch(input, { ...(init as object), dispatcher, signal } as Parameters<typeof undiciFetch>[1]);
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

function rootCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Translates a failure to reach a server into tng's error: unreachable / timed out → exit 6;
 * an untrusted certificate → exit 6 with a hint at vault_cacert (never a way to skip verification).
 */
export function networkError(error: unknown, server: string, url: string): TngError {
  if (error instanceof TngError) return error;
  const name = (error as { name?: string }).name;
  const code = rootCode(error);
  if (name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return new TngError('unavailable', 'net.timeout', `${server} at ${url} did not answer in time.`, {
      hint: 'Check the network (and HTTPS_PROXY), then retry.',
      cause: error,
    });
  }
  if (code !== undefined && TLS_CODES.has(code)) {
    return new TngError('unavailable', 'net.tls-untrusted', `${server} at ${url} presented a certificate tng does not trust (${code}).`, {
      hint: 'If your organisation uses a private CA, set vault_cacert to its PEM file (`tng init --vault-cacert FILE`).',
      cause: error,
    });
  }
  const detail = code ?? describe(error);
  return new TngError('unavailable', 'net.unreachable', `Cannot reach ${server} at ${url} (${detail}).`, {
    hint: 'Check that the address is right and the server is up, then retry.',
    cause: error,
  });
}

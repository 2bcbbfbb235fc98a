import { LambdaVaultError, VaultUnavailableError } from './errors.ts';

export interface VaultAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

export interface VaultCall {
  fetch: typeof fetch;
  address: string;
  namespace?: string;
  timeoutMs: number;
}

/** Vault's `{"errors":[...]}` as one line ("" when there are none). */
export function vaultErrors(body: Record<string, unknown> | undefined): string {
  const errors = body?.errors;
  return Array.isArray(errors) ? errors.filter((e) => typeof e === 'string').join('; ') : '';
}

/** One request to Vault's HTTP API (`/v1/<path>`); network failures become VaultUnavailableError. */
export async function vaultRequest(call: VaultCall, method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}): Promise<VaultAnswer> {
  const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
  if (call.namespace) headers['X-Vault-Namespace'] = call.namespace;
  if (options.token !== undefined) headers['X-Vault-Token'] = options.token;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const url = `${call.address.replace(/\/+$/, '')}/v1/${path}`;
  let response: Response;
  let text: string;
  try {
    response = await call.fetch(url, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(call.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const detail = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new VaultUnavailableError(`Cannot reach Vault at ${call.address} (${detail}).`, { cause: error });
  }
  let body: Record<string, unknown> | undefined;
  if (text.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      if (response.ok) throw new LambdaVaultError(`Vault at ${call.address} answered ${path} with something that is not JSON.`, { status: response.status });
    }
  }
  return { status: response.status, body };
}

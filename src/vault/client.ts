import nodeVault from 'node-vault';
import { TngError, noSessionError, usageError } from '../errors.ts';
import { networkError, type Fetch } from '../net/http.ts';

/** The `auth` block of a Vault login or renew response. */
export interface VaultAuth {
  client_token: string;
  accessor: string;
  policies: string[] | null;
  token_policies?: string[] | null;
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type?: string;
}

/** `data` of auth/token/lookup-self. */
export interface TokenLookup {
  accessor: string;
  display_name: string;
  entity_id: string;
  expire_time: string | null;
  policies: string[] | null;
  renewable: boolean;
  ttl: number;
  meta?: Record<string, string> | null;
  path?: string;
}

export interface VaultHealth {
  status: number;
  initialized?: boolean;
  sealed?: boolean;
  standby?: boolean;
  version?: string;
  server_time_utc?: number;
  date?: string;
}

export interface VaultClientOptions {
  addr: string;
  namespace?: string;
  fetch: Fetch;
  /** The pause before the one retry of a read (default: 100–300 ms, jittered). */
  retryDelayMs?: () => number;
}

/**
 * Calls that may safely be sent twice: they read and change nothing. Only these get one more try after a
 * 500/502/503/504 (not a sealed Vault) or a dropped connection. Logins, renewals, revocations and credential
 * issuance never do — `aws/creds/ROLE` is a GET, yet it creates an IAM user each time.
 */
const RETRY_SAFE: ReadonlyArray<{ method: string; path: RegExp }> = [{ method: 'GET', path: /\/v1\/auth\/token\/lookup-self$/ }];

const RETRY_STATUS = new Set([500, 502, 503, 504]);

function defaultRetryDelay(): number {
  return 100 + Math.random() * 200;
}

function malformed(addr: string, path: string, detail: string): TngError {
  return new TngError('unavailable', 'vault.malformed', `Vault at ${addr} answered ${path} with ${detail}.`, {
    hint: 'Check that vault_addr points at Vault and not at a proxy or web page; if it does, ask your Vault operators.',
  });
}

/** A lifetime in seconds that fits a date (Vault's are at most years; 0 is "never expires"). */
const isSeconds = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e10;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Who is calling, so failures map to the contract's exit codes. */
type Purpose = 'login' | 'session' | 'other';

interface TransportRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}

interface TransportResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

function firstError(body: unknown): string | undefined {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : undefined;
}

export class VaultClient {
  private readonly vault: ReturnType<typeof nodeVault>;

  constructor(private readonly options: VaultClientOptions) {
    const transport = (request: TransportRequest) => this.send(request);
    this.vault = nodeVault({
      endpoint: options.addr,
      apiVersion: 'v1',
      // node-vault's own axios transport honours VAULT_SKIP_VERIFY and proxies by its own rules; tng's
      // single fetch stack (trust store that never skips verification, timeouts) carries its requests instead.
      'request-promise': { defaults: () => transport },
      // node-vault's `debug` would print request bodies (an ID token, for one) when DEBUG=node-vault is set.
      debug: () => undefined,
    });
    // node-vault falls back to VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX from the environment;
    // tng passes tokens per call and uses only the profile's namespace.
    this.vault.token = undefined as unknown as string;
    (this.vault as unknown as { namespace?: string }).namespace = options.namespace;
    (this.vault as unknown as { pathPrefix: string }).pathPrefix = '';
  }

  get addr(): string {
    return this.options.addr;
  }

  private async send(request: TransportRequest): Promise<TransportResponse> {
    const path = new URL(request.uri).pathname;
    const retrySafe = RETRY_SAFE.some((r) => r.method === request.method.toUpperCase() && r.path.test(path));
    if (!retrySafe) return this.sendOnce(request);
    let response: TransportResponse;
    try {
      response = await this.sendOnce(request);
    } catch (error) {
      if (!(error instanceof TngError && error.code === 'net.unreachable')) throw error;
      await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? defaultRetryDelay)()));
      return this.sendOnce(request);
    }
    if (!RETRY_STATUS.has(response.statusCode) || /seal/i.test(firstError(response.body) ?? '')) return response;
    await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? defaultRetryDelay)()));
    return this.sendOnce(request);
  }

  private async sendOnce(request: TransportRequest): Promise<TransportResponse> {
    const headers: Record<string, string> = { 'X-Vault-Request': 'true', ...request.headers };
    let body: string | undefined;
    if (request.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(request.json);
    }
    const path = new URL(request.uri).pathname;
    let response: Response;
    try {
      response = await this.options.fetch(request.uri, { method: request.method, headers, body });
    } catch (error) {
      throw networkError(error, 'Vault', this.options.addr);
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (response.ok) throw malformed(this.options.addr, path, 'something that is not JSON');
      }
    }
    // node-vault hands a success body on as it is: anything but a JSON object would surface as a TypeError.
    if ((response.status === 200 || response.status === 204) && parsed !== undefined && !isObject(parsed)) {
      throw malformed(this.options.addr, path, 'JSON that is not an object');
    }
    // An empty success carries nothing; each call then finds its fields missing and says so.
    if ((response.status === 200 || response.status === 204) && parsed === undefined) parsed = {};
    return { statusCode: response.status, body: parsed, request: { path } };
  }

  private fail(error: unknown, purpose: Purpose, what: string): never {
    if (error instanceof TngError) throw error;
    const response = (error as { response?: { statusCode?: number; body?: unknown } }).response;
    const status = response?.statusCode;
    if (status === undefined) {
      throw new TngError('internal', 'vault.client', `Calling Vault (${what}) failed unexpectedly.`, {
        hint: 'Rerun with TNG_DEBUG=1 and report the output.',
        cause: error,
      });
    }
    const reason = firstError(response?.body);
    const detail = reason ? `: ${reason}` : '';
    if (status === 503 && /seal/i.test(reason ?? '')) {
      throw new TngError('unavailable', 'vault.sealed', `Vault at ${this.addr} is sealed.`, {
        hint: 'Ask your Vault operators to unseal it, then retry.',
        cause: error,
      });
    }
    if (status === 412 || status === 429 || status >= 500) {
      throw new TngError('unavailable', 'vault.unavailable', `Vault at ${this.addr} could not serve ${what} (HTTP ${status}${detail}).`, {
        hint: 'Vault is unavailable, rate-limited or on a standby node; retry shortly, or ask your Vault operators.',
        cause: error,
      });
    }
    if (purpose === 'login' && (status === 400 || status === 401 || status === 403)) {
      throw new TngError('denied', 'vault.login-denied', `Vault refused the login (${what}, HTTP ${status}${detail}).`, {
        hint: 'Check vault_role and vault_auth_mount, or ask your Vault operators whether your identity may use that role.',
        cause: error,
      });
    }
    if (purpose === 'session' && status === 403) {
      throw noSessionError('Vault no longer accepts the session token (it expired or was revoked).', error);
    }
    if (status === 403) {
      throw new TngError('denied', 'vault.denied', `Vault denied ${what} (HTTP 403${detail}).`, {
        hint: 'Ask your Vault operators for a policy that allows it.',
        cause: error,
      });
    }
    if (status === 404) {
      throw usageError('vault.not-found', `Vault has no ${what} at this path (HTTP 404${detail}).`, 'Check vault_addr, vault_namespace and the mount names in your profile.', error);
    }
    throw usageError('vault.bad-request', `Vault rejected ${what} (HTTP ${status}${detail}).`, 'Check the profile settings against your Vault configuration.', error);
  }

  /** The `auth` block of a login or renewal, checked: a token, its accessor and its lease. */
  private authOf(response: unknown, path: string): VaultAuth {
    const auth = isObject(response) ? response.auth : undefined;
    if (!isObject(auth) || typeof auth.client_token !== 'string' || auth.client_token === '' || !isSeconds(auth.lease_duration)) {
      throw malformed(this.addr, path, 'no usable token');
    }
    const strings = (value: unknown): string[] | null => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null);
    return {
      client_token: auth.client_token,
      accessor: typeof auth.accessor === 'string' ? auth.accessor : '',
      policies: strings(auth.policies),
      token_policies: strings(auth.token_policies),
      metadata: isObject(auth.metadata) ? (Object.fromEntries(Object.entries(auth.metadata).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : null,
      lease_duration: auth.lease_duration,
      renewable: auth.renewable === true,
      entity_id: typeof auth.entity_id === 'string' ? auth.entity_id : '',
      ...(typeof auth.token_type === 'string' ? { token_type: auth.token_type } : {}),
    };
  }

  private tokenHeaders(token: string) {
    return { headers: { 'X-Vault-Token': token } };
  }

  /** POST auth/<mount>/login {role, jwt}. */
  async jwtLogin(mount: string, role: string, jwt: string): Promise<VaultAuth> {
    try {
      const response: unknown = await this.vault.jwtLogin({ mount_point: mount, role, jwt });
      return this.authOf(response, `auth/${mount}/login`);
    } catch (error) {
      this.fail(error, 'login', `auth/${mount}/login`);
    }
  }

  async lookupSelf(token: string): Promise<TokenLookup> {
    try {
      const response: unknown = await this.vault.tokenLookupSelf({ requestOptions: this.tokenHeaders(token) });
      return this.lookupOf(response);
    } catch (error) {
      this.fail(error, 'session', 'auth/token/lookup-self');
    }
  }

  async renewSelf(token: string, increment?: string): Promise<VaultAuth> {
    try {
      const args = increment === undefined ? {} : { increment };
      const response: unknown = await this.vault.tokenRenewSelf({ ...args, requestOptions: this.tokenHeaders(token) });
      return this.authOf(response, 'auth/token/renew-self');
    } catch (error) {
      this.fail(error, 'session', 'auth/token/renew-self');
    }
  }

  /** `data` of lookup-self, checked: the fields whoami and the session rely on. */
  private lookupOf(response: unknown): TokenLookup {
    const data = isObject(response) ? response.data : undefined;
    if (!isObject(data) || typeof data.accessor !== 'string' || !isSeconds(data.ttl)) {
      throw malformed(this.addr, 'auth/token/lookup-self', 'no usable token description');
    }
    const expireTime = typeof data.expire_time === 'string' && !Number.isNaN(Date.parse(data.expire_time)) ? data.expire_time : null;
    return {
      accessor: data.accessor,
      display_name: typeof data.display_name === 'string' ? data.display_name : '',
      entity_id: typeof data.entity_id === 'string' ? data.entity_id : '',
      expire_time: expireTime,
      policies: Array.isArray(data.policies) ? data.policies.filter((p): p is string => typeof p === 'string') : null,
      renewable: data.renewable === true,
      ttl: data.ttl,
      meta: isObject(data.meta) ? (Object.fromEntries(Object.entries(data.meta).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : null,
      ...(typeof data.path === 'string' ? { path: data.path } : {}),
    };
  }

  async revokeSelf(token: string): Promise<void> {
    try {
      // Not node-vault's tokenRevokeSelf(): with no schema it posts its whole argument, headers included, as the body.
      await this.vault.request({ path: '/auth/token/revoke-self', method: 'POST', ...this.tokenHeaders(token) });
    } catch (error) {
      this.fail(error, 'session', 'auth/token/revoke-self');
    }
  }

  /** GET a secrets-engine path with the token (e.g. `aws/creds/deploy`). */
  async awsRead<T>(token: string, path: string): Promise<T> {
    try {
      return (await this.vault.read(path, this.tokenHeaders(token))) as T;
    } catch (error) {
      this.fail(error, 'other', path);
    }
  }

  /** POST to a secrets-engine path with the token (e.g. `aws/sts/deploy`). */
  async awsWrite<T>(token: string, path: string, body: Record<string, unknown>): Promise<T> {
    try {
      return (await this.vault.write(path, body, this.tokenHeaders(token))) as T;
    } catch (error) {
      this.fail(error, 'other', path);
    }
  }

  /** Vault's OIDC method, step 1: the provider URL Vault wants the browser to visit ("" if the redirect is not allowed). */
  async oidcAuthUrl(mount: string, role: string, redirectUri: string, clientNonce: string): Promise<string> {
    try {
      const response = await this.vault.write(`auth/${mount}/oidc/auth_url`, { role, redirect_uri: redirectUri, client_nonce: clientNonce });
      const url = (response?.data as { auth_url?: unknown } | undefined)?.auth_url;
      return typeof url === 'string' ? url : '';
    } catch (error) {
      this.fail(error, 'login', `auth/${mount}/oidc/auth_url`);
    }
  }

  /** Vault's OIDC method, step 2: Vault redeems the code with the provider and answers like a login. */
  async oidcCallback(mount: string, params: { state: string; code: string; clientNonce: string }): Promise<VaultAuth> {
    const query = new URLSearchParams({ state: params.state, code: params.code, client_nonce: params.clientNonce, id_token: '' });
    try {
      const response: unknown = await this.vault.request({ path: `/auth/${mount}/oidc/callback?${query}`, method: 'GET' });
      return this.authOf(response, `auth/${mount}/oidc/callback`);
    } catch (error) {
      this.fail(error, 'login', `auth/${mount}/oidc/callback`);
    }
  }

  /** sys/health, whatever its status code (sealed and standby are answers, not failures). */
  async health(): Promise<VaultHealth> {
    const url = `${this.addr}/v1/sys/health?standbyok=false&perfstandbyok=false`;
    let response: Response;
    try {
      response = await this.options.fetch(url, { headers: { 'X-Vault-Request': 'true' } });
    } catch (error) {
      throw networkError(error, 'Vault', this.addr);
    }
    const body = (await response.json().catch(() => ({}))) as Omit<VaultHealth, 'status'>;
    return { ...body, status: response.status, date: response.headers.get('date') ?? undefined };
  }
}

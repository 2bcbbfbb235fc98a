import { AwsCredentialsError, LambdaVaultError, SecretNotFoundError, VaultConfigError, VaultLoginError, VaultRequestError } from './errors.ts';
import { vaultErrors, vaultRequest, type VaultCall } from './http.ts';
import { iamLoginPayload, stsTarget } from './login.ts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, LambdaVaultClient, LambdaVaultOptions } from './types.ts';

const REQUEST_TIMEOUT_MS = 10_000;

interface CachedToken {
  token: string;
  /** Milliseconds since the epoch from which a new login is due (Infinity for a token without a lease). */
  renewAt: number;
}

async function defaultCredentials(): Promise<AwsCredentialIdentityProvider> {
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider() as AwsCredentialIdentityProvider;
}

function redact(text: string, secrets: Array<string | undefined>): string {
  return secrets.reduce<string>((out, secret) => (secret ? out.split(secret).join('[redacted]') : out), text);
}

const segments = (path: string) => path.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/');

/**
 * A Vault client for Lambda code: logs in with Vault's AWS auth method (iam type) using the function's own
 * role credentials, and keeps the token for warm invocations — create it once, at module level.
 */
export function createVaultClient(options: LambdaVaultOptions = {}): LambdaVaultClient {
  const env = process.env;
  const address = options.address ?? env.VAULT_ADDR ?? '';
  const role = options.role ?? env.VAULT_AUTH_ROLE ?? '';
  const namespace = options.namespace ?? env.VAULT_NAMESPACE ?? undefined;
  const authMount = (options.authMount ?? 'aws').replace(/^\/+|\/+$/g, '');
  const renewBeforeMs = Math.max(0, options.renewBeforeSeconds ?? 60) * 1000;
  const call: VaultCall = { fetch: options.fetch ?? globalThis.fetch, address, namespace: namespace || undefined, timeoutMs: REQUEST_TIMEOUT_MS };
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  let cached: CachedToken | undefined;
  let pending: Promise<CachedToken> | undefined;

  const credentials = async (): Promise<AwsCredentialIdentity> => {
    provider ??= options.credentials ? Promise.resolve(options.credentials) : defaultCredentials();
    try {
      return await (await provider)();
    } catch (error) {
      provider = undefined;
      throw new AwsCredentialsError(`Cannot get the function's AWS credentials (${error instanceof Error ? error.message : String(error)}).`, { cause: error });
    }
  };

  const login = async (): Promise<CachedToken> => {
    if (!address) throw new VaultConfigError('No Vault address: pass `address` or set VAULT_ADDR.');
    if (!role) throw new VaultConfigError('No Vault role: pass `role` or set VAULT_AUTH_ROLE.');
    const identity = await credentials();
    const payload = await iamLoginPayload({ role, target: stsTarget(options), credentials: identity, iamServerId: options.iamServerId });
    const started = Date.now();
    const answer = await vaultRequest(call, 'POST', `auth/${authMount}/login`, { body: payload });
    if (answer.status !== 200) {
      // Vault relays STS's answer verbatim; should it ever echo the signed request, the secrets stay out.
      const why = redact(vaultErrors(answer.body), [identity.secretAccessKey, identity.sessionToken]);
      throw new VaultLoginError(`Vault refused the AWS login as role "${role}" at auth/${authMount}/login (HTTP ${answer.status})${why ? `: ${why}` : ''}.`, { status: answer.status });
    }
    const auth = answer.body?.auth as { client_token?: unknown; lease_duration?: unknown } | null | undefined;
    if (typeof auth?.client_token !== 'string' || auth.client_token === '') {
      throw new VaultLoginError(`Vault answered the AWS login at auth/${authMount}/login without a token.`, { status: answer.status });
    }
    const lease = typeof auth.lease_duration === 'number' ? auth.lease_duration * 1000 : 0;
    // A token with a short lease is still reused for half of it, rather than logging in on every call.
    const renewAt = lease > 0 ? started + lease - Math.min(renewBeforeMs, lease / 2) : Number.POSITIVE_INFINITY;
    return { token: auth.client_token, renewAt };
  };

  const token = async (): Promise<string> => {
    if (cached !== undefined && Date.now() < cached.renewAt) return cached.token;
    pending ??= login()
      .then((fresh) => (cached = fresh))
      .finally(() => {
        pending = undefined;
      });
    return (await pending).token;
  };

  const readKv = async <T>(mount: string, path: string): Promise<T> => {
    const where = `${segments(mount)}/data/${segments(path)}`;
    let used = await token();
    let answer = await vaultRequest(call, 'GET', where, { token: used });
    if (answer.status === 403) {
      // The token may have been revoked or expired early: one fresh login, then one more try.
      if (cached?.token === used) cached = undefined;
      used = await token();
      answer = await vaultRequest(call, 'GET', where, { token: used });
    }
    if (answer.status === 404) throw new SecretNotFoundError(`No secret at ${where} in Vault at ${address}.`, { status: 404 });
    if (answer.status !== 200) {
      const why = vaultErrors(answer.body);
      throw new VaultRequestError(`Vault refused to read ${where} (HTTP ${answer.status})${why ? `: ${why}` : ''}.`, { status: answer.status });
    }
    const data = (answer.body?.data as { data?: unknown } | null | undefined)?.data;
    if (data === null || typeof data !== 'object') throw new LambdaVaultError(`Vault's answer for ${where} holds no KV v2 data (is ${mount} a KV version 2 mount?).`, { status: answer.status });
    return data as T;
  };

  return { token, readKv };
}

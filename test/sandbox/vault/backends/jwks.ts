// Signing keys of a JWT auth mount: from `jwks_url`, or from the `jwks_uri` of the issuer's discovery
// document (`oidc_discovery_url` + "/.well-known/openid-configuration"). Both documents are cached; a
// token signed with a key id that is not in the cached set triggers one refetch (key rotation).
import { compactVerify, createLocalJWKSet, errors as joseErrors } from 'jose';
import type { JSONWebKeySet } from 'jose';

export interface KeySourceConfig {
  oidc_discovery_url?: string;
  jwks_url?: string;
}

/** The keys or the discovery document could not be fetched. */
export class KeyFetchError extends Error {
  constructor(
    message: string,
    readonly stage: 'discovery' | 'jwks',
  ) {
    super(message);
  }
}

/** The token's signature did not verify (or the token is malformed, or uses a refused algorithm). */
export class SignatureError extends Error {}

const FETCH_TIMEOUT_MS = 5000;

async function fetchJson(url: string, stage: 'discovery' | 'jwks'): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    throw new KeyFetchError(`Get "${url}": ${(err as Error).message}`, stage);
  }
  const text = await response.text();
  if (!response.ok) throw new KeyFetchError(`${url}: ${response.status} ${response.statusText}: ${text.slice(0, 200)}`, stage);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KeyFetchError(`${url}: response is not JSON`, stage);
  }
}

export class KeySource {
  private discovery?: { issuer?: string; jwksUri: string; document: Record<string, unknown> };
  private keySet?: JSONWebKeySet;
  /** How often keys were fetched (for diagnostics). */
  fetches = 0;

  constructor(private readonly config: KeySourceConfig) {}

  get configured(): boolean {
    return Boolean(this.config.jwks_url || this.config.oidc_discovery_url);
  }

  /** The issuer named by the discovery document, when discovery is used. */
  async discoveredIssuer(): Promise<string | undefined> {
    if (this.config.jwks_url || !this.config.oidc_discovery_url) return undefined;
    return (await this.loadDiscovery()).issuer;
  }

  /** The issuer's discovery document (fetched once, then cached); throws KeyFetchError. */
  async discoveryDocument(): Promise<Record<string, unknown>> {
    return { ...(await this.loadDiscovery()).document };
  }

  private async loadDiscovery(): Promise<{ issuer?: string; jwksUri: string; document: Record<string, unknown> }> {
    if (this.discovery) return this.discovery;
    const base = (this.config.oidc_discovery_url ?? '').replace(/\/+$/, '');
    const doc = (await fetchJson(`${base}/.well-known/openid-configuration`, 'discovery')) as Record<string, unknown>;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new KeyFetchError('discovery document is not a JSON object', 'discovery');
    if (typeof doc.jwks_uri !== 'string') throw new KeyFetchError('discovery document has no jwks_uri', 'discovery');
    this.discovery = { jwksUri: doc.jwks_uri, issuer: typeof doc.issuer === 'string' ? doc.issuer : undefined, document: doc };
    return this.discovery;
  }

  private async loadKeys(refresh: boolean): Promise<JSONWebKeySet> {
    if (this.keySet && !refresh) return this.keySet;
    const url = this.config.jwks_url ?? (await this.loadDiscovery()).jwksUri;
    const doc = (await fetchJson(url, 'jwks')) as JSONWebKeySet;
    if (!doc || !Array.isArray(doc.keys)) throw new KeyFetchError(`${url}: not a JWK set`, 'jwks');
    this.fetches++;
    this.keySet = doc;
    return doc;
  }

  /** Verifies the signature only and returns the decoded claims. */
  async verify(jwt: string, algorithms: string[]): Promise<Record<string, unknown>> {
    let keys = await this.loadKeys(false);
    for (let attempt = 0; ; attempt++) {
      try {
        const { payload } = await compactVerify(jwt, createLocalJWKSet(keys), { algorithms });
        const claims = JSON.parse(new TextDecoder().decode(payload)) as unknown;
        if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new SignatureError('payload is not a JSON object');
        return claims as Record<string, unknown>;
      } catch (err) {
        if (err instanceof joseErrors.JWKSNoMatchingKey && attempt === 0) {
          keys = await this.loadKeys(true);
          continue;
        }
        if (err instanceof SignatureError || err instanceof KeyFetchError) throw err;
        throw new SignatureError(describeJoseError(err));
      }
    }
  }
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'failed to verify signature: no known key matches the token';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'failed to verify signature: signature is invalid';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return `failed to verify signature: ${err.message}`;
  if (err instanceof joseErrors.JWSInvalid) return `malformed jwt: ${err.message}`;
  if (err instanceof SyntaxError) return 'malformed jwt: payload is not JSON';
  return `failed to verify signature: ${(err as Error).message}`;
}

// Vault's JWT/OIDC auth method (vault-plugin-auth-jwt), the `POST auth/<mount>/login` half: an ID token
// is verified against the issuer's keys and the role's bindings, and a Vault token is issued.
// The browser flow (oidc/auth_url, oidc/callback) belongs to a separate module when it is added.
import { DurationError, parseDurationSeconds } from '../duration.ts';
import { badRequest, envelope, stringField, VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import { stableUuid } from '../ids.ts';
import type { Backend, Route } from '../router.ts';
import { TokenStore } from '../tokens.ts';
import { KeyFetchError, KeySource, SignatureError } from './jwks.ts';

export interface JwtRole {
  role_type?: 'jwt' | 'oidc';
  bound_audiences?: string[];
  user_claim: string;
  groups_claim?: string;
  bound_subject?: string;
  bound_claims?: Record<string, string | string[]>;
  claim_mappings?: Record<string, string>;
  token_policies?: string[];
  token_ttl?: number | string;
  token_max_ttl?: number | string;
  token_type?: 'service' | 'batch';
  clock_skew_leeway?: number;
  expiration_leeway?: number;
  not_before_leeway?: number;
}

export interface JwtMountConfig {
  oidc_discovery_url?: string;
  bound_issuer?: string;
  jwks_url?: string;
}

/** Algorithms accepted for `role_type: "jwt"` when `jwt_supported_algs` is unset. */
const JWT_ROLE_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];

/** Default of expiration_leeway / not_before_leeway, and of clock_skew_leeway. */
const CLAIM_DEFAULT_LEEWAY = 150;
const CLOCK_SKEW_DEFAULT_LEEWAY = 60;

/** A stored role with its durations already parsed to seconds. */
interface StoredRole extends JwtRole {
  ttlSeconds: number;
  maxTtlSeconds: number;
}

function duration(value: unknown, field: string): number {
  try {
    return parseDurationSeconds(value);
  } catch (err) {
    if (err instanceof DurationError) throw new Error(`invalid ${field}: ${err.message}`);
    throw err;
  }
}

/** Checks a role as Vault does when it is written; throws on an invalid one. */
export function validateRole(role: JwtRole): StoredRole {
  if (!role || typeof role !== 'object') throw new Error('role must be an object');
  if (typeof role.user_claim !== 'string' || role.user_claim === '') throw new Error('a user claim must be defined on the role');
  if (role.role_type !== undefined && role.role_type !== 'jwt' && role.role_type !== 'oidc') throw new Error(`invalid role_type "${String(role.role_type)}"`);
  if (role.token_type !== undefined && role.token_type !== 'service' && role.token_type !== 'batch') throw new Error(`invalid token_type "${String(role.token_type)}"`);
  const ttlSeconds = duration(role.token_ttl, 'token_ttl');
  const maxTtlSeconds = duration(role.token_max_ttl, 'token_max_ttl');
  if (maxTtlSeconds > 0 && ttlSeconds > maxTtlSeconds) throw new Error('token ttl should not be greater than token max ttl');
  const audiences = role.bound_audiences as unknown;
  const bound_audiences = typeof audiences === 'string' ? [audiences] : Array.isArray(audiences) ? audiences.map(String) : [];
  return { ...structuredClone(role), bound_audiences, ttlSeconds, maxTtlSeconds };
}

/** 0 → default, negative → disabled (0), else the value (seconds). */
function leeway(value: number | undefined, fallback: number): number {
  const v = value ?? 0;
  if (v < 0) return 0;
  return v === 0 ? fallback : v;
}

/** A claim by name, or by JSON pointer when the name starts with "/". */
function getClaim(claims: Record<string, unknown>, name: string): unknown {
  if (!name.startsWith('/')) return claims[name];
  let current: unknown = claims;
  for (const raw of name.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** string/bool/number → one-element list; list → itself; anything else → undefined. */
function normalizeList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return [value];
  return undefined;
}

const numericClaim = (claims: Record<string, unknown>, name: string): number => {
  const v = claims[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
};

export class JwtBackend implements Backend {
  readonly type = 'jwt';
  readonly routes: readonly Route[];
  private readonly roles = new Map<string, StoredRole>();
  private readonly keys: KeySource;

  /** `name` is the mount path below auth/, e.g. "jwt". */
  constructor(
    readonly name: string,
    readonly config: JwtMountConfig,
    private readonly tokens: TokenStore,
  ) {
    this.keys = new KeySource(config);
    this.routes = [{ pattern: 'login', unauthenticated: true, handlers: { update: (req) => this.login(req) } }];
  }

  setRole(name: string, role: JwtRole): void {
    if (typeof name !== 'string' || name.trim() === '') throw new Error('role name must not be empty');
    this.roles.set(name.toLowerCase(), validateRole(role));
  }

  private async login(req: VaultRequest): Promise<VaultResponse> {
    const roleName = stringField(req.data, 'role').toLowerCase();
    if (roleName === '') throw badRequest('missing role');
    const role = this.roles.get(roleName);
    if (!role) throw badRequest(`role "${roleName}" could not be found`);
    if ((role.role_type ?? 'oidc') === 'oidc') throw badRequest('role with oidc role_type is not allowed');
    const jwt = stringField(req.data, 'jwt');
    if (jwt === '') throw badRequest('missing token');
    if (!this.keys.configured) throw badRequest('could not load configuration');

    const claims = await this.verifySignature(jwt);
    await this.validateClaims(claims, role);

    // Identity: the user claim names the entity alias; claim_mappings become token metadata.
    const user = getClaim(claims, role.user_claim);
    if (user === undefined || user === null) throw badRequest(`claim "${role.user_claim}" not found in token`);
    if (typeof user !== 'string') throw badRequest(`claim "${role.user_claim}" could not be converted to string`);
    const metadata: Record<string, string> = {};
    for (const [source, target] of Object.entries(role.claim_mappings ?? {})) {
      const value = getClaim(claims, source);
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') throw badRequest(`error converting claim '${source}' to string`);
      metadata[target] = value;
    }
    const groups = this.groups(claims, role);

    const type = role.token_type ?? 'service';
    const entry = this.tokens.create({
      namespace: req.namespace,
      type,
      policies: role.token_policies ?? [],
      meta: { ...metadata, role: roleName },
      displayName: `${this.name.replace(/\//g, '-')}-${user}`,
      path: `auth/${this.name}/login`,
      entityId: stableUuid(`entity\u0000${req.namespace}\u0000${this.name}\u0000${user}`),
      groups,
      ttl: role.ttlSeconds,
      maxTtl: role.maxTtlSeconds,
      // Renewal re-applies the role's current TTLs (the JWT is not validated again).
      renewLimits: () => {
        const current = this.roles.get(roleName);
        if (!current) throw new VaultError(500, `role ${roleName} does not exist during renewal`);
        return { ttl: current.ttlSeconds, maxTtl: current.maxTtlSeconds };
      },
    });
    return envelope({ auth: TokenStore.authBlock(entry, entry.creationTtl) });
  }

  private async verifySignature(jwt: string): Promise<Record<string, unknown>> {
    try {
      return await this.keys.verify(jwt, JWT_ROLE_ALGS);
    } catch (err) {
      if (err instanceof SignatureError) throw badRequest(`error validating token: ${err.message}`);
      if (err instanceof KeyFetchError) {
        if (err.stage === 'discovery') throw new VaultError(500, `error getting provider for login operation: ${err.message}`);
        throw badRequest(`error fetching jwks keyset: ${err.message}`);
      }
      throw err;
    }
  }

  /** Time, issuer, subject, audience and bound-claim checks, in the order the plugin makes them. */
  private async validateClaims(claims: Record<string, unknown>, role: StoredRole): Promise<void> {
    const iat = numericClaim(claims, 'iat');
    let exp = numericClaim(claims, 'exp');
    let nbf = numericClaim(claims, 'nbf');
    if (iat === 0 && exp === 0 && nbf === 0) throw badRequest('no issue time, notbefore, or expiration time encoded in token');
    // Missing exp: valid for expiration_leeway after the latest start; missing nbf: iat, else exp − not_before_leeway.
    if (exp === 0) exp = Math.max(iat, nbf) + leeway(role.expiration_leeway, CLAIM_DEFAULT_LEEWAY);
    if (nbf === 0) nbf = iat !== 0 ? iat : exp - leeway(role.not_before_leeway, CLAIM_DEFAULT_LEEWAY);

    const aud = claims.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
    const bound = role.bound_audiences ?? [];
    if (audiences.length > 0 && bound.length === 0) throw badRequest('audience claim found in JWT but no audiences bound to the role');

    const expectedIssuer = this.config.bound_issuer || (await this.keys.discoveredIssuer());
    if (expectedIssuer && claims.iss !== expectedIssuer) throw badRequest('error validating token: validation failed, invalid issuer claim (iss)');
    if (role.bound_subject && claims.sub !== role.bound_subject) throw badRequest('sub claim does not match bound subject');

    const now = Date.now() / 1000;
    const skew = leeway(role.clock_skew_leeway, CLOCK_SKEW_DEFAULT_LEEWAY);
    if (now + skew < nbf) throw badRequest('error validating token: validation failed, token not valid yet (nbf)');
    if (now - skew > exp) throw badRequest('error validating token: validation failed, token is expired (exp)');
    if (now + skew < iat) throw badRequest('error validating token: validation failed, token issued in the future (iat)');

    if (bound.length > 0 && !bound.some((b) => audiences.includes(b))) {
      throw badRequest('error validating claims: aud claim does not match any bound audience');
    }

    for (const [name, expected] of Object.entries(role.bound_claims ?? {})) {
      const actual = getClaim(claims, name);
      if (actual === undefined || actual === null) throw badRequest(`error validating claims: claim "${name}" is missing`);
      const actualValues = normalizeList(actual);
      if (!actualValues) throw badRequest(`error validating claims: received claim is not a string, bool, int or list: ${JSON.stringify(actual)}`);
      const expectedValues = normalizeList(expected) ?? [];
      if (!expectedValues.some((e) => actualValues.some((a) => a === e))) {
        throw badRequest(`error validating claims: claim "${name}" does not match any associated bound claim values`);
      }
    }
  }

  private groups(claims: Record<string, unknown>, role: StoredRole): string[] {
    if (!role.groups_claim) return [];
    const raw = getClaim(claims, role.groups_claim);
    if (raw === undefined || raw === null) throw badRequest(`failed to fetch groups: "${role.groups_claim}" claim not found in token`);
    const list = normalizeList(raw);
    if (!list) throw badRequest(`"${role.groups_claim}" claim could not be converted to string list`);
    const groups: string[] = [];
    for (const g of list) {
      if (typeof g !== 'string') throw badRequest(`value ${JSON.stringify(g)} in groups claim could not be parsed as string`);
      if (g !== '') groups.push(g);
    }
    return groups;
  }
}

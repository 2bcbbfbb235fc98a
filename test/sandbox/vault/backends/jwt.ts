// Vault's JWT/OIDC auth method (vault-plugin-auth-jwt), the `POST auth/<mount>/login` half: an ID token
// is verified against the issuer's keys and the role's bindings, and a Vault token is issued.
// The browser flow (oidc/auth_url, oidc/callback) is OidcBackend in oidc.ts, which extends this class;
// the role schema and the claim rules both use live in jwt-common.ts.
import { badRequest, stringField, VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import type { Backend, Route } from '../router.ts';
import type { TokenStore } from '../tokens.ts';
import { checkBoundClaims, ClaimError, createIdentity, issueLoginToken, validateRole } from './jwt-common.ts';
import type { Identity, JwtRole, StoredRole } from './jwt-common.ts';
import { KeyFetchError, KeySource, SignatureError } from './jwks.ts';

export { validateRole } from './jwt-common.ts';
export type { JwtRole, StoredRole } from './jwt-common.ts';

export interface JwtMountConfig {
  oidc_discovery_url?: string;
  bound_issuer?: string;
  jwks_url?: string;
  /** Used when a login names no role. */
  default_role?: string;
}

/** Algorithms accepted for `role_type: "jwt"` when `jwt_supported_algs` is unset. */
const JWT_ROLE_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];

/** Default of expiration_leeway / not_before_leeway, and of clock_skew_leeway. */
const CLAIM_DEFAULT_LEEWAY = 150;
const CLOCK_SKEW_DEFAULT_LEEWAY = 60;

/** 0 → default, negative → disabled (0), else the value (seconds). */
function leeway(value: number | undefined, fallback: number): number {
  const v = value ?? 0;
  if (v < 0) return 0;
  return v === 0 ? fallback : v;
}

const numericClaim = (claims: Record<string, unknown>, name: string): number => {
  const v = claims[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
};

/** ClaimError → 400 with `prefix` + its message; anything else is rethrown. */
export function claimFailure(err: unknown, prefix = ''): never {
  if (err instanceof ClaimError) throw badRequest(`${prefix}${err.message}`);
  throw err;
}

export class JwtBackend<R extends JwtRole = JwtRole> implements Backend {
  readonly type: string = 'jwt';
  /** Subclasses add their routes in their constructor. */
  readonly routes: Route[];
  protected readonly roles = new Map<string, StoredRole<R>>();
  protected readonly keys: KeySource;

  /** `name` is the mount path below auth/, e.g. "jwt". */
  constructor(
    readonly name: string,
    readonly config: JwtMountConfig,
    protected readonly tokens: TokenStore,
  ) {
    this.keys = new KeySource(config);
    this.routes = [{ pattern: 'login', unauthenticated: true, handlers: { update: (req) => this.login(req) } }];
  }

  setRole(name: string, role: R): void {
    if (typeof name !== 'string' || name.trim() === '') throw new Error('role name must not be empty');
    this.roles.set(name.toLowerCase(), validateRole(role));
  }

  /** The role named in the request, else the mount's default_role; "" when neither. */
  protected roleNameFrom(req: VaultRequest): string {
    return (stringField(req.data, 'role') || this.config.default_role || '').toLowerCase();
  }

  private async login(req: VaultRequest): Promise<VaultResponse> {
    const roleName = this.roleNameFrom(req);
    if (roleName === '') throw badRequest('missing role');
    const role = this.roles.get(roleName);
    if (!role) throw badRequest(`role "${roleName}" could not be found`);
    if ((role.role_type ?? 'oidc') === 'oidc') throw badRequest('role with oidc role_type is not allowed');
    const jwt = stringField(req.data, 'jwt');
    if (jwt === '') throw badRequest('missing token');
    if (!this.keys.configured) throw badRequest('could not load configuration');

    const claims = await this.verifySignature(jwt);
    await this.validateClaims(claims, role);
    let identity: Identity;
    try {
      identity = createIdentity(claims, role);
    } catch (err) {
      claimFailure(err);
    }
    return issueLoginToken(
      this.tokens,
      req,
      { mount: this.name, path: `auth/${this.name}/login`, roleName, role, currentRole: () => this.roles.get(roleName) },
      identity,
    );
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
  private async validateClaims(claims: Record<string, unknown>, role: StoredRole<R>): Promise<void> {
    const iat = numericClaim(claims, 'iat');
    let exp = numericClaim(claims, 'exp');
    let nbf = numericClaim(claims, 'nbf');
    if (iat === 0 && exp === 0 && nbf === 0) throw badRequest('no issue time, notbefore, or expiration time encoded in token');
    // Missing exp: valid for expiration_leeway after the latest start; missing nbf: iat, else exp − not_before_leeway.
    if (exp === 0) exp = Math.max(iat, nbf) + leeway(role.expiration_leeway, CLAIM_DEFAULT_LEEWAY);
    if (nbf === 0) nbf = iat !== 0 ? iat : exp - leeway(role.not_before_leeway, CLAIM_DEFAULT_LEEWAY);

    const aud = claims.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
    const bound = role.bound_audiences;
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

    try {
      checkBoundClaims(claims, role);
    } catch (err) {
      claimFailure(err, 'error validating claims: ');
    }
  }
}

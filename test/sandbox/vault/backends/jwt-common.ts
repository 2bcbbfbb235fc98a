// What the two halves of Vault's JWT/OIDC auth method share: the role (one schema for `role_type: "jwt"`
// and `"oidc"`), the claim rules applied to a verified ID token (user claim, claim_mappings, groups,
// bound_claims) and the token issued at the end. `jwt.ts` (`login`) and `oidc.ts` (`oidc/auth_url`,
// `oidc/callback`) both build on it.
import { DurationError, parseDurationSeconds } from '../duration.ts';
import { envelope, VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import { stableUuid } from '../ids.ts';
import { TokenStore } from '../tokens.ts';

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

/** A stored role with its audiences normalised to a list and its durations parsed to seconds. */
export type StoredRole<R extends JwtRole = JwtRole> = R & {
  bound_audiences: string[];
  ttlSeconds: number;
  maxTtlSeconds: number;
};

function duration(value: unknown, field: string): number {
  try {
    return parseDurationSeconds(value);
  } catch (err) {
    if (err instanceof DurationError) throw new Error(`invalid ${field}: ${err.message}`);
    throw err;
  }
}

/** A string or a list of strings (Vault's comma-string form is accepted too) → list; absent → []. */
export function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...(value as string[])];
  throw new Error(`"${field}" must be a list of strings`);
}

/** Checks a role as Vault does when it is written; throws on an invalid one. */
export function validateRole<R extends JwtRole>(role: R): StoredRole<R> {
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

/** A claim by name, or by JSON pointer when the name starts with "/". */
export function getClaim(claims: Record<string, unknown>, name: string): unknown {
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
export function normalizeList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return [value];
  return undefined;
}

/** A claim rule failed; the message is what Vault puts into the 400 (each caller adds its own prefix). */
export class ClaimError extends Error {}

export interface Identity {
  /** The user claim's value: the entity alias name. */
  user: string;
  /** claim_mappings outputs (token metadata). */
  metadata: Record<string, string>;
  /** Group alias names from groups_claim. */
  groups: string[];
}

/** The plugin's createIdentity: user claim, claim_mappings and groups claim, in that order. */
export function createIdentity(claims: Record<string, unknown>, role: JwtRole): Identity {
  const user = getClaim(claims, role.user_claim);
  if (user === undefined || user === null) throw new ClaimError(`claim "${role.user_claim}" not found in token`);
  if (typeof user !== 'string') throw new ClaimError(`claim "${role.user_claim}" could not be converted to string`);
  const metadata: Record<string, string> = {};
  for (const [source, target] of Object.entries(role.claim_mappings ?? {})) {
    const value = getClaim(claims, source);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new ClaimError(`error converting claim '${source}' to string`);
    metadata[target] = value;
  }
  return { user, metadata, groups: groupsOf(claims, role) };
}

function groupsOf(claims: Record<string, unknown>, role: JwtRole): string[] {
  if (!role.groups_claim) return [];
  const raw = getClaim(claims, role.groups_claim);
  if (raw === undefined || raw === null) throw new ClaimError(`failed to fetch groups: "${role.groups_claim}" claim not found in token`);
  const list = normalizeList(raw);
  if (!list) throw new ClaimError(`"${role.groups_claim}" claim could not be converted to string list`);
  const groups: string[] = [];
  for (const g of list) {
    if (typeof g !== 'string') throw new ClaimError(`value ${JSON.stringify(g)} in groups claim could not be parsed as string`);
    if (g !== '') groups.push(g);
  }
  return groups;
}

/**
 * bound_claims (string type): every bound claim must be present and share a value with the token's.
 * Throws with the text that follows "error validating claims: ".
 */
export function checkBoundClaims(claims: Record<string, unknown>, role: JwtRole): void {
  for (const [name, expected] of Object.entries(role.bound_claims ?? {})) {
    const actual = getClaim(claims, name);
    if (actual === undefined || actual === null) throw new ClaimError(`claim "${name}" is missing`);
    const actualValues = normalizeList(actual);
    if (!actualValues) throw new ClaimError(`received claim is not a string, bool, int or list: ${JSON.stringify(actual)}`);
    const expectedValues = normalizeList(expected) ?? [];
    if (!expectedValues.some((e) => actualValues.some((a) => a === e))) {
      throw new ClaimError(`claim "${name}" does not match any associated bound claim values`);
    }
  }
}

export interface LoginContext {
  /** The mount path below auth/, e.g. "jwt" or "oidc". */
  mount: string;
  /** The login path recorded on the token, e.g. "auth/oidc/oidc/callback". */
  path: string;
  roleName: string;
  role: StoredRole;
  /** The role as it is at renewal time (it may have been replaced or deleted meanwhile). */
  currentRole: () => StoredRole | undefined;
}

/** Issues the Vault token of a successful login and answers with the `auth{...}` envelope. */
export function issueLoginToken(tokens: TokenStore, req: VaultRequest, ctx: LoginContext, identity: Identity): VaultResponse {
  const { mount, roleName, role } = ctx;
  const entry = tokens.create({
    namespace: req.namespace,
    type: role.token_type ?? 'service',
    policies: role.token_policies ?? [],
    meta: { ...identity.metadata, role: roleName },
    displayName: `${mount.replace(/\//g, '-')}-${identity.user}`,
    path: ctx.path,
    entityId: stableUuid(`entity\u0000${req.namespace}\u0000${mount}\u0000${identity.user}`),
    groups: identity.groups,
    ttl: role.ttlSeconds,
    maxTtl: role.maxTtlSeconds,
    // Renewal re-applies the role's current TTLs (the ID token is not validated again).
    renewLimits: () => {
      const current = ctx.currentRole();
      if (!current) throw new VaultError(500, `role ${roleName} does not exist during renewal`);
      return { ttl: current.ttlSeconds, maxTtl: current.maxTtlSeconds };
    },
  });
  return envelope({ auth: TokenStore.authBlock(entry, entry.creationTtl) });
}

// The token store: every token the sandbox has issued, with its lease, namespace and revocation state.
import { randomBase62 } from './ids.ts';
import type { AuthBlock } from './http.ts';
import { recordSecret } from '../secrets.ts';

/** Vault's default and maximum lease TTL for a mount (system defaults): 768h = 32 days. */
export const MOUNT_DEFAULT_TTL = 768 * 3600;
export const MOUNT_MAX_TTL = 768 * 3600;

export interface RenewLimits {
  /** TTL applied when renewing without an increment (0 → the token's creation TTL). */
  ttl: number;
  /** Maximum lifetime measured from creation (0 → the mount maximum). */
  maxTtl: number;
}

export interface TokenEntry {
  id: string;
  /** "" for batch tokens, which have no accessor. */
  accessor: string;
  namespace: string;
  type: 'service' | 'batch';
  policies: string[];
  tokenPolicies: string[];
  identityPolicies: string[];
  meta: Record<string, string>;
  displayName: string;
  /** The login path that created the token, e.g. "auth/jwt/login". */
  path: string;
  entityId: string;
  renewable: boolean;
  orphan: boolean;
  numUses: number;
  /** Group names from the login (identity group aliases). */
  groups: string[];
  /** ms since epoch */
  creationTime: number;
  /** seconds */
  creationTtl: number;
  /** effective maximum lifetime from creation, seconds */
  maxTtl: number;
  /** ms since epoch */
  expiresAt: number;
  /** ms since epoch */
  lastRenewal?: number;
  revoked: boolean;
  /** Re-reads the limits of whatever created the token (e.g. the JWT role) at renewal time. */
  renewLimits: () => RenewLimits;
}

export interface CreateTokenOptions {
  namespace: string;
  type: 'service' | 'batch';
  policies: string[];
  meta: Record<string, string>;
  displayName: string;
  path: string;
  entityId: string;
  groups?: string[];
  /** seconds; 0 → mount default */
  ttl: number;
  /** seconds; 0 → mount maximum */
  maxTtl: number;
  renewLimits: () => RenewLimits;
}

/**
 * Sorted, de-duplicated policy list with "default" added, as Vault's policy sanitising does. A token whose
 * policies include "root" gets no "default".
 */
export function sanitizePolicies(policies: readonly string[], addDefault = true): string[] {
  const set = new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''));
  if (addDefault && !set.has('root')) set.add('default');
  return [...set].sort();
}

export function effectiveMaxTtl(maxTtl: number): number {
  return maxTtl > 0 ? Math.min(maxTtl, MOUNT_MAX_TTL) : MOUNT_MAX_TTL;
}

export class TokenStore {
  private readonly byId = new Map<string, TokenEntry>();
  private readonly byAccessor = new Map<string, TokenEntry>();
  private readonly namespaceIds = new Map<string, string>();

  /** Vault's short per-namespace id, appended to tokens and accessors created in a namespace. */
  namespaceId(namespace: string): string {
    let id = this.namespaceIds.get(namespace);
    if (!id) {
      id = randomBase62(5);
      this.namespaceIds.set(namespace, id);
    }
    return id;
  }

  create(options: CreateTokenOptions): TokenEntry {
    const now = Date.now();
    const maxTtl = effectiveMaxTtl(options.maxTtl);
    const ttl = Math.min(options.ttl > 0 ? options.ttl : MOUNT_DEFAULT_TTL, maxTtl);
    const suffix = options.namespace === '' ? '' : `.${this.namespaceId(options.namespace)}`;
    const batch = options.type === 'batch';
    // Service tokens: "hvs." + 91 random characters (95 in all, as Vault ≥ 1.10 issues them). Batch
    // tokens are longer encrypted blobs in Vault; random characters of a similar length stand in.
    const id = batch ? `hvb.${randomBase62(150)}${suffix}` : `hvs.${randomBase62(91)}${suffix}`;
    const accessor = batch ? '' : `${randomBase62(24)}${suffix}`;
    const policies = sanitizePolicies(options.policies);
    const entry: TokenEntry = {
      id,
      accessor,
      namespace: options.namespace,
      type: options.type,
      policies,
      tokenPolicies: policies,
      identityPolicies: [],
      meta: { ...options.meta },
      displayName: options.displayName,
      path: options.path,
      entityId: options.entityId,
      renewable: !batch,
      orphan: true,
      numUses: 0,
      groups: options.groups ?? [],
      creationTime: now,
      creationTtl: ttl,
      maxTtl,
      expiresAt: now + ttl * 1000,
      revoked: false,
      renewLimits: options.renewLimits,
    };
    recordSecret('vault-token', id);
    this.byId.set(id, entry);
    if (accessor) this.byAccessor.set(accessor, entry);
    return entry;
  }

  /** The token if it exists and is neither revoked nor expired. */
  valid(id: string | undefined): TokenEntry | undefined {
    if (!id) return undefined;
    const entry = this.byId.get(id);
    if (!entry || entry.revoked || Date.now() >= entry.expiresAt) return undefined;
    return entry;
  }

  validByAccessor(accessor: string): TokenEntry | undefined {
    const entry = this.byAccessor.get(accessor);
    if (!entry || entry.revoked || Date.now() >= entry.expiresAt) return undefined;
    return entry;
  }

  revoke(entry: TokenEntry): void {
    entry.revoked = true;
  }

  /** Revokes by accessor (idempotent); false when no token ever had it. */
  revokeAccessor(accessor: string): boolean {
    const entry = this.byAccessor.get(accessor);
    if (!entry) return false;
    entry.revoked = true;
    return true;
  }

  all(): TokenEntry[] {
    return [...this.byId.values()];
  }

  /** Remaining lease in whole seconds. */
  static remaining(entry: TokenEntry, now = Date.now()): number {
    return Math.max(0, Math.floor((entry.expiresAt - now) / 1000));
  }

  static authBlock(entry: TokenEntry, leaseDuration = TokenStore.remaining(entry)): AuthBlock {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: [...entry.policies],
      token_policies: [...entry.tokenPolicies],
      identity_policies: [...entry.identityPolicies],
      metadata: { ...entry.meta },
      lease_duration: leaseDuration,
      renewable: entry.renewable,
      entity_id: entry.entityId,
      token_type: entry.type,
      orphan: entry.orphan,
      num_uses: entry.numUses,
      mfa_requirement: null,
    };
  }
}

/** A token may be used in the namespace it was created in and in that namespace's children. */
export function namespaceAllows(tokenNamespace: string, requestNamespace: string): boolean {
  if (tokenNamespace === '') return true;
  return requestNamespace === tokenNamespace || requestNamespace.startsWith(`${tokenNamespace}/`);
}

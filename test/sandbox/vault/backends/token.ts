// The token auth method, mounted at auth/token/: self-management of the caller's token plus lookups and
// revocations of other tokens. There are no ACL policies in the sandbox: any valid token may use them.
import { DurationError, formatGoDuration, parseDurationSeconds } from '../duration.ts';
import { badRequest, envelope, noContent, permissionDenied, stringField, VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import type { Backend, Route } from '../router.ts';
import { effectiveMaxTtl, TokenStore } from '../tokens.ts';
import type { TokenEntry } from '../tokens.ts';

const unixSeconds = (ms: number): number => Math.floor(ms / 1000);
const rfc3339 = (ms: number): string => new Date(ms).toISOString();

/** The `data` of lookup-self / lookup / lookup-accessor. */
export function lookupData(entry: TokenEntry, showId = true): Record<string, unknown> {
  const now = Date.now();
  const data: Record<string, unknown> = {
    accessor: entry.accessor,
    creation_time: unixSeconds(entry.creationTime),
    creation_ttl: entry.creationTtl,
    display_name: entry.displayName,
    entity_id: entry.entityId,
    expire_time: rfc3339(entry.expiresAt),
    explicit_max_ttl: 0,
    id: showId ? entry.id : '',
    identity_policies: [...entry.identityPolicies],
    issue_time: rfc3339(entry.creationTime),
    meta: Object.keys(entry.meta).length > 0 ? { ...entry.meta } : null,
    num_uses: entry.numUses,
    orphan: entry.orphan,
    path: entry.path,
    policies: [...entry.tokenPolicies],
    renewable: entry.renewable,
    ttl: TokenStore.remaining(entry, now),
    type: entry.type,
  };
  if (entry.lastRenewal !== undefined) {
    data.last_renewal = rfc3339(entry.lastRenewal);
    data.last_renewal_time = unixSeconds(entry.lastRenewal);
  }
  return data;
}

function parseIncrement(raw: unknown): number {
  try {
    return parseDurationSeconds(raw);
  } catch (err) {
    if (err instanceof DurationError) {
      throw badRequest(`error converting input ${JSON.stringify(raw)} for field "increment": ${err.message}`);
    }
    throw err;
  }
}

/**
 * Renewal as Vault's expiration manager does it: the new TTL is the increment if one is given, else the
 * creating backend's TTL (the JWT role's token_ttl, re-read now), else the creation TTL; it never reaches
 * past creation time + max TTL (the role's token_max_ttl, else the mount maximum of 32 days). When capped,
 * Vault adds a warning.
 */
function renew(entry: TokenEntry, incrementRaw: unknown): VaultResponse {
  if (entry.type === 'batch') throw badRequest('batch tokens cannot be renewed');
  if (!entry.renewable) throw badRequest('lease is not renewable');
  const increment = parseIncrement(incrementRaw);
  const limits = entry.renewLimits();
  const now = Date.now();
  let ttl = increment > 0 ? increment : limits.ttl > 0 ? limits.ttl : entry.creationTtl;
  const maxTtl = effectiveMaxTtl(limits.maxTtl);
  const latest = entry.creationTime + maxTtl * 1000;
  const warnings: string[] = [];
  if (now + ttl * 1000 > latest) {
    const capped = Math.max(0, Math.floor((latest - now) / 1000));
    warnings.push(
      `TTL of "${formatGoDuration(ttl)}" exceeded the effective max_ttl of "${formatGoDuration(capped)}"; TTL value is capped accordingly`,
    );
    ttl = capped;
  }
  entry.maxTtl = maxTtl;
  entry.expiresAt = now + ttl * 1000;
  entry.lastRenewal = now;
  return envelope({ auth: TokenStore.authBlock(entry, ttl), warnings: warnings.length > 0 ? warnings : null });
}

export class TokenBackend implements Backend {
  readonly type = 'token';
  readonly routes: readonly Route[];

  constructor(private readonly store: TokenStore) {
    const self = (req: VaultRequest): TokenEntry => {
      if (!req.token) throw permissionDenied();
      return req.token;
    };
    const lookupSelf = (req: VaultRequest): VaultResponse => envelope({ data: lookupData(self(req)) });
    this.routes = [
      { pattern: 'lookup-self', handlers: { read: lookupSelf, update: lookupSelf } },
      { pattern: 'renew-self', handlers: { update: (req) => renew(self(req), req.data.increment) } },
      {
        pattern: 'revoke-self',
        handlers: {
          update: (req) => {
            const entry = self(req);
            if (entry.type === 'batch') throw badRequest('batch tokens cannot be revoked');
            this.store.revoke(entry);
            return noContent();
          },
        },
      },
      {
        pattern: 'lookup',
        handlers: {
          update: (req) => {
            const token = stringField(req.data, 'token');
            if (token === '') throw badRequest('missing token');
            const entry = this.store.valid(token);
            if (!entry) throw new VaultError(403, 'bad token');
            return envelope({ data: lookupData(entry) });
          },
        },
      },
      {
        pattern: 'lookup-accessor',
        handlers: {
          update: (req) => {
            const entry = this.accessorEntry(req);
            return envelope({ data: lookupData(entry, false) });
          },
        },
      },
      {
        pattern: 'renew',
        handlers: {
          update: (req) => {
            const token = stringField(req.data, 'token');
            if (token === '') throw badRequest('missing token');
            const entry = this.store.valid(token);
            if (!entry) throw badRequest('invalid lease ID');
            return renew(entry, req.data.increment);
          },
        },
      },
      {
        pattern: 'revoke',
        handlers: {
          update: (req) => {
            const token = stringField(req.data, 'token');
            if (token === '') throw badRequest('missing token');
            const entry = this.store.valid(token);
            if (entry?.type === 'batch') throw badRequest('batch tokens cannot be revoked');
            if (entry) this.store.revoke(entry);
            return noContent();
          },
        },
      },
      {
        pattern: 'revoke-accessor',
        handlers: {
          update: (req) => {
            const entry = this.accessorEntry(req);
            this.store.revoke(entry);
            return noContent();
          },
        },
      },
    ];
  }

  private accessorEntry(req: VaultRequest): TokenEntry {
    const accessor = stringField(req.data, 'accessor');
    if (accessor === '') throw badRequest('missing accessor');
    const entry = this.store.validByAccessor(accessor);
    if (!entry) throw badRequest('invalid accessor');
    return entry;
  }
}

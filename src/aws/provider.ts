import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { TngError, isTngError, noSessionError } from '../errors.ts';
import type { SecretStore } from '../keychain/store.ts';
import { nodeCrypto } from '../platform/lazy-crypto.ts';
import { isSameSession, renewalIfEndingWithin, storeRenewal, type Renewal } from '../session/renew.ts';
import { loadSession, sessionIsLive, updateSession, type Session } from '../session/session.ts';
import { withLock } from '../state/lock.ts';
import type { VaultClient } from '../vault/client.ts';
import { isCredentials, isFreshEnough, type AwsCredentials } from './credentials.ts';

export interface AwsRequest {
  role: string;
  roleArn?: string;
  ttlSeconds: number;
  /** Names the audit entry in the STS session name (`tng-<id>`); a fresh id when absent (nothing recorded it). */
  auditId?: string;
}

export type AwsDeps = Pick<Deps, 'clock' | 'keychain' | 'fetch' | 'paths'>;

/**
 * Where in the profile's cache the credentials for one request live: per role, role ARN (a hash keeps it
 * short) and requested lifetime, so `--ttl 1h` never gets a cached 15-minute credential, nor the other way
 * round. IAM-user keys have no requested lifetime (Vault ignores it), so their slot has none.
 */
export function cacheSlot(role: string, roleArn: string | undefined, ttlSeconds: number | undefined): string {
  const arn = roleArn ? `@${nodeCrypto().createHash('sha256').update(roleArn).digest('hex').slice(0, 12)}` : '';
  return `${role}${arn}${ttlSeconds === undefined ? '' : `/${ttlSeconds}s`}`;
}

type Cache = Record<string, AwsCredentials>;

/** The profile's credential cache, kept in the session item (one keychain read; logout removes it with the session). */
function cacheOf(session: Session | undefined): Cache {
  const cache = session?.aws;
  if (typeof cache !== 'object' || cache === null) return {};
  return Object.fromEntries(Object.entries(cache).filter(([, value]) => isCredentials(value))) as Cache;
}

async function readCache(store: SecretStore, profile: string): Promise<Cache> {
  return cacheOf(await loadSession(store, profile));
}

/** The latest credentials cached for a role and role ARN, whatever their lifetime, fresh or not (whoami shows them). */
export async function cachedAwsCredentials(store: SecretStore, profile: string, role: string, roleArn?: string): Promise<AwsCredentials | undefined> {
  const matching = Object.values(await readCache(store, profile)).filter((c) => c.role === role && (c.roleArn ?? undefined) === (roleArn ?? undefined));
  return matching.reduce<AwsCredentials | undefined>((latest, c) => (latest === undefined || c.issuedAt > latest.issuedAt ? c : latest), undefined);
}

/**
 * AWS credentials for a profile and role: from the keychain cache while fresh enough, else issued at
 * Vault under a per-role lock, so concurrent tng processes share one issuance (waiters find the cache
 * filled). The session is re-read from the keychain each time, so a login elsewhere is picked up; a caller
 * that has just read it passes it as `justRead`, which saves the warm path a second keychain round trip.
 */
export async function awsCredentials(profile: Profile, request: AwsRequest, deps: AwsDeps, justRead?: Session): Promise<AwsCredentials> {
  const store = await deps.keychain();
  const slot = cacheSlot(request.role, request.roleArn, profile.awsCredentialType === 'creds' ? undefined : request.ttlSeconds);
  const nowSeconds = () => Math.floor(deps.clock.now() / 1000);
  const cached = (justRead === undefined ? await readCache(store, profile.name) : cacheOf(justRead))[slot];
  if (cached && isFreshEnough(cached, nowSeconds())) return cached;
  const fresh = async () => {
    const again = (await readCache(store, profile.name))[slot];
    return again && isFreshEnough(again, nowSeconds()) ? again : undefined;
  };

  // Waiters whose credentials another process has just issued take them from the cache without the lock.
  return withLock(deps.paths.state, `aws-${profile.name}`, { timeoutMs: 60_000, afterRelease: fresh }, async () => {
    const session = await loadSession(store, profile.name);
    const again = cacheOf(session)[slot];
    if (again && isFreshEnough(again, nowSeconds())) return again;
    if (session === undefined || !sessionIsLive(session, deps.clock.now(), 30)) {
      throw noSessionError(`No live session for profile "${profile.name}" to issue AWS credentials with.`);
    }
    const { credentials, renewal } = await issue(profile, session, request, deps);
    // Cached only with the session they were issued under (a login meanwhile starts a clean cache), in the
    // same keychain write as the token's renewal; expired entries of other roles are dropped on the way.
    await updateSession(store, deps.paths.state, profile.name, (current) => {
      if (!isSameSession(current, session)) return undefined;
      const kept = Object.fromEntries(Object.entries(cacheOf(current)).filter(([, c]) => c.expiresAt > nowSeconds()));
      return { ...(renewal.applyTo?.(current) ?? current), aws: { ...kept, [slot]: credentials } };
    });
    return credentials;
  });
}

/** Issues credentials at Vault, renewing the token first when it would end before them; the caller stores the renewal. */
async function issue(profile: Profile, session: Session, request: AwsRequest, deps: AwsDeps): Promise<{ credentials: AwsCredentials; renewal: Renewal }> {
  // Loaded only to issue: the warm path (cached credentials) never loads the Vault client.
  const [fetch, { VaultClient }, { issueAwsCredentials, ttlRefused }] = await Promise.all([
    deps.fetch({ cacertPath: profile.vaultCacert }),
    import('../vault/client.ts'),
    import('./vault-aws.ts'),
  ]);
  const vault = new VaultClient({ addr: session.vault.addr, namespace: session.vault.namespace ?? undefined, fetch });
  const renewal = await renewalIfEndingWithin(session, request.ttlSeconds, vault, deps.clock);
  try {
    const credentials = await issueAwsCredentials(
      vault,
      renewal.session.vault.token,
      {
        mount: profile.awsMount,
        role: request.role,
        type: profile.awsCredentialType,
        ttlSeconds: request.ttlSeconds,
        roleArn: request.roleArn,
        sessionName: `tng-${request.auditId ?? nodeCrypto().randomUUID()}`,
      },
      Math.floor(deps.clock.now() / 1000),
    );
    return { credentials, renewal };
  } catch (error) {
    // The renewal happened at Vault whatever became of the issuance; a stored expiry that lags behind only
    // means an earlier renewal next time, so failing to store it does not hide the error that matters.
    await storeRenewal(renewal, deps).catch(() => undefined);
    throw (await explain(error, vault, renewal.session.vault.token)) ?? ttlRefused(error, request.ttlSeconds) ?? error;
  }
}

/** A 403 from the AWS engine means either a dead token (no session, exit 3) or a policy that denies it (exit 4). */
async function explain(error: unknown, vault: VaultClient, token: string): Promise<TngError | undefined> {
  if (!isTngError(error, 'denied')) return undefined;
  try {
    await vault.lookupSelf(token);
  } catch (lookup) {
    if (isTngError(lookup, 'noSession')) return lookup;
  }
  return undefined;
}

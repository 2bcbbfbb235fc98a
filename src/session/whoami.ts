import { auditFacts, type AuditSummary } from '../audit/summary.ts';
import { accountOf } from '../aws/credentials.ts';
import { isoFromEpochSeconds } from '../clock.ts';
import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { noSessionError } from '../errors.ts';
import { VaultClient } from '../vault/client.ts';
import { loadSession } from './session.ts';

/** The contract's `whoami --json` object: every key always present. */
export interface WhoamiReport {
  profile: string;
  hardware: null | { credential_id: string; aaguid: string; last_touch: string | null };
  oidc: { issuer: string; subject: string | null; email: string | null; groups: string[] | null; expires_at: string | null };
  vault: {
    addr: string;
    accessor: string;
    display_name: string;
    policies: string[];
    entity_id: string;
    expires_at: string;
    renewable: boolean;
  };
  /** `arn`, `account` and `user_id` are null where tng cannot know them: without the live STS check (`--no-verify`, expired credentials), `user_id` always. */
  aws: null | { arn: string | null; account: string | null; user_id: string | null; access_key_id: string; expires_at: string };
  audit: AuditSummary;
}

/** Reads the identity chain live: the stored session checked with Vault's lookup-self, the AWS credentials with STS. */
export async function whoami(profile: Profile, deps: Pick<Deps, 'clock' | 'keychain' | 'fetch' | 'paths' | 'env'>, verify = true): Promise<WhoamiReport> {
  const store = await deps.keychain();
  const session = await loadSession(store, profile.name);
  if (session === undefined) {
    await (await import('../keychain/probe.ts')).assertNotLocked(store, profile.name);
    throw noSessionError(`Not logged in (profile "${profile.name}").`);
  }
  const fetch = await deps.fetch({ cacertPath: profile.vaultCacert });
  const vault = new VaultClient({ addr: session.vault.addr, namespace: session.vault.namespace ?? undefined, fetch });
  const lookup = await vault.lookupSelf(session.vault.token);
  const nowSeconds = Math.floor(deps.clock.now() / 1000);
  const expiresAt = lookup.expire_time ? new Date(lookup.expire_time).toISOString() : isoFromEpochSeconds(nowSeconds + lookup.ttl);
  const audit = await auditFacts(deps.paths.state, profile.name);
  // The key that touched last (a backup key when that was the one used), else the first enrolled.
  const touchedKey = profile.fido2.find((e) => e.credential_id === audit.lastTouch?.credential_id);
  const enrolled = touchedKey ?? profile.fido2[0];
  return {
    profile: profile.name,
    hardware: enrolled ? { credential_id: enrolled.credential_id, aaguid: enrolled.aaguid, last_touch: touchedKey ? (audit.lastTouch?.ts ?? null) : null } : null,
    oidc: {
      issuer: session.oidc.issuer,
      subject: session.oidc.subject,
      email: session.oidc.email,
      groups: session.oidc.groups,
      expires_at: session.oidc.expiresAt === null ? null : isoFromEpochSeconds(session.oidc.expiresAt),
    },
    vault: {
      addr: session.vault.addr,
      accessor: lookup.accessor,
      display_name: lookup.display_name,
      policies: lookup.policies ?? [],
      entity_id: lookup.entity_id,
      expires_at: expiresAt,
      renewable: lookup.renewable,
    },
    aws: profile.awsRole ? await awsPart(profile, profile.awsRole, verify, deps) : null,
    audit: audit.summary,
  };
}

/** The AWS identity of the profile's current credentials: null before any were issued. */
async function awsPart(profile: Profile, role: string, verify: boolean, deps: Pick<Deps, 'clock' | 'keychain' | 'env'>): Promise<WhoamiReport['aws']> {
  const { cachedAwsCredentials } = await import('../aws/provider.ts');
  const credentials = await cachedAwsCredentials(await deps.keychain(), profile.name, role, profile.awsRoleArn);
  if (credentials === undefined) return null;
  const known = { arn: credentials.arn || null, account: accountOf(credentials.arn) ?? null, user_id: null };
  const live = verify && credentials.expiresAt > deps.clock.now() / 1000;
  const identity = live
    ? await (await import('../aws/sts.ts')).callerIdentity(credentials, { region: profile.awsRegion ?? 'us-east-1', env: deps.env })
    : undefined;
  return {
    arn: identity?.arn || known.arn,
    account: identity?.account || known.account,
    user_id: identity?.userId || known.user_id,
    access_key_id: credentials.accessKeyId,
    expires_at: isoFromEpochSeconds(credentials.expiresAt),
  };
}

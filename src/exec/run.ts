import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { argvDigest } from '../audit/argv-digest.ts';
import { checkTrailWritable } from '../audit/file.ts';
import { awsCredentials, type AwsRequest } from '../aws/provider.ts';
import type { AwsCredentials } from '../aws/credentials.ts';
import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { describe } from '../errors.ts';
import { currentSession, withLiveSession } from '../session/current.ts';
import { renewIfEndingWithin } from '../session/renew.ts';
import { loadSession } from '../session/session.ts';
import { runChild } from './child.ts';
import { startCredentialsEndpoint, type CredentialsEndpoint } from './endpoint.ts';
import { childEnvironment, type ChildEnvInput } from './env.ts';

export interface ExecPlan {
  command: string;
  args: string[];
  role?: string;
  roleArn?: string;
  ttlSeconds?: number;
  noAws: boolean;
  noVault: boolean;
  noServer: boolean;
}

/**
 * `tng exec`: a session (logging in first on a terminal), AWS credentials fetched before the child
 * starts, then the child with inherited stdio and its exit status. The audit entry is written once the
 * child runs, off the start-up path; its id is in the child's TNG_AUDIT_ID.
 */
export async function execute(profile: Profile, plan: ExecPlan, deps: Deps): Promise<number> {
  const argvSha256 = argvDigest([plan.command, ...plan.args]);
  const program = basename(plan.command);
  // An unsigned exec's entry is written once the child runs: a trail that cannot take it stops the exec here,
  // before any credentials are handed out (a signed one is written before the child starts anyway).
  if (profile.touch !== 'exec') checkTrailWritable(deps.paths.state);
  // With touch = "exec" the exec's own entry is signed by the touch, and its id is TNG_AUDIT_ID.
  const loadSession = () => currentSession(profile, deps, true);
  const opened =
    profile.touch === 'exec'
      ? await (await import('../hardware/signed-touch.ts')).withExecTouch(
          profile,
          { event: 'exec', profile: profile.name, program, argv_sha256: argvSha256 },
          `Touch your security key to run ${program}.`,
          deps,
          loadSession,
        )
      : { session: await loadSession(), signed: undefined };
  const signed = opened.signed;
  let session = opened.session;
  const auditId = signed?.id ?? randomUUID();
  const role = plan.noAws ? undefined : (plan.role ?? profile.awsRole);
  const request: AwsRequest | undefined = role
    ? { role, roleArn: plan.roleArn ?? profile.awsRoleArn, ttlSeconds: plan.ttlSeconds ?? profile.awsTtlSeconds, auditId }
    : undefined;

  let credentials: AwsCredentials | undefined;
  let endpoint: CredentialsEndpoint | undefined;
  let aws: ChildEnvInput['aws'];
  if (request) {
    ({ value: credentials, session } = await withLiveSession(profile, deps, session, (live) => awsCredentials(profile, request, deps, live)));
    const staticKeys = plan.noServer || profile.awsCredentialType === 'creds';
    if (profile.awsCredentialType === 'creds' && !plan.noServer) {
      deps.io.info('tng: IAM-user keys have no session token, so they go into the environment (--no-server).');
    }
    if (staticKeys) {
      aws = { mode: 'static', credentials, region: profile.awsRegion };
    } else {
      endpoint = await startCredentialsEndpoint({
        credentials: () => awsCredentials(profile, request, deps),
        sessionEndsAt: () => sessionEndsAt(profile, deps),
        now: () => deps.clock.now(),
        warn: (line) => deps.io.warn(line),
      });
      aws = { mode: 'endpoint', url: endpoint.url, authorization: endpoint.authorization, region: profile.awsRegion };
    }
  }

  const env = childEnvironment({
    inherited: deps.env,
    profile: profile.name,
    auditId,
    vault: plan.noVault ? undefined : { addr: session.vault.addr, token: session.vault.token, namespace: session.vault.namespace ?? undefined },
    aws,
  });
  deps.handOverSignals();
  let audited: Promise<void> | undefined;
  try {
    const status = await runChild({
      command: plan.command,
      args: plan.args,
      env,
      terminal: deps.io.canPrompt(),
      onStart: () => {
        if (signed) return;
        // Written while the child runs, off its start-up path.
        audited = import('../audit/chain.ts')
          .then(({ appendEntry }) =>
            appendEntry(deps.paths.state, {
              event: 'exec',
              profile: profile.name,
              program,
              argv_sha256: argvSha256,
              vault_accessor: session.vault.accessor,
              aws_access_key_id: credentials?.accessKeyId ?? null,
              login: session.login ?? null,
            }, { id: auditId, durable: false }),
          )
          .then(() => undefined, (error: unknown) => deps.io.warn(`Could not write the audit entry ${auditId} for this exec: ${describe(error)}`));
      },
    });
    await audited;
    return status;
  } finally {
    endpoint?.close();
  }
}

/** When the session ends, renewing it first when it is close to its end (a login elsewhere also counts). */
async function sessionEndsAt(profile: Profile, deps: Deps): Promise<number | undefined> {
  const store = await deps.keychain();
  const session = await loadSession(store, profile.name);
  if (session === undefined) return undefined;
  if (!session.vault.renewable) return session.vault.expiresAt;
  const [fetch, { VaultClient }] = await Promise.all([deps.fetch({ cacertPath: profile.vaultCacert }), import('../vault/client.ts')]);
  const vault = new VaultClient({ addr: session.vault.addr, namespace: session.vault.namespace ?? undefined, fetch });
  return (await renewIfEndingWithin(session, 180, vault, deps).catch(() => session)).vault.expiresAt;
}

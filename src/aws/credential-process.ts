import { loadProfile } from '../config/file.ts';
import { prepareKeychain, type Deps } from '../deps.ts';
import { refuseEmptyFlags, usageError } from '../errors.ts';
import type { Session } from '../session/session.ts';

export interface CredentialProcessOptions {
  profile?: string;
  role?: string;
}

/** Prints exactly the process-credentials JSON (Version 1) on stdout; errors go to stderr. */
export async function runCredentialProcess(options: CredentialProcessOptions, deps: Deps): Promise<number> {
  refuseEmptyFlags({ '--role': options.role });
  prepareKeychain(deps);
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const role = options.role ?? profile.awsRole;
  if (!role) {
    throw usageError('aws.no-role', `Profile "${profile.name}" has no aws_role.`, `Pass --role ROLE, or run \`tng init --profile ${profile.name} --aws-role ROLE\`.`);
  }
  const [{ currentSession }, { awsCredentials }] = await Promise.all([import('../session/current.ts'), import('./provider.ts')]);
  // With touch = "exec" each hand-out is signed into the audit trail by its own touch; otherwise it leaves no
  // entry (the AWS CLI calls it per command), so the audit code stays off this path.
  const loadSession = () => currentSession(profile, deps, false);
  let signedId: string | undefined;
  let session: Session;
  if (profile.touch === 'exec') {
    const [{ withExecTouch }, { argvDigest }] = await Promise.all([import('../hardware/signed-touch.ts'), import('../audit/argv-digest.ts')]);
    // An exec entry like any other: the "command" is the hand-out itself, credentials for this role.
    const argv = ['credential-process', '--role', role];
    const body = { event: 'exec' as const, profile: profile.name, program: 'credential-process', argv_sha256: argvDigest(argv), role };
    const touched = await withExecTouch(profile, body, 'Touch your security key to hand AWS credentials to the AWS CLI.', deps, loadSession);
    signedId = touched.signed.id;
    session = touched.session;
  } else {
    session = await loadSession();
  }
  const credentials = await awsCredentials(profile, { role, roleArn: profile.awsRoleArn, ttlSeconds: profile.awsTtlSeconds, auditId: signedId }, deps, session);
  const output: Record<string, unknown> = {
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
  };
  if (credentials.sessionToken) output.SessionToken = credentials.sessionToken;
  output.Expiration = new Date(credentials.expiresAt * 1000).toISOString();
  deps.io.out(JSON.stringify(output));
  return 0;
}

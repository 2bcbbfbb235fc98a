import { loadProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { usageError } from '../errors.ts';

export interface CredentialProcessOptions {
  profile?: string;
  role?: string;
}

/** Prints exactly the process-credentials JSON (Version 1) on stdout; errors go to stderr. */
export async function runCredentialProcess(options: CredentialProcessOptions, deps: Deps): Promise<number> {
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const role = options.role ?? profile.awsRole;
  if (!role) {
    throw usageError('aws.no-role', `Profile "${profile.name}" has no aws_role.`, `Pass --role ROLE, or run \`tng init --profile ${profile.name} --aws-role ROLE\`.`);
  }
  const [{ currentSession }, { awsCredentials }, { newAuditId }] = await Promise.all([
    import('../session/current.ts'),
    import('./provider.ts'),
    import('../audit/log.ts'),
  ]);
  // With touch = "exec" each hand-out is signed into the audit trail by its own touch (which also opens a
  // sealed secrets file, so then it comes first); otherwise it leaves no entry: the AWS CLI calls it per command.
  const signHandOut = async () => {
    const { touchAndSign } = await import('../hardware/signed-touch.ts');
    const body = { event: 'exec' as const, profile: profile.name, program: 'credential-process', role };
    const purpose = 'Touch your security key to hand AWS credentials to the AWS CLI.';
    return (await touchAndSign(profile, body, { purpose, openDataKey: deps.env.TNG_KEYCHAIN === 'file' }, deps)).entry;
  };
  let signed = profile.touch === 'exec' && deps.env.TNG_KEYCHAIN === 'file' ? await signHandOut() : undefined;
  await currentSession(profile, deps, false);
  if (profile.touch === 'exec') signed ??= await signHandOut();
  const auditId = signed?.id ?? newAuditId();
  const credentials = await awsCredentials(profile, { role, roleArn: profile.awsRoleArn, ttlSeconds: profile.awsTtlSeconds, auditId }, deps);
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

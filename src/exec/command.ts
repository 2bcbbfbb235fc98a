import { loadProfile } from '../config/file.ts';
import { prepareKeychain, type Deps } from '../deps.ts';
import { refuseEmptyFlags, usageError } from '../errors.ts';
import type { ExecPlan } from './run.ts';

export interface ExecOptions extends ExecPlan {
  profile?: string;
}

export async function runExec(options: ExecOptions, deps: Deps): Promise<number> {
  const parent = deps.env.TNG_AUDIT_ID;
  if (parent) {
    throw usageError(
      'exec.nested',
      `Already inside \`tng exec\` (audit id ${parent}).`,
      'Use the parent\'s credentials, which are already in this environment, instead of nesting tng exec.',
    );
  }
  refuseEmptyFlags({ '--role': options.role, '--role-arn': options.roleArn });
  prepareKeychain(deps);
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  // Flags that shape the AWS credentials mean nothing when none are handed out: a mistake, not a no-op.
  const awsFlags = [options.role && '--role', options.roleArn && '--role-arn', options.ttlSeconds !== undefined && '--ttl'].filter(
    (flag): flag is string => typeof flag === 'string',
  );
  if (options.noAws && awsFlags.length > 0) {
    throw usageError('exec.flags', `${awsFlags.join(', ')} and --no-aws do not go together.`, 'Drop --no-aws to get AWS credentials, or drop the AWS flags.');
  }
  if (!options.noAws && !options.role && !profile.awsRole && awsFlags.length > 0) {
    throw usageError(
      'exec.flags',
      `${awsFlags.join(', ')} given, but profile "${profile.name}" has no aws_role, so no AWS credentials are handed out.`,
      `Pass --role ROLE, or run \`tng init --profile ${profile.name} --aws-role ROLE\`.`,
    );
  }
  const { execute } = await import('../exec/run.ts');
  return execute(profile, options, deps);
}

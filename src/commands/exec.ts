import { Command } from 'commander';
import { loadProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { parseDuration } from '../duration.ts';
import { usageError } from '../errors.ts';
import type { ExecPlan } from '../exec/run.ts';
import { withProfile, type Done } from './shared.ts';

export interface ExecOptions extends ExecPlan {
  profile?: string;
}

export function execCommand(deps: Deps, done: Done, run = runExec): Command {
  return withProfile(new Command('exec'))
    .description('run a command with short-lived Vault and AWS credentials in its environment, nothing on disk')
    .argument('<command>', 'the program to run')
    .argument('[args...]', 'its arguments')
    .option('--role <role>', 'Vault AWS secrets engine role (default: aws_role)')
    .option('--role-arn <arn>', 'role_arn to request when the Vault role allows several')
    .option('--ttl <duration>', 'requested lifetime of STS credentials (default: aws_ttl, 15m)')
    .option('--no-aws', 'no AWS credentials')
    .option('--no-vault', 'no VAULT_TOKEN')
    .option('--no-server', 'static AWS keys in the environment instead of the credentials endpoint')
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Examples:
  tng exec -- terraform apply
  tng exec --role readonly -- aws s3 ls
  tng exec --no-server --ttl 1h -- ./deploy.sh

The child gets VAULT_ADDR/VAULT_TOKEN, AWS credentials through a local credentials endpoint
(AWS_CONTAINER_CREDENTIALS_FULL_URI) that keeps them fresh while it runs, and TNG_AUDIT_ID.`,
    )
    .action(async (command: string, args: string[], flags: { profile?: string; role?: string; roleArn?: string; ttl?: string; aws: boolean; vault: boolean; server: boolean }) => {
      done(
        await run(
          {
            profile: flags.profile,
            command,
            args,
            role: flags.role,
            roleArn: flags.roleArn,
            ttlSeconds: flags.ttl === undefined ? undefined : parseDuration(flags.ttl, '--ttl'),
            noAws: !flags.aws,
            noVault: !flags.vault,
            noServer: !flags.server,
          },
          deps,
        ),
      );
    });
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
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const { execute } = await import('../exec/run.ts');
  return execute(profile, options, deps);
}

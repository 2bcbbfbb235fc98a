import { Command } from 'commander';
import type { Deps } from '../deps.ts';
import { parseDuration } from '../duration.ts';
import { runExec } from '../exec/command.ts';
import { withProfile, type Done } from './shared.ts';

export { runExec, type ExecOptions } from '../exec/command.ts';

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

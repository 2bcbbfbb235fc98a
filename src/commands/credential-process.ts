import { Command } from 'commander';
import type { Deps } from '../deps.ts';
import { runCredentialProcess } from '../aws/credential-process.ts';
import { withProfile, type Done } from './shared.ts';

export { runCredentialProcess, type CredentialProcessOptions } from '../aws/credential-process.ts';

export function credentialProcessCommand(deps: Deps, done: Done, run = runCredentialProcess): Command {
  return withProfile(new Command('credential-process'))
    .description('print AWS credentials for credential_process in ~/.aws/config (never opens a browser)')
    .option('--role <role>', 'Vault AWS secrets engine role (default: aws_role)')
    .addHelpText(
      'after',
      `
Prints {"Version":1,"AccessKeyId",...,"Expiration"} on stdout; exits 3 without a session (run \`tng login\`).

Examples:
  tng credential-process --profile work | jq .Expiration
  # in ~/.aws/config:
  [profile work]
  credential_process = /usr/local/bin/tng credential-process --profile work`,
    )
    .action(async (flags: { profile?: string; role?: string }) => {
      done(await run({ profile: flags.profile, role: flags.role }, deps));
    });
}

import { Command } from 'commander';
import type { Deps } from '../deps.ts';
import { runLogin } from './login-run.ts';
import { withProfile, type Done } from './shared.ts';

export type { LoginOptions } from './login-run.ts';

export function loginCommand(deps: Deps, done: Done, run = runLogin): Command {
  return withProfile(new Command('login'))
    .description('log in anew: touch → Dex → Vault → keychain (replaces and revokes the previous Vault token)')
    .option('--device-code', 'use the device authorization grant (default over SSH with no display)', false)
    .option('--no-browser', 'print the authorization URL instead of opening a browser')
    .addHelpText(
      'after',
      `
Examples:
  tng login                      # refresh token if stored, else the browser
  tng login --device-code        # on a machine without a browser
  tng login --no-browser         # print the URL and open it yourself`,
    )
    .action(async (flags: { profile?: string; deviceCode: boolean; browser: boolean }) => {
      done(await run({ profile: flags.profile, deviceCode: flags.deviceCode, noBrowser: !flags.browser }, deps));
    });
}

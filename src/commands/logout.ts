import { Command } from 'commander';
import { readConfigFile, selectProfileName, unknownProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { withProfile, type Done } from './shared.ts';

export interface LogoutOptions {
  profile?: string;
  all: boolean;
}

export function logoutCommand(deps: Deps, done: Done, run = runLogout): Command {
  return withProfile(new Command('logout'))
    .description('revoke the Vault token and delete the profile\'s secrets from the keychain (works offline)')
    .option('--all', 'log out of every profile', false)
    .addHelpText('after', '\nExamples:\n  tng logout\n  tng logout --all')
    .action(async (flags: { profile?: string; all: boolean }) => {
      done(await run({ profile: flags.profile, all: flags.all }, deps));
    });
}

export async function runLogout(options: LogoutOptions, deps: Deps): Promise<number> {
  // Logout needs only the profile's name (the session knows its Vault), so a broken profile can still log out.
  const config = await readConfigFile(deps.paths.config);
  const names = options.all ? Object.keys(config.profiles) : [selectProfileName(config, options.profile, deps.env)];
  const { logout } = await import('../session/logout.ts');
  for (const name of names) {
    const table = config.profiles[name];
    const result = await logout({ profile: name, cacertPath: table?.vault_cacert, vaultAddr: table?.vault_addr, vaultNamespace: table?.vault_namespace }, deps);
    // A name the config does not know is a typo unless the keychain still held something of it (a
    // profile removed from the config is logged out all the same).
    if (!result.hadSession && table === undefined) throw unknownProfile(config, name);
    if (!result.hadSession) deps.io.info(`Profile "${name}": not logged in.`);
    else deps.io.info(`Profile "${name}": logged out${result.revoked ? ' (Vault token revoked)' : ''}.`);
  }
  return 0;
}

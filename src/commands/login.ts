import { Command } from 'commander';
import { loadProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { LOGIN_TIMEOUT_MS } from '../session/login-timeout.ts';
import { withScreen } from '../ui/screen.ts';
import { withProfile, type Done } from './shared.ts';

export interface LoginOptions {
  profile?: string;
  deviceCode: boolean;
  noBrowser: boolean;
}


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

export async function runLogin(options: LoginOptions, deps: Deps): Promise<number> {
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const { login } = await import('../session/login.ts');
  // On a terminal the chain shows as live steps (touch → identity → Vault → keychain); elsewhere plain lines.
  return withScreen(deps.io, async (io) => {
    const { session, reused } = await login(profile, { deviceCode: options.deviceCode, noBrowser: options.noBrowser, timeoutMs: LOGIN_TIMEOUT_MS }, { ...deps, io });
    const who = session.oidc.email ?? session.oidc.subject ?? 'you (through Vault\'s OIDC method)';
    const minutes = Math.round((session.vault.expiresAt * 1000 - deps.clock.now()) / 60000);
    if (reused) io.info('Another tng login for this profile finished while this one waited; using its session.');
    io.info(`Logged in as ${who} (profile "${profile.name}"); Vault token valid for ${minutes} min, kept in the keychain.`);
    return 0;
  });
}

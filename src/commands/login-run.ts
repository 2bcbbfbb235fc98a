/**
 * What `tng login` does once its arguments are read, apart from commander: the executable's hot path
 * (src/cli/entry.ts) runs a plain `tng login` without loading the full command-line program.
 */
import { loadProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { LOGIN_TIMEOUT_MS } from '../session/login-timeout.ts';
import { withScreen } from '../ui/screen.ts';

export interface LoginOptions {
  profile?: string;
  deviceCode: boolean;
  noBrowser: boolean;
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

import { Command } from 'commander';
import { checkProfileName, readConfigFile, unknownProfile, type ConfigFile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { usageError } from '../errors.ts';
import { bareNamespace, bareVaultAddr, tokenHelperKey } from '../keychain/store.ts';
import { loadSession } from '../session/session.ts';
import { type Done } from './shared.ts';

export type TokenHelperOperation = 'get' | 'store' | 'erase';

export interface TokenHelperOptions {
  operation: TokenHelperOperation;
  profile?: string;
}

export function tokenHelperCommand(deps: Deps, done: Done, run = runTokenHelper): Command {
  return new Command('token-helper')
    .description('a Vault CLI token helper backed by the keychain (token_helper in ~/.vault)')
    .argument('<operation>', 'get, store or erase')
    .option('--profile <name>', "get prefers this profile's session (it must exist); the Vault CLI selects by VAULT_ADDR")
    .addHelpText(
      'after',
      `
Examples:
  VAULT_ADDR=https://vault.example.com tng token-helper get    # the token the Vault CLI would use
  # in ~/.vault (the Vault CLI runs it as \`<path> get|store|erase\`):
  token_helper = "/usr/local/bin/tng-token-helper"`,
    )
    .action(async (operation: string, flags: { profile?: string }) => {
      if (operation !== 'get' && operation !== 'store' && operation !== 'erase') {
        throw usageError('token-helper.operation', `Unknown token-helper operation "${operation}".`, 'The Vault CLI calls it with get, store or erase.');
      }
      done(await run({ operation, profile: flags.profile }, deps));
    });
}

/**
 * The Vault CLI's token-helper protocol: `get` prints the token stored for VAULT_ADDR (+ namespace), else
 * the session token of the profile whose vault_addr matches, else nothing; no trailing newline.
 */
export async function runTokenHelper(options: TokenHelperOptions, deps: Deps): Promise<number> {
  const addr = deps.env.VAULT_ADDR ? bareVaultAddr(deps.env.VAULT_ADDR) : undefined;
  const namespace = bareNamespace(deps.env.VAULT_NAMESPACE);
  // A profile named with --profile or TNG_PROFILE must exist, as for every command: a typo would otherwise
  // hand the Vault CLI no token and leave it to fail with "permission denied".
  const named = options.profile ?? (deps.env.TNG_PROFILE || undefined);
  const config = named === undefined ? undefined : await configHolding(deps.paths.config, named);
  if (addr === undefined) {
    if (options.operation === 'get') return 0;
    throw usageError('token-helper.no-addr', 'VAULT_ADDR is not set.', 'Export VAULT_ADDR: tng keeps tokens per Vault address, and the Vault CLI passes its token helper the environment, not its -address flag.');
  }
  const store = await deps.keychain();
  const key = tokenHelperKey(addr, namespace);
  switch (options.operation) {
    case 'store': {
      const token = (await deps.io.readStdin()).trim();
      if (token === '') await store.delete(key);
      else await store.set(key, token);
      return 0;
    }
    case 'erase':
      await store.delete(key);
      return 0;
    case 'get': {
      const stored = await store.get(key);
      if (stored !== undefined) {
        deps.io.out(stored);
        return 0;
      }
      const { profiles, default_profile } = config ?? (await readConfigFile(deps.paths.config));
      const names = Object.keys(profiles).filter((name) => {
        const profile = profiles[name];
        return profile?.vault_addr !== undefined && bareVaultAddr(profile.vault_addr) === addr && bareNamespace(profile.vault_namespace) === namespace;
      });
      const preferred = named ?? default_profile;
      const ordered = preferred && names.includes(preferred) ? [preferred, ...names.filter((n) => n !== preferred)] : names;
      for (const name of ordered) {
        const session = await loadSession(store, name);
        if (session !== undefined && session.vault.expiresAt > deps.clock.now() / 1000) {
          deps.io.out(session.vault.token);
          return 0;
        }
      }
      return 0;
    }
  }
}

async function configHolding(path: string, name: string): Promise<ConfigFile> {
  const config = await readConfigFile(path);
  if (config.profiles[checkProfileName(name)] === undefined) throw unknownProfile(config, name);
  return config;
}

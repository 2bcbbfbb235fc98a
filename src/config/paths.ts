import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Paths {
  config: string;
  state: string;
}

/** Where tng's config file and state dir live, from the environment (see the contract's Files table). */
export function resolvePaths(env: NodeJS.ProcessEnv, home: string = env.HOME ?? homedir()): Paths {
  const config =
    env.TNG_CONFIG || join(env.XDG_CONFIG_HOME || join(home, '.config'), 'tng', 'config.toml');
  const state = env.TNG_STATE_DIR || join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'tng');
  return { config, state };
}

/** tng's cache dir ($XDG_CACHE_HOME/tng, else ~/.cache/tng): only what tng can rebuild, never a secret; undefined without a home. */
export function cacheDir(env: NodeJS.ProcessEnv, home: string | undefined = env.HOME || safeHomedir()): string | undefined {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'tng');
  return home ? join(home, '.cache', 'tng') : undefined;
}

function safeHomedir(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface Paths {
  config: string;
  state: string;
}

/** An XDG base directory from the environment: only an absolute path counts (the XDG spec ignores the rest). */
function xdgDir(value: string | undefined): string | undefined {
  return value && isAbsolute(value) ? value : undefined;
}

/** The user's home: $HOME when set and not empty, else the system's record of it (undefined when it has none). */
function homeOf(env: NodeJS.ProcessEnv): string | undefined {
  if (env.HOME) return env.HOME;
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

/** Where tng's config file and state dir live, from the environment (see the contract's Files table). */
export function resolvePaths(env: NodeJS.ProcessEnv, home: string | undefined = homeOf(env)): Paths {
  // Without any home (no $HOME and no passwd entry) the paths fall under /: absolute, never relative to wherever tng runs.
  const base = home ?? '/';
  const config = env.TNG_CONFIG || join(xdgDir(env.XDG_CONFIG_HOME) ?? join(base, '.config'), 'tng', 'config.toml');
  const state = env.TNG_STATE_DIR || join(xdgDir(env.XDG_STATE_HOME) ?? join(base, '.local', 'state'), 'tng');
  return { config, state };
}

/** tng's cache dir ($XDG_CACHE_HOME/tng, else ~/.cache/tng): only what tng can rebuild, never a secret; undefined without a home. */
export function cacheDir(env: NodeJS.ProcessEnv, home: string | undefined = homeOf(env)): string | undefined {
  const xdg = xdgDir(env.XDG_CACHE_HOME);
  if (xdg) return join(xdg, 'tng');
  return home ? join(home, '.cache', 'tng') : undefined;
}

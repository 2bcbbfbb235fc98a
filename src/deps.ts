import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { resolvePaths, type Paths } from './config/paths.ts';
import { usageError } from './errors.ts';
import type { SecretStore } from './keychain/store.ts';
import type { Fetch } from './net/http.ts';
import type { Browser } from './platform/browser.ts';
import { createIO, type IO } from './ui/io.ts';

/**
 * Everything a command can reach that is not pure logic. Commands take a `Pick<Deps, ...>` of what
 * they need; heavy members are functions that load their module on first use.
 */
export interface Deps {
  env: NodeJS.ProcessEnv;
  io: IO;
  clock: Clock;
  paths: Paths;
  /** Aborted on Ctrl-C while tng itself waits (browser, touch, PIN). */
  signal: AbortSignal;
  /** From now on a child process owns Ctrl-C: tng stops treating SIGINT as its own interruption. */
  handOverSignals(): void;
  keychain(): Promise<SecretStore>;
  /** The fetch for one profile's servers, trusting its `vault_cacert` in addition to the system CAs. */
  fetch(options: { cacertPath?: string }): Promise<Fetch>;
  browser(): Promise<Browser>;
}

export function createDeps(env: NodeJS.ProcessEnv, signal: AbortSignal, io: IO = createIO(), handOverSignals: () => void = () => undefined): Deps {
  let keychain: Promise<SecretStore> | undefined;
  const deps: Deps = {
    env,
    io,
    clock: systemClock,
    paths: resolvePaths(env),
    signal,
    handOverSignals,
    keychain: () => {
      keychain ??= createKeychain(deps);
      return keychain;
    },
    fetch: async (options) => (await import('./net/http.ts')).createFetch({ ...options, env }),
    browser: async () => (await import('./platform/browser.ts')).createBrowser(env),
  };
  return deps;
}

/**
 * Starts the keychain's background preparation (the OS keychain's session-bus probe) so that it overlaps
 * what a command does before its first read; a failure surfaces at that read.
 */
export function prepareKeychain(deps: Pick<Deps, 'keychain'>): void {
  void deps.keychain().then(
    (store) => store.prepare?.(),
    () => undefined,
  );
}

/** The keychain TNG_KEYCHAIN names: `os` (the default) or `file`; nothing falls back to another one. */
async function createKeychain(deps: Deps): Promise<SecretStore> {
  const kind = deps.env.TNG_KEYCHAIN || 'os';
  if (kind === 'os') {
    const { createOsKeychain } = await import('./keychain/os.ts');
    return createOsKeychain({ env: deps.env });
  }
  if (kind === 'file') {
    const [{ createFileKeychain, FILE_KEYCHAIN_NAME }, { join }] = await Promise.all([import('./keychain/file.ts'), import('node:path')]);
    const store = createFileKeychain({
      path: join(deps.paths.state, FILE_KEYCHAIN_NAME),
      signal: deps.signal,
      unlock: async (credentialIds) => {
        const { unlockFileKeychain } = await import('./hardware/touch.ts');
        await unlockFileKeychain(store, credentialIds, deps);
      },
    });
    return store;
  }
  throw usageError(
    'keychain.unknown',
    `TNG_KEYCHAIN="${kind}" names no keychain tng knows.`,
    'Set TNG_KEYCHAIN=os (the OS keychain, the default) or TNG_KEYCHAIN=file (a file in the state dir sealed by your enrolled security key), or unset it.',
  );
}

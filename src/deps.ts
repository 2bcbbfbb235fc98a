import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { resolvePaths, type Paths } from './config/paths.ts';
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
  return {
    env,
    io,
    clock: systemClock,
    paths: resolvePaths(env),
    signal,
    handOverSignals,
    keychain: () => {
      keychain ??= import('./keychain/os.ts').then(({ createOsKeychain }) => createOsKeychain({ env }));
      return keychain;
    },
    fetch: async (options) => (await import('./net/http.ts')).createFetch({ ...options, env }),
    browser: async () => (await import('./platform/browser.ts')).createBrowser(env),
  };
}

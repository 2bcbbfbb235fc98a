/**
 * The OS keychain as a {@link SecretStore}: @napi-rs/keyring in tng's own process, service `tng`,
 * account = the key.
 *
 * - Linux: always the Secret Service over D-Bus (gnome-keyring, KWallet, KeePassXC). The library's default
 *   would silently fall back to the kernel keyutils keyring (in memory only, gone after a reboot), so every
 *   entry is pinned to `secret-service`, which makes an unavailable Secret Service an error instead.
 * - Never hangs on a dead bus: the library's calls are synchronous and cannot be cancelled, so before the
 *   first one the session bus is probed (bus-probe.ts) under a deadline (`timeoutMs`); without a bus it fails
 *   at once, and a bus that does not answer is `keychain.timeout`. What the probe cannot see — a Secret
 *   Service that hangs behind a live bus — ends with the library's own D-Bus timeout.
 * - A locked keyring is an error (`keychain.locked`); tng does not wait for unlock prompts.
 * - Values over {@link CHUNK_BYTES} bytes are split over several items (see chunks.ts).
 * - Each item opens its own Secret Service session (several ms), so the hot paths read one item.
 */
import { createRequire } from 'node:module';
import { TngError, describe } from '../errors.ts';
import {
  CHUNK_BYTES,
  MAX_CHUNKS,
  chunkKey,
  decodeChunks,
  encodeChunks,
  formatHeader,
  isChunkKey,
  isHeader,
  needsChunks,
  parseHeader,
} from './chunks.ts';
import { locateSessionBus, probeBusSocket } from './bus-probe.ts';
import { SERVICE, type SecretStore } from './store.ts';

export { CHUNK_BYTES };

export const DEFAULT_TIMEOUT_MS = 5000;

export interface OsKeychainOptions {
  /** Deadline for the session bus to answer before the first call (default 5000). */
  timeoutMs?: number;
  /** The environment that locates the session bus (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export type OsKeychain = SecretStore;

const FALLBACK_HINT = 'Start a desktop session or gnome-keyring (Secret Service), or set TNG_KEYCHAIN=file after enrolling a key.';

function keychainError(code: string, message: string, hint: string, cause?: unknown): TngError {
  return new TngError('keychain', code, message, { hint, cause });
}

function unavailable(detail: string, cause?: unknown): TngError {
  return keychainError('keychain.unavailable', `The OS keychain is not available (${detail}).`, FALLBACK_HINT, cause);
}

function timedOut(timeoutMs: number | undefined, cause?: unknown): TngError {
  const within = timeoutMs === undefined ? ' in time' : ` within ${Number((timeoutMs / 1000).toFixed(3))} s`;
  return keychainError(
    'keychain.timeout',
    `The OS keychain did not answer${within}.`,
    'Check that gnome-keyring (Secret Service) is running and not waiting for an unlock prompt, or set TNG_KEYCHAIN=file after enrolling a key.',
    cause,
  );
}

/** Why the session bus certainly cannot be reached, or undefined when it may be (Linux only). */
export function missingBusReason(env: NodeJS.ProcessEnv): string | undefined {
  const location = locateSessionBus(env);
  return 'missing' in location ? location.missing : undefined;
}

/** Removes any secret text from a library message and keeps it to one line. */
function scrub(message: string, secrets: readonly string[]): string {
  let text = message;
  for (const secret of secrets) if (secret.length >= 4) text = text.split(secret).join('[secret]');
  return text.replace(/\s+/g, ' ').trim();
}

/** Translates a failure of the keyring library into a TngError of kind `keychain`. */
function translate(error: unknown, secrets: readonly string[] = []): TngError {
  if (error instanceof TngError) return error;
  const text = scrub(describe(error), secrets);
  const cause = new Error(text);
  if (/prompt (was )?dismissed|object locked|is locked/i.test(text)) {
    return keychainError(
      'keychain.locked',
      'The OS keychain is locked.',
      'Unlock the login keyring (log in to the desktop, or `gnome-keyring-daemon --unlock`) and retry; tng does not wait for unlock prompts.',
      cause,
    );
  }
  if (/did not receive a reply|NoReply|timed? ?out/i.test(text)) return timedOut(undefined, cause);
  if (/no result found/i.test(text)) {
    return keychainError(
      'keychain.unavailable',
      'The OS keychain has no default keyring to keep secrets in.',
      'Create a default ("login") keyring, e.g. with Seahorse, or set TNG_KEYCHAIN=file after enrolling a key.',
      cause,
    );
  }
  if (/failed to connect to socket|autolaunch|DBUS_SESSION_BUS_ADDRESS|no dbus session/i.test(text)) {
    return unavailable('no D-Bus session bus', cause);
  }
  if (/secret service provider|ServiceUnknown|NameHasNoOwner|not provided by any|disconnected|connection closed/i.test(text)) {
    return unavailable('no Secret Service on the D-Bus session bus', cause);
  }
  return keychainError('keychain.failed', `The OS keychain failed: ${text}`, FALLBACK_HINT, cause);
}

/** The library's synchronous entry, as far as tng uses it. */
interface NativeEntry {
  getPassword(): string | null;
  setPassword(password: string): void;
  deleteCredential(): boolean;
}

interface KeyringLibrary {
  Entry: new (service: string, account: string, options: { linux: { store: 'secret-service' } }) => NativeEntry;
}

let library: KeyringLibrary | undefined;

function tryRequire(require: NodeJS.Require, name: string): KeyringLibrary | undefined {
  try {
    return require(name) as KeyringLibrary;
  } catch {
    return undefined;
  }
}

function loadLibrary(): KeyringLibrary {
  if (library !== undefined) return library;
  // Resolved from tng's own location: works bundled (an external dependency) and from source.
  const require = createRequire(import.meta.url);
  try {
    // The glibc build first, directly: the package's own loader runs `ldd` to tell glibc from musl, a
    // process spawn on every start. Anywhere that build does not load, the package's loader decides.
    library = (process.platform === 'linux' ? tryRequire(require, `@napi-rs/keyring-linux-${process.arch}-gnu`) : undefined) ?? (require('@napi-rs/keyring') as KeyringLibrary);
  } catch (error) {
    throw unavailable('its library @napi-rs/keyring cannot be loaded', error);
  }
  return library;
}

function corrupt(key: string): TngError {
  return keychainError(
    'keychain.corrupt',
    `The keychain item "${key}" is damaged (a chunk is missing or altered).`,
    'Remove it (`tng logout`) and log in again.',
  );
}

/** The primitive item operations available inside one deadline-bound call. */
interface Items {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export function createOsKeychain(options: OsKeychainOptions = {}): OsKeychain {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const env = options.env ?? process.env;
  const entries = new Map<string, NativeEntry>();
  let probed: Promise<void> | undefined;

  /** Once per store: the session bus is there and answers (Linux), within the deadline. */
  function probe(): Promise<void> {
    probed ??= (async () => {
      if (process.platform !== 'linux') return;
      const location = locateSessionBus(env);
      if ('missing' in location) throw unavailable('no D-Bus session bus', new Error(location.missing));
      if (location.sockets.length === 0) return;
      const outcomes = await Promise.all(location.sockets.map((socket) => probeBusSocket(socket, timeoutMs)));
      if (outcomes.includes('answered')) return;
      if (outcomes.includes('silent')) throw timedOut(timeoutMs);
      throw unavailable('no D-Bus session bus', new Error('the session bus refused the connection'));
    })();
    probed.catch(() => {
      probed = undefined; // a later call probes again
    });
    return probed;
  }

  function entry(key: string): NativeEntry {
    let found = entries.get(key);
    if (found === undefined) {
      found = new (loadLibrary().Entry)(SERVICE, key, { linux: { store: 'secret-service' } });
      entries.set(key, found);
    }
    return found;
  }

  /** One library call; a failure drops the cached entry (its D-Bus session may be what failed). */
  function call<T>(key: string, secrets: string[], body: (native: NativeEntry) => T): T {
    try {
      return body(entry(key));
    } catch (error) {
      entries.delete(key);
      throw translate(error, secrets);
    }
  }

  const items: Items = {
    get: async (key) => call(key, [], (native) => native.getPassword()),
    set: async (key, value) => call(key, [value], (native) => native.setPassword(value)),
    delete: async (key) => call(key, [], (native) => native.deleteCredential()),
  };

  async function withBus<T>(body: (items: Items) => Promise<T>): Promise<T> {
    await probe();
    return body(items);
  }

  /** Deletes chunk items from `from` through `knownCount`, then any further ones left by an earlier write. */
  async function removeChunks(items: Items, key: string, from: number, knownCount: number): Promise<boolean> {
    let removed = false;
    let index = from;
    for (; index <= knownCount; index += 1) removed = (await items.delete(chunkKey(key, index))) || removed;
    while (index <= MAX_CHUNKS && (await items.delete(chunkKey(key, index)))) {
      removed = true;
      index += 1;
    }
    return removed;
  }

  async function read(items: Items, key: string): Promise<string | undefined> {
    const base = await items.get(key);
    if (base === null) return undefined;
    if (!isHeader(base)) return base;
    const header = parseHeader(base);
    if (header === undefined) throw corrupt(key);
    const chunks = await Promise.all(Array.from({ length: header.count }, (_, i) => items.get(chunkKey(key, i + 1))));
    if (chunks.some((chunk) => chunk === null)) throw corrupt(key);
    const value = decodeChunks(header, chunks as string[]);
    if (value === undefined) throw corrupt(key);
    return value;
  }

  /** How many chunk items may exist beside this base item (all possible ones when its header is damaged). */
  function oldChunkCount(base: string | null): number {
    if (base === null || !isHeader(base)) return 0;
    return parseHeader(base)?.count ?? MAX_CHUNKS;
  }

  function checkKey(key: string): void {
    if (key === '' || isChunkKey(key)) {
      throw new TngError('internal', 'keychain.bad-key', `Invalid keychain item name "${key}".`, {
        hint: 'This is a bug in tng; please report it.',
      });
    }
  }

  return {
    prepare() {
      probe().catch(() => undefined);
    },

    async get(key) {
      checkKey(key);
      return withBus((items) => read(items, key));
    },

    async set(key, value) {
      checkKey(key);
      await withBus(async (items) => {
        const oldCount = oldChunkCount(await items.get(key));
        if (needsChunks(value)) {
          const { header, chunks } = encodeChunks(value);
          if (header.count > MAX_CHUNKS) {
            throw keychainError(
              'keychain.too-large',
              `The secret for "${key}" is too large for the OS keychain (${header.bytes} bytes).`,
              'This is a bug in tng; please report it.',
            );
          }
          // Chunks first, header last: a reader never sees a new header before its chunks exist.
          for (const [i, chunk] of chunks.entries()) await items.set(chunkKey(key, i + 1), chunk);
          await items.set(key, formatHeader(header));
          await removeChunks(items, key, header.count + 1, oldCount);
        } else {
          await items.set(key, value);
          // Chunks exist only beside a chunk header; probing for strays would cost a Secret Service session each.
          if (oldCount > 0) await removeChunks(items, key, 1, oldCount);
        }
        let stored: string | undefined;
        try {
          stored = await read(items, key);
        } catch (error) {
          if (!(error instanceof TngError && error.code === 'keychain.corrupt')) throw error;
        }
        if (stored !== value) {
          throw keychainError(
            'keychain.write-mismatch',
            `The OS keychain did not keep "${key}" intact (the read-back differs from what was written).`,
            'Retry; if it persists, check the Secret Service (gnome-keyring), or set TNG_KEYCHAIN=file after enrolling a key.',
          );
        }
      });
    },

    async delete(key) {
      checkKey(key);
      return withBus(async (items) => {
        const count = oldChunkCount(await items.get(key));
        const removedBase = await items.delete(key);
        const removedChunks = await removeChunks(items, key, 1, count);
        return removedBase || removedChunks;
      });
    },
  };
}

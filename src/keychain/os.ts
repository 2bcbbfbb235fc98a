/**
 * The OS keychain as a {@link SecretStore}: @napi-rs/keyring, service `tng`, account = the key.
 *
 * - Linux: always the Secret Service over D-Bus (gnome-keyring, KWallet, KeePassXC). The library's default
 *   would silently fall back to the kernel keyutils keyring (in memory only, gone after a reboot), so every
 *   entry is pinned to `secret-service`, which makes an unavailable Secret Service an error instead.
 * - Never hangs: without a session bus it fails at once; every call has a deadline (`timeoutMs`), after which
 *   the helper process that runs the library is killed (see os-helper.ts for why a process).
 * - A locked keyring is an error (`keychain.locked`): the helper has no display, so an unlock prompt is
 *   dismissed, and a prompt that someone could answer is cut off by the deadline.
 * - Values over {@link CHUNK_BYTES} bytes are split over several items (see chunks.ts).
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
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
import { HelperStoppedError, KeyringHelper, KeyringLibraryError, resolveKeyringLibrary } from './os-helper.ts';
import { SERVICE, type SecretStore } from './store.ts';

export { CHUNK_BYTES };

export const DEFAULT_TIMEOUT_MS = 5000;

export interface OsKeychainOptions {
  /** Deadline for each get/set/delete, start of the helper included (default 5000). */
  timeoutMs?: number;
  /** The environment that locates the session bus (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface OsKeychain extends SecretStore {
  /** Stops the helper process now (it is started again when needed). Never needed for tng to exit. */
  close(): void;
}

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
  const address = env.DBUS_SESSION_BUS_ADDRESS?.trim();
  if (address) {
    // Fail fast only when every address is a unix socket path that does not exist; anything else
    // (abstract sockets, tcp, …) is left to the library, under the deadline.
    const paths = address
      .split(';')
      .filter((entry) => entry !== '')
      .map((entry) => {
        if (!entry.startsWith('unix:')) return undefined;
        const pair = entry.slice('unix:'.length).split(',').find((part) => part.startsWith('path='));
        if (pair === undefined) return undefined;
        try {
          return decodeURIComponent(pair.slice('path='.length));
        } catch {
          return undefined;
        }
      });
    if (paths.length > 0 && paths.every((path) => path !== undefined && !existsSync(path))) {
      return `no socket at DBUS_SESSION_BUS_ADDRESS=${address}`;
    }
    return undefined;
  }
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime) {
    try {
      if (lstatSync(join(runtime, 'bus')).isSocket()) return undefined;
    } catch {
      // no socket there
    }
  }
  return runtime ? `DBUS_SESSION_BUS_ADDRESS is not set and ${join(runtime, 'bus')} is not a socket` : 'neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set';
}

/** Removes any secret text from a library message and keeps it to one line. */
function scrub(message: string, secrets: readonly string[]): string {
  let text = message;
  for (const secret of secrets) if (secret.length >= 4) text = text.split(secret).join('[secret]');
  return text.replace(/\s+/g, ' ').trim();
}

/** Translates a helper failure into a TngError of kind `keychain`. */
function translate(error: unknown, secrets: readonly string[] = []): TngError {
  if (error instanceof TngError) return error;
  const text = scrub(describe(error), secrets);
  const cause = new Error(text);
  if (error instanceof KeyringLibraryError) {
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
    if (/cannot load @napi-rs\/keyring/.test(text)) return unavailable('its library @napi-rs/keyring cannot be loaded', cause);
    return keychainError('keychain.failed', `The OS keychain failed: ${text}`, FALLBACK_HINT, cause);
  }
  if (error instanceof HelperStoppedError) return unavailable(text, cause);
  return keychainError('keychain.failed', `The OS keychain failed: ${text}`, FALLBACK_HINT, cause);
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
  let helper: KeyringHelper | undefined;

  function currentHelper(): KeyringHelper {
    if (helper !== undefined) return helper;
    let libraryPath: string;
    try {
      libraryPath = resolveKeyringLibrary();
    } catch (error) {
      throw unavailable('its library @napi-rs/keyring is not installed', error);
    }
    helper = new KeyringHelper(SERVICE, env, libraryPath);
    return helper;
  }

  /** Runs `body` under the deadline; on expiry the helper is killed and the call fails with keychain.timeout. */
  async function withDeadline<T>(body: (items: Items) => Promise<T>): Promise<T> {
    if (process.platform === 'linux') {
      const reason = missingBusReason(env);
      if (reason !== undefined) throw unavailable('no D-Bus session bus', new Error(reason));
    }
    const active = currentHelper();
    let expired = false;
    const call = async (request: Parameters<KeyringHelper['request']>[0], secrets: string[]) => {
      if (expired) throw timedOut(timeoutMs);
      try {
        return await active.request(request);
      } catch (error) {
        throw expired ? timedOut(timeoutMs) : translate(error, secrets);
      }
    };
    const items: Items = {
      get: async (key) => {
        const value = await call({ op: 'get', key }, []);
        return typeof value === 'string' ? value : null;
      },
      set: async (key, value) => {
        await call({ op: 'set', key, value }, [value]);
      },
      delete: async (key) => (await call({ op: 'delete', key }, [])) === true,
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      // A ref'd timer: it (not the helper) keeps the event loop alive while the call is pending.
      timer = setTimeout(() => {
        expired = true;
        const error = timedOut(timeoutMs);
        if (helper === active) helper = undefined;
        active.kill(error);
        reject(error);
      }, timeoutMs);
    });
    try {
      return await Promise.race([body(items), deadline]);
    } finally {
      clearTimeout(timer);
    }
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
    async get(key) {
      checkKey(key);
      return withDeadline((items) => read(items, key));
    },

    async set(key, value) {
      checkKey(key);
      await withDeadline(async (items) => {
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
          await removeChunks(items, key, 1, oldCount);
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
      return withDeadline(async (items) => {
        const count = oldChunkCount(await items.get(key));
        const removedBase = await items.delete(key);
        const removedChunks = await removeChunks(items, key, 1, count);
        return removedBase || removedChunks;
      });
    },

    close() {
      helper?.kill(new HelperStoppedError('the keychain was closed'));
      helper = undefined;
    },
  };
}

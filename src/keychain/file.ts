/**
 * `TNG_KEYCHAIN=file`: every secret in one file in the state dir, `keychain.json` (mode 0600, dir 0700),
 * sealed by the enrolled security keys and by nothing else.
 *
 * ```
 * {"version":1,
 *  "keys":  {"<credential_id>": seal(keyFromHmacOutput(hmac output, credential_id), fileKey, "tng file keychain key for <credential_id>")},
 *  "items": {"<name>": seal(fileKey, value, "tng file keychain item <name>"), ...}}
 * ```
 *
 * The file key is random (32 bytes); each enrolled credential's hmac-secret output opens it, so a backup key
 * opens the same file. Each value is sealed on its own, bound to its name; the names (profile names, Vault
 * addresses: public values) are in the clear, so a missing item is answered and an item deleted without the
 * key — `tng logout` needs no touch. The store starts locked: the first get of a present item, or set,
 * calls `unlock` (one touch), which calls `unlockWith`. What stays in
 * memory is the key derived from that credential's hmac output, never written anywhere; every operation reads
 * the file anew, so a change by another process is always seen. Writes run under the state-dir lock
 * `keychain-file`, re-read the file inside it, and replace it atomically (temp file, fsync, rename, fsync dir).
 * Anything that does not verify — JSON, version, a key entry, the items — is a `keychain` error (exit 7).
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TngError, describe, usageError } from '../errors.ts';
import { writeFileAtomic } from '../state/atomic.ts';
import { withLock } from '../state/lock.ts';
import { keyFromHmacOutput, newDataKey, seal, unsealBytes } from './seal.ts';
import type { SecretStore } from './store.ts';
import { makeDirectory } from '../state/make-dir.ts';

export const FILE_KEYCHAIN_NAME = 'keychain.json';
const VERSION = 1;
const itemContext = (name: string) => `tng file keychain item ${name}`;
const keyContext = (credentialId: string) => `tng file keychain key for ${credentialId}`;
const LOCK_NAME = 'keychain-file';
const LOCK_TIMEOUT_MS = 30_000;

export interface FileKeychainOptions {
  /** `<state dir>/keychain.json`; the lock lives in the same state dir. */
  path: string;
  /**
   * Opens the file: performs one touch on an enrolled key and calls `unlockWith` with its hmac-secret output.
   * Called lazily, at most once at a time, when an operation needs the content of a locked file.
   * `credentialIds` are the credentials that have a key entry in the file (only those can open it).
   */
  unlock: (credentialIds: string[]) => Promise<void>;
  /** Aborts a wait for the state-dir lock (Ctrl-C). */
  signal?: AbortSignal;
}

export interface FileKeychain extends SecretStore {
  readonly path: string;
  /** True until a credential's hmac output has opened the file (or created it) in this process. */
  isLocked(): boolean;
  /**
   * Opens the file with one credential's hmac-secret output: true when the file has a key entry for that
   * credential and it opened; false when the file or the entry does not exist. An entry that exists but does
   * not open (altered, or another salt) is a `keychain` error (exit 7).
   */
  unlockWith(credentialId: string, hmacOutput: Uint8Array): Promise<boolean>;
  /**
   * Seals the file key for a further credential (replacing an entry for the same credential). A missing
   * file is created with a fresh file key; a locked existing file is unlocked first (`unlock`: one touch).
   */
  addUnlockKey(credentialId: string, hmacOutput: Uint8Array): Promise<void>;
  /** Removes the key entries of credentials that are no longer enrolled (never the one this process opened with). */
  removeUnlockKeys(credentialIds: string[]): Promise<void>;
  /** The credentials with a key entry in the file, read without a touch ([] when there is no file). */
  credentialIds(): Promise<string[]>;
  /** Whether an item exists, read without a touch (the names are not sealed). */
  has(name: string): Promise<boolean>;
  /** Unlocks now (one touch) when the file exists and is locked; nothing when it is open or missing. */
  open(): Promise<void>;
}

/** A type guard on the methods (not instanceof: the bundle may load this module in more than one chunk). */
export function isFileKeychain(store: SecretStore): store is FileKeychain {
  const candidate = store as Partial<FileKeychain>;
  return typeof candidate.isLocked === 'function' && typeof candidate.unlockWith === 'function' && typeof candidate.addUnlockKey === 'function';
}

/** The usage error for a file keychain that no enrolled key can open yet (exit 2). */
export function fileNeedsEnrolment(): TngError {
  return usageError(
    'keychain.file-needs-enrolment',
    'TNG_KEYCHAIN=file keeps secrets in a file sealed by an enrolled security key, and there is no such file yet.',
    'Run `tng enroll` (with TNG_KEYCHAIN=file it creates the file; a key enrolled before is enrolled again).',
  );
}

interface FileData {
  version: number;
  keys: Record<string, string>;
  items: Record<string, string>;
}

/** The credential whose hmac output opened the file, and the key derived from it. */
interface Opener {
  credentialId: string;
  wrapKey: Buffer;
}

const LOCKED = Symbol('locked');

function damaged(path: string, detail: string, cause?: unknown): TngError {
  return new TngError('keychain', 'keychain.file-damaged', `tng's secrets file ${path} is damaged or was altered (${detail}).`, {
    hint: `Restore it from a backup; otherwise move it away and run \`tng enroll\` and \`tng login\` again (its secrets are lost).`,
    cause,
  });
}

function parseFile(path: string, text: string): FileData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw damaged(path, 'not JSON', cause);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw damaged(path, 'not a JSON object');
  const { version, keys, items } = data as Record<string, unknown>;
  if (version !== VERSION) {
    throw new TngError('keychain', 'keychain.file-version', `tng's secrets file ${path} has version ${JSON.stringify(version) ?? 'none'}; this tng reads version ${VERSION}.`, {
      hint: 'Use the tng that wrote it, or move the file away and run `tng enroll` and `tng login` again.',
    });
  }
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys) || Object.values(keys).some((v) => typeof v !== 'string')) {
    throw damaged(path, '"keys" is not a table of sealed keys');
  }
  // tng never leaves a file without a key (the last one is never removed): an empty table was emptied by hand.
  if (Object.keys(keys).length === 0) throw damaged(path, '"keys" is empty, so no security key opens it');
  if (typeof items !== 'object' || items === null || Array.isArray(items) || Object.values(items).some((v) => typeof v !== 'string')) {
    throw damaged(path, '"items" is not a table of sealed items');
  }
  return { version, keys: { ...(keys as Record<string, string>) }, items: { ...(items as Record<string, string>) } };
}

/** A table's own entry (never one inherited from Object.prototype, whatever the name). */
function own(table: Record<string, string>, name: string): string | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

function sealItem(fileKey: Buffer, name: string, value: string): string {
  return seal(fileKey, value, itemContext(name));
}

function fileError(path: string, action: string, error: unknown): TngError {
  const code = (error as NodeJS.ErrnoException).code;
  return new TngError('keychain', 'keychain.file-unavailable', `Cannot ${action} tng's secrets file ${path} (${code ?? describe(error)}).`, {
    hint: 'Check the state dir and its permissions ($TNG_STATE_DIR, $XDG_STATE_HOME/tng or ~/.local/state/tng).',
    cause: error,
  });
}

export function createFileKeychain(options: FileKeychainOptions): FileKeychain {
  const { path, unlock, signal } = options;
  const dir = dirname(path);
  let opener: Opener | undefined;
  let unlocking: Promise<void> | undefined;

  async function load(): Promise<FileData | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fileError(path, 'read', error);
    }
    return parseFile(path, text);
  }

  function openKeyEntry(data: FileData, credentialId: string, wrapKey: Buffer): Buffer {
    const sealed = own(data.keys, credentialId) as string;
    let fileKey: Buffer;
    try {
      fileKey = unsealBytes(wrapKey, sealed, keyContext(credentialId));
    } catch (cause) {
      throw damaged(path, `the key entry of credential ${credentialId.slice(0, 12)}… does not open with that key`, cause);
    }
    if (fileKey.length !== 32) throw damaged(path, `the key entry of credential ${credentialId.slice(0, 12)}… holds no 32-byte key`);
    return fileKey;
  }

  /** The file key, with the opener this process holds; undefined when locked or the opener's entry is gone. */
  function fileKeyOf(data: FileData): Buffer | undefined {
    if (opener === undefined || own(data.keys, opener.credentialId) === undefined) return undefined;
    return openKeyEntry(data, opener.credentialId, opener.wrapKey);
  }

  function openItem(data: FileData, fileKey: Buffer, name: string): string {
    try {
      return unsealBytes(fileKey, own(data.items, name) as string, itemContext(name)).toString('utf8');
    } catch (cause) {
      throw damaged(path, `its item ${JSON.stringify(name)} does not open with its key`, cause);
    }
  }

  /** Proves that every item opens with the file key (nothing is added to a file that does not). */
  function checkItems(data: FileData, fileKey: Buffer): void {
    for (const name of Object.keys(data.items)) openItem(data, fileKey, name);
  }

  /** Replaces the file atomically and reads it back. */
  async function write(data: FileData): Promise<void> {
    const text = `${JSON.stringify(data)}\n`;
    try {
      makeDirectory(dir);
    } catch (error) {
      throw fileError(path, 'create the directory of', error);
    }
    try {
      await writeFileAtomic(path, text);
    } catch (error) {
      throw fileError(path, 'write', error);
    }
    let back: string | undefined;
    try {
      back = await readFile(path, 'utf8');
    } catch (error) {
      throw fileError(path, 'read back', error);
    }
    if (back !== text) {
      throw new TngError('keychain', 'keychain.write-mismatch', `tng's secrets file ${path} does not hold what was just written to it.`, {
        hint: 'Check the disk and the state dir (is something else writing there?), then retry.',
      });
    }
  }

  /** Calls `unlock` once for all concurrent callers; throws when it returns without opening the file. */
  async function requireUnlock(credentialIds: string[]): Promise<void> {
    if (credentialIds.length === 0) throw fileNeedsEnrolment();
    unlocking ??= unlock(credentialIds).finally(() => {
      unlocking = undefined;
    });
    await unlocking;
    if (opener === undefined) {
      throw new TngError('keychain', 'keychain.file-locked', `tng's secrets file ${path} is still locked: the touch did not open it.`, {
        hint: 'Touch a security key that is enrolled in one of your profiles.',
      });
    }
  }

  /** One item of the current file (undefined when absent: no unlock needed), unlocking first when needed. */
  async function readItem(name: string): Promise<string | undefined> {
    for (let attempt = 0; ; attempt += 1) {
      const data = await load();
      if (data === undefined || own(data.items, name) === undefined) return undefined;
      const fileKey = fileKeyOf(data);
      if (fileKey !== undefined) return openItem(data, fileKey, name);
      if (attempt > 0) throw damaged(path, 'the key that opened it is no longer in it');
      await requireUnlock(Object.keys(data.keys));
    }
  }

  /**
   * Read-modify-write under the state-dir lock, re-reading the file inside it. `change` returns the new file
   * content (or undefined to leave it) and a result; it runs with the open items, or gets LOCKED and the
   * whole step is retried after one unlock (never a touch while holding the lock).
   */
  async function modify<T>(change: (data: FileData | undefined, fileKey: Buffer | undefined) => { data?: FileData; result: T } | typeof LOCKED): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let ids: string[] = [];
      const outcome = await withLock(dir, LOCK_NAME, { timeoutMs: LOCK_TIMEOUT_MS, signal }, async () => {
        const data = await load();
        const fileKey = data === undefined ? undefined : fileKeyOf(data);
        const step = change(data, fileKey);
        if (step === LOCKED) {
          ids = Object.keys(data?.keys ?? {});
          return LOCKED;
        }
        if (step.data !== undefined) await write(step.data);
        return { result: step.result };
      });
      if (outcome !== LOCKED) return outcome.result;
      if (attempt > 0) throw damaged(path, 'the key that opened it is no longer in it');
      await requireUnlock(ids);
    }
  }

  function checkName(name: string): void {
    if (name === '') {
      throw new TngError('internal', 'keychain.bad-key', 'Invalid keychain item name "".', { hint: 'This is a bug in tng; please report it.' });
    }
  }

  const store: FileKeychain = {
    path,

    isLocked: () => opener === undefined,

    async unlockWith(credentialId, hmacOutput) {
      const data = await load();
      if (data === undefined || own(data.keys, credentialId) === undefined) return false;
      const wrapKey = keyFromHmacOutput(hmacOutput, credentialId);
      openKeyEntry(data, credentialId, wrapKey);
      opener = { credentialId, wrapKey };
      return true;
    },

    async addUnlockKey(credentialId, hmacOutput) {
      const wrapKey = keyFromHmacOutput(hmacOutput, credentialId);
      await modify((data, fileKey) => {
        if (data === undefined) {
          // No file yet: a fresh file key.
          const fresh = newDataKey();
          return {
            data: { version: VERSION, keys: { [credentialId]: seal(wrapKey, fresh, keyContext(credentialId)) }, items: {} },
            result: undefined,
          };
        }
        if (fileKey === undefined) {
          // The credential may already have an entry (an enrolment repeated after a crash); else unlock first.
          if (own(data.keys, credentialId) === undefined) return LOCKED;
          fileKey = openKeyEntry(data, credentialId, wrapKey);
        }
        checkItems(data, fileKey); // never add a key to a file whose items do not open
        const existing = own(data.keys, credentialId);
        if (existing !== undefined) {
          try {
            if (unsealBytes(wrapKey, existing, keyContext(credentialId)).equals(fileKey)) return { result: undefined };
          } catch {
            // an entry that does not open with this credential's output is replaced by one that does
          }
        }
        return { data: { ...data, keys: { ...data.keys, [credentialId]: seal(wrapKey, fileKey, keyContext(credentialId)) } }, result: undefined };
      });
      // The new entry opens the same file key: from now on this process holds the file through it.
      opener = { credentialId, wrapKey };
    },

    async removeUnlockKeys(credentialIds) {
      const drop = credentialIds.filter((id) => id !== opener?.credentialId);
      if (drop.length === 0) return;
      await modify((data) => {
        if (data === undefined || !drop.some((id) => own(data.keys, id) !== undefined)) return { result: undefined };
        const keys = Object.fromEntries(Object.entries(data.keys).filter(([id]) => !drop.includes(id)));
        // Never leave a file that nothing opens.
        if (Object.keys(keys).length === 0) return { result: undefined };
        return { data: { ...data, keys }, result: undefined };
      });
    },

    async credentialIds() {
      return Object.keys((await load())?.keys ?? {});
    },

    async has(name) {
      const data = await load();
      return data !== undefined && own(data.items, name) !== undefined;
    },

    async open() {
      if (opener !== undefined) return;
      const data = await load();
      // A missing file: nothing to unlock (addUnlockKey makes a fresh one).
      if (data === undefined) return;
      await requireUnlock(Object.keys(data.keys));
    },

    async get(key) {
      checkName(key);
      return readItem(key);
    },

    async set(key, value) {
      checkName(key);
      await modify((data, fileKey) => {
        if (data === undefined) throw fileNeedsEnrolment();
        if (fileKey === undefined) return LOCKED;
        return { data: { ...data, items: { ...data.items, [key]: sealItem(fileKey, key, value) } }, result: undefined };
      });
    },

    async delete(key) {
      checkName(key);
      // No key needed: removing a sealed value reveals nothing and needs nothing from it.
      return modify((data) => {
        if (data === undefined || own(data.items, key) === undefined) return { result: false };
        const items = Object.fromEntries(Object.entries(data.items).filter(([name]) => name !== key));
        return { data: { ...data, items }, result: true };
      });
    },
  };
  return store;
}

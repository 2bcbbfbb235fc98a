import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TngError } from '../../../src/errors.ts';
import { createFileKeychain, isFileKeychain, type FileKeychain } from '../../../src/keychain/file.ts';
import type { SecretStore } from '../../../src/keychain/store.ts';
import { tempDirs } from '../../temp-dirs.ts';

const newDir = tempDirs('filekc');

const FILE_MODULE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src/keychain/file.ts');

/** A stand-in for the enrolled keys: credential id → the hmac-secret output a touch would give. */
const A = { id: 'cred-a', hmac: randomBytes(32) };
const B = { id: 'cred-b', hmac: randomBytes(32) };

interface Opened {
  store: FileKeychain;
  /** How often the store asked for a touch, and with which credential ids. */
  unlocks: string[][];
}

/** A store whose `unlock` "touches" the given credential: it calls unlockWith with that key's output. */
function openStore(path: string, key: { id: string; hmac: Buffer } = A): Opened {
  const unlocks: string[][] = [];
  const store: FileKeychain = createFileKeychain({
    path,
    unlock: async (ids) => {
      unlocks.push(ids);
      await store.unlockWith(key.id, key.hmac);
    },
  });
  return { store, unlocks };
}

async function freshPath(): Promise<string> {
  // The state dir does not exist yet: the store creates it.
  return join(await newDir(), 'state', 'keychain.json');
}

/** A file with one item, created by an enrolment of credential A. */
async function enrolledFile(): Promise<string> {
  const path = await freshPath();
  const { store } = openStore(path);
  await store.addUnlockKey(A.id, A.hmac);
  await store.set('profile:work:session', 'vault-token-value');
  return path;
}

const isExit = (code: number, pattern?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof TngError, `expected a TngError, got ${String(error)}`);
  assert.equal(error.exitCode, code, error.message);
  if (pattern) assert.match(error.message, pattern);
  assert.ok(error.hint.length > 0);
  return true;
};

/** Flips one character in the middle of the sealed body of `sealed` (a tng-sealed:v1: string). */
function flip(sealed: string): string {
  const i = Math.floor(sealed.length / 2);
  const c = sealed[i] === 'A' ? 'B' : 'A';
  return `${sealed.slice(0, i)}${c}${sealed.slice(i + 1)}`;
}

describe('the file keychain (TNG_KEYCHAIN=file)', () => {
  it('round-trips items once a key is enrolled, and keeps nothing in plaintext', async () => {
    const path = await freshPath();
    const { store, unlocks } = openStore(path);
    assert.equal(store.isLocked(), true);
    await store.addUnlockKey(A.id, A.hmac);
    assert.equal(store.isLocked(), false);
    await store.set('profile:work:session', 'vault-token-value');
    await store.set('profile:work:refresh-token', 'refresh-token-value');
    assert.equal(await store.get('profile:work:session'), 'vault-token-value');
    assert.equal(await store.get('profile:work:missing'), undefined);
    await store.set('profile:work:session', 'second-value');
    assert.equal(await store.get('profile:work:session'), 'second-value');
    assert.equal(await store.delete('profile:work:session'), true);
    assert.equal(await store.delete('profile:work:session'), false);
    assert.equal(await store.get('profile:work:session'), undefined);
    assert.equal(await store.get('profile:work:refresh-token'), 'refresh-token-value');
    assert.deepEqual(unlocks, [], 'the store that created the file never needed a touch');

    const text = await readFile(path, 'utf8');
    const data = JSON.parse(text) as { version: number; keys: Record<string, string>; items: Record<string, string> };
    assert.equal(data.version, 1);
    assert.deepEqual(Object.keys(data.keys), [A.id]);
    assert.deepEqual(Object.keys(data.items), ['profile:work:refresh-token'], 'names are public; values are sealed');
    assert.match(data.items['profile:work:refresh-token'] as string, /^tng-sealed:v1:/);
    for (const secret of ['refresh-token-value', 'second-value', A.hmac.toString('hex'), A.hmac.toString('base64url')]) {
      assert.ok(!text.includes(secret), `${secret} must not appear in the file`);
    }
  });

  it('persists across instances: a new one is locked and asks for one touch, lazily', async () => {
    const path = await enrolledFile();
    const { store, unlocks } = openStore(path);
    assert.equal(store.isLocked(), true);
    assert.deepEqual(unlocks, [], 'creating the store asks nothing');
    const [one, two] = await Promise.all([store.get('profile:work:session'), store.get('profile:work:nothing')]);
    assert.equal(one, 'vault-token-value');
    assert.equal(two, undefined);
    assert.deepEqual(unlocks, [[A.id]], 'concurrent reads share one touch, offered the credentials the file holds');
    assert.equal(await openStore(path).store.get('profile:work:nothing'), undefined, 'an absent item needs no touch');
    assert.equal(store.isLocked(), false);
    await store.set('profile:work:aws', '{"x":1}');
    assert.equal(unlocks.length, 1, 'an open store writes without another touch');
    assert.equal(await openStore(path).store.get('profile:work:aws'), '{"x":1}');
  });

  it('writes atomically: 0600 in a 0700 dir, no temp files left behind', async () => {
    const path = await freshPath();
    const { store } = openStore(path);
    await store.addUnlockKey(A.id, A.hmac);
    for (let i = 0; i < 5; i += 1) await store.set(`item-${i}`, `value-${i}`);
    await store.delete('item-0');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(dirname(path))).mode & 0o777, 0o700);
    const entries = (await readdir(dirname(path))).sort();
    assert.deepEqual(entries, ['keychain.json', 'locks']);
    assert.deepEqual(await readdir(join(dirname(path), 'locks')), [], 'the write lock is released');
  });

  it('a second credential opens the same file; a wrong hmac output or an unknown credential does not', async () => {
    const path = await enrolledFile();
    const first = openStore(path);
    await first.store.addUnlockKey(B.id, B.hmac);
    assert.deepEqual(first.unlocks, [[A.id]], 'adding a key to a locked file opens it first');
    assert.deepEqual(await first.store.credentialIds(), [A.id, B.id]);

    const viaB = openStore(path, B);
    assert.equal(await viaB.store.get('profile:work:session'), 'vault-token-value');
    assert.deepEqual(viaB.unlocks, [[A.id, B.id]]);

    const wrong = openStore(path).store;
    await assert.rejects(wrong.unlockWith(A.id, randomBytes(32)), isExit(7, /does not open/));
    assert.equal(wrong.isLocked(), true);
    assert.equal(await wrong.unlockWith('cred-unknown', randomBytes(32)), false);
    assert.equal(wrong.isLocked(), true);
    assert.equal(await wrong.unlockWith(B.id, B.hmac), true);
    assert.equal(await wrong.get('profile:work:session'), 'vault-token-value');
  });

  it('an unlock that does not open the file is exit 7, not a silent miss', async () => {
    const path = await enrolledFile();
    const store = createFileKeychain({ path, unlock: async () => undefined });
    await assert.rejects(store.get('profile:work:session'), isExit(7, /still locked/));
    await assert.rejects(store.set('profile:work:session', 'x'), isExit(7, /still locked/));
  });

  it('detects tampering: items, a key entry, truncation, not JSON, another version (exit 7)', async () => {
    const path = await enrolledFile();
    const second = openStore(path).store;
    await second.unlockWith(A.id, A.hmac);
    await second.set('profile:work:refresh-token', 'refresh-token-value');
    const original = await readFile(path, 'utf8');
    const data = JSON.parse(original) as { version: number; keys: Record<string, string>; items: Record<string, string> };
    const session = data.items['profile:work:session'] as string;
    const flipped = { ...data, items: { ...data.items, 'profile:work:session': flip(session) } };
    const cases: Array<[string, string, RegExp]> = [
      ['a byte of an item', JSON.stringify(flipped), /item "profile:work:session" does not open/],
      ['an item moved to another name', JSON.stringify({ ...data, items: { 'profile:work:session': data.items['profile:work:refresh-token'] as string, 'profile:work:refresh-token': session } }), /does not open/],
      ['a byte of the key entry', JSON.stringify({ ...data, keys: { [A.id]: flip(data.keys[A.id] as string) } }), /key entry/],
      ['truncated', original.slice(0, Math.floor(original.length / 2)), /not JSON/],
      ['not JSON', 'hello, world\n', /not JSON/],
      ['another version', JSON.stringify({ ...data, version: 2 }), /version 2/],
      ['items missing', JSON.stringify({ version: 1, keys: data.keys }), /items/],
      ['items not a table', JSON.stringify({ ...data, items: 'tng-sealed:v1:a.b.c' }), /items/],
    ];
    for (const [what, text, pattern] of cases) {
      await writeFile(path, text);
      const { store } = openStore(path);
      await assert.rejects(store.get('profile:work:session'), isExit(7, pattern), what);
      if (!what.includes('an item')) {
        // (A damaged item itself may be overwritten: each value is sealed on its own.)
        await assert.rejects(store.set('profile:work:session', 'new'), isExit(7, pattern), what);
        assert.equal(await readFile(path, 'utf8'), text, `${what}: a failed write leaves the file as it was`);
      }
    }
    // An open store notices a file altered under it, too.
    await writeFile(path, original);
    const { store } = openStore(path);
    assert.equal(await store.get('profile:work:session'), 'vault-token-value');
    await writeFile(path, JSON.stringify(flipped));
    await assert.rejects(store.get('profile:work:session'), isExit(7, /altered/));
  });

  it('a missing file reads as empty without a touch; writing needs an enrolled key first (exit 2)', async () => {
    const path = await freshPath();
    const { store, unlocks } = openStore(path);
    assert.equal(await store.get('profile:work:session'), undefined);
    assert.equal(await store.delete('profile:work:session'), false);
    assert.deepEqual(await store.credentialIds(), []);
    await store.open();
    assert.deepEqual(unlocks, [], 'nothing to open: no touch');
    await assert.rejects(store.set('profile:work:client-secret', 's3cret'), (error: unknown) => {
      assert.ok(error instanceof TngError);
      assert.equal(error.exitCode, 2);
      assert.equal(error.code, 'keychain.file-needs-enrolment');
      assert.equal(error.message, 'TNG_KEYCHAIN=file keeps secrets in a file sealed by an enrolled security key, and there is no such file yet.');
      assert.equal(error.hint, 'Run `tng enroll` (with TNG_KEYCHAIN=file it creates the file; a key enrolled before is enrolled again).');
      return true;
    });
    await assert.rejects(stat(path), { code: 'ENOENT' }, 'nothing was written');

    // A file whose key entries are all gone was emptied by hand (tng never removes the last one): it is
    // damaged, not new, and a write must not start it afresh over its items.
    await writeFile(path, JSON.stringify({ version: 1, keys: {}, items: { x: 'tng-sealed:v1:a.b.c' } }));
    await assert.rejects(store.set('x', 'y'), isExit(7, /"keys" is empty/));
    await assert.rejects(store.get('x'), isExit(7, /"keys" is empty/));
    assert.match(await readFile(path, 'utf8'), /tng-sealed:v1:a\.b\.c/, 'the items are kept');
    assert.deepEqual(unlocks, []);
    // Neither does an enrolment start it anew; once it is moved away, one does.
    await assert.rejects(store.addUnlockKey(A.id, A.hmac), isExit(7, /"keys" is empty/));
    await rm(path);
    await store.addUnlockKey(A.id, A.hmac);
    await store.set('x', 'y');
    assert.equal(await openStore(path).store.get('x'), 'y');
  });

  it('keeps every item of concurrent writers in one process (each under the lock, re-reading the file)', async () => {
    const path = await enrolledFile();
    const writers = Array.from({ length: 6 }, () => openStore(path).store);
    await Promise.all(writers.map(async (store, w) => {
      for (let i = 0; i < 5; i += 1) await store.set(`w${w}:i${i}`, `v${w}.${i}`);
    }));
    const reader = openStore(path).store;
    for (let w = 0; w < writers.length; w += 1) {
      for (let i = 0; i < 5; i += 1) assert.equal(await reader.get(`w${w}:i${i}`), `v${w}.${i}`);
    }
    assert.equal(await reader.get('profile:work:session'), 'vault-token-value');
  });

  it('keeps every item of writers in two processes', async () => {
    const path = await enrolledFile();
    const script = (name: string) => `
      import { createFileKeychain } from ${JSON.stringify(FILE_MODULE)};
      const store = createFileKeychain({ path: ${JSON.stringify(path)}, unlock: async () => { await store.unlockWith(${JSON.stringify(A.id)}, Buffer.from(${JSON.stringify(A.hmac.toString('hex'))}, 'hex')); } });
      for (let i = 0; i < 15; i += 1) await store.set('${name}:' + i, 'value ' + i);
    `;
    const run = (name: string) =>
      new Promise<number | null>((resolvePromise, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(name)], { stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('error', reject);
        child.on('close', resolvePromise);
      });
    assert.deepEqual(await Promise.all([run('left'), run('right')]), [0, 0]);
    const reader = openStore(path).store;
    for (const name of ['left', 'right']) {
      for (let i = 0; i < 15; i += 1) assert.equal(await reader.get(`${name}:${i}`), `value ${i}`);
    }
  });

  it('removes replaced credentials, but never the one it holds the file through nor the last one', async () => {
    const path = await enrolledFile();
    const { store } = openStore(path);
    await store.addUnlockKey(B.id, B.hmac);
    await store.removeUnlockKeys([A.id]);
    assert.deepEqual(await store.credentialIds(), [B.id]);
    await assert.rejects(openStore(path).store.get('profile:work:session'), isExit(7, /still locked/), 'A opens nothing any more');
    assert.equal(await openStore(path, B).store.get('profile:work:session'), 'vault-token-value');
    await store.removeUnlockKeys([B.id]);
    assert.deepEqual(await store.credentialIds(), [B.id]);
  });

  it('is recognised by its methods', () => {
    const plain: SecretStore = { get: async () => undefined, set: async () => undefined, delete: async () => false };
    assert.equal(isFileKeychain(plain), false);
    assert.equal(isFileKeychain(createFileKeychain({ path: join(tmpdir(), 'none', 'keychain.json'), unlock: async () => undefined })), true);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { readProfileKeys, removeIfEmpty, updateProfileKeys } from '../../../src/keychain/profile-keys.ts';
import type { SecretStore } from '../../../src/keychain/store.ts';

/** A store in memory that counts its reads, as each name read costs the OS keychain a session. */
function memoryStore(initial: Record<string, string> = {}): SecretStore & { items: Map<string, string>; reads: string[]; failWrites: boolean } {
  const items = new Map(Object.entries(initial));
  const store = {
    items,
    reads: [] as string[],
    failWrites: false,
    get: async (key: string) => {
      store.reads.push(key);
      return items.get(key);
    },
    set: async (key: string, value: string) => {
      if (store.failWrites) throw new TngError('keychain', 'keychain.locked', 'The OS keychain is locked.', { hint: 'Unlock it.' });
      items.set(key, value);
    },
    delete: async (key: string) => items.delete(key),
  };
  return store;
}

describe('profile keys (one keychain item: client secret and sealed data keys)', () => {
  it('moves the items of earlier versions into one, and later reads open only that one', async () => {
    const store = memoryStore({ 'profile:work:client-secret': 's3cret', 'profile:work:data-key': JSON.stringify({ cred1: 'tng-sealed:v1:x' }), 'profile:other:data-key': '{}' });
    assert.deepEqual(await readProfileKeys(store, 'work'), { clientSecret: 's3cret', dataKeys: { cred1: 'tng-sealed:v1:x' } });
    assert.deepEqual([...store.items.keys()].sort(), ['profile:other:data-key', 'profile:work:keys']);
    assert.deepEqual(JSON.parse(store.items.get('profile:work:keys') as string), { clientSecret: 's3cret', dataKeys: { cred1: 'tng-sealed:v1:x' } });

    store.reads.length = 0;
    assert.deepEqual(await readProfileKeys(store, 'work'), { clientSecret: 's3cret', dataKeys: { cred1: 'tng-sealed:v1:x' } });
    assert.deepEqual(store.reads, ['profile:work:keys']);
  });

  it('a profile with neither gets an empty item, so the old names are looked up once', async () => {
    const store = memoryStore();
    assert.deepEqual(await readProfileKeys(store, 'work'), { dataKeys: {} });
    assert.equal(store.items.get('profile:work:keys'), '{"dataKeys":{}}');
    store.reads.length = 0;
    await readProfileKeys(store, 'work');
    assert.deepEqual(store.reads, ['profile:work:keys']);
  });

  it('an empty item goes at logout; one with a secret or a data key stays', async () => {
    const store = memoryStore({ 'profile:a:keys': '{"dataKeys":{}}', 'profile:b:keys': '{"dataKeys":{"c":"s"}}', 'profile:c:keys': '{"clientSecret":"x","dataKeys":{}}' });
    for (const profile of ['a', 'b', 'c', 'none']) await removeIfEmpty(store, profile);
    assert.deepEqual([...store.items.keys()].sort(), ['profile:b:keys', 'profile:c:keys']);
  });

  it('when the move cannot be written, the old items stay and the values are still returned', async () => {
    const store = memoryStore({ 'profile:work:client-secret': 's3cret' });
    store.failWrites = true;
    assert.deepEqual(await readProfileKeys(store, 'work'), { clientSecret: 's3cret', dataKeys: {} });
    assert.deepEqual([...store.items.keys()], ['profile:work:client-secret']);
  });

  it('an item another process moved meanwhile wins over this read of the old ones', async () => {
    const store = memoryStore({ 'profile:work:client-secret': 'old' });
    const get = store.get;
    // The second read of `keys` (the re-check before writing) finds what another process wrote.
    let keysReads = 0;
    store.get = async (key) => {
      if (key === 'profile:work:keys' && ++keysReads === 2) store.items.set(key, JSON.stringify({ clientSecret: 'moved', dataKeys: { c: 's' } }));
      return get(key);
    };
    assert.deepEqual(await readProfileKeys(store, 'work'), { clientSecret: 'moved', dataKeys: { c: 's' } });
    assert.equal(store.items.get('profile:work:keys'), JSON.stringify({ clientSecret: 'moved', dataKeys: { c: 's' } }));
  });

  it('an update changes one value and keeps the other', async () => {
    const store = memoryStore({ 'profile:work:keys': JSON.stringify({ clientSecret: 's3cret', dataKeys: { a: '1' } }) });
    await updateProfileKeys(store, 'work', (keys) => ({ ...keys, dataKeys: { ...keys.dataKeys, b: '2' } }));
    assert.deepEqual(await readProfileKeys(store, 'work'), { clientSecret: 's3cret', dataKeys: { a: '1', b: '2' } });
    await updateProfileKeys(store, 'work', (keys) => ({ ...keys, clientSecret: 'new' }));
    assert.deepEqual(await readProfileKeys(store, 'work'), { clientSecret: 'new', dataKeys: { a: '1', b: '2' } });
  });

  for (const [label, text] of [
    ['not JSON', 'tng-sealed:v1:abc'],
    ['an array', '[]'],
    ['a number for the secret', '{"clientSecret":1,"dataKeys":{}}'],
    ['a data key that is not text', '{"dataKeys":{"a":{}}}'],
  ] as const) {
    it(`a damaged item (${label}) is keychain.corrupt, exit 7, and an update replaces it`, async () => {
      const store = memoryStore({ 'profile:work:keys': text });
      await assert.rejects(readProfileKeys(store, 'work'), (error: unknown) => {
        assert.ok(error instanceof TngError);
        assert.equal(error.code, 'keychain.corrupt');
        assert.equal(error.exitCode, 7);
        assert.match(error.message, /"profile:work:keys" is damaged/);
        assert.doesNotMatch(error.message, /abc/);
        return true;
      });
      await updateProfileKeys(store, 'work', (keys) => ({ ...keys, clientSecret: 'fresh' }));
      assert.deepEqual(await readProfileKeys(store, 'work'), { clientSecret: 'fresh', dataKeys: {} });
    });
  }
});

/**
 * What a profile keeps in the keychain beyond any one session, in one item (`profile:NAME:keys`): the
 * confidential client's secret (`tng init --client-secret-stdin`) and the data key, sealed once per enrolled
 * credential. One item, because every item a process opens costs it a Secret Service session of its own
 * (some 10 ms), and a login needs both. `tng logout` leaves it; the session and the refresh token go.
 *
 * Earlier versions kept the two in items of their own (`client-secret`, `data-key`); the first read moves
 * them here.
 */
import { TngError } from '../errors.ts';
import { itemKey, type SecretStore } from './store.ts';

export interface ProfileKeys {
  clientSecret?: string;
  /** `{ credential_id: sealed data key }`. */
  dataKeys: Record<string, string>;
}

const isRecordOfStrings = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');

function damaged(key: string): TngError {
  return new TngError('keychain', 'keychain.corrupt', `The keychain item "${key}" is damaged (it is not the JSON tng writes).`, {
    hint: 'Enrol the key again (`tng enroll`), and for a confidential client give its secret again (`tng init --client-secret-stdin`).',
  });
}

function parse(text: string, key: string): ProfileKeys {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(key);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw damaged(key);
  const { clientSecret, dataKeys = {} } = value as Record<string, unknown>;
  if ((clientSecret !== undefined && typeof clientSecret !== 'string') || !isRecordOfStrings(dataKeys)) throw damaged(key);
  return clientSecret === undefined ? { dataKeys } : { clientSecret, dataKeys };
}

const format = (keys: ProfileKeys): string => JSON.stringify(keys.clientSecret === undefined ? { dataKeys: keys.dataKeys } : keys);

const EMPTY = format({ dataKeys: {} });

/** The two items earlier versions kept, read once and moved into the profile's `keys` item. */
async function moveLegacyItems(store: SecretStore, profile: string): Promise<ProfileKeys> {
  const key = itemKey(profile, 'keys');
  const secretKey = itemKey(profile, 'client-secret');
  const dataKeyKey = itemKey(profile, 'data-key');
  const clientSecret = await store.get(secretKey);
  const dataKeyText = await store.get(dataKeyKey);
  let dataKeys: Record<string, string> = {};
  try {
    const parsed: unknown = dataKeyText === undefined ? {} : JSON.parse(dataKeyText);
    if (isRecordOfStrings(parsed)) dataKeys = parsed;
  } catch {
    // a damaged data-key item opened nothing before either
  }
  const keys: ProfileKeys = { ...(clientSecret === undefined ? {} : { clientSecret }), dataKeys };
  // Another process (or call) may have moved them meanwhile: its item wins, and the old items are already gone.
  const moved = await store.get(key);
  if (moved !== undefined) return parse(moved, key);
  try {
    // Written even when empty, so that later reads need no look at the old names.
    await store.set(key, format(keys));
    if (clientSecret !== undefined) await store.delete(secretKey);
    if (dataKeyText !== undefined) await store.delete(dataKeyKey);
  } catch {
    // The old items stay, and are moved by a later read; this one has what it needs.
  }
  return keys;
}

export async function readProfileKeys(store: SecretStore, profile: string): Promise<ProfileKeys> {
  const key = itemKey(profile, 'keys');
  const text = await store.get(key);
  return text === undefined ? moveLegacyItems(store, profile) : parse(text, key);
}

/**
 * Removes the profile's `keys` item when it holds nothing (written only to say there was nothing to move),
 * so that a logout leaves no item behind for a profile with neither a client secret nor an enrolled key.
 */
export async function removeIfEmpty(store: SecretStore, profile: string): Promise<void> {
  const key = itemKey(profile, 'keys');
  if ((await store.get(key)) === EMPTY) await store.delete(key);
}

/** Changes the profile's keys: read, changed, written back. A damaged item is replaced. */
export async function updateProfileKeys(store: SecretStore, profile: string, change: (keys: ProfileKeys) => ProfileKeys): Promise<void> {
  let current: ProfileKeys;
  try {
    current = await readProfileKeys(store, profile);
  } catch (error) {
    if (!(error instanceof TngError && error.code === 'keychain.corrupt')) throw error;
    current = { dataKeys: {} };
  }
  await store.set(itemKey(profile, 'keys'), format(change(current)));
}

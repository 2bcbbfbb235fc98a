/** Test helpers: a state dir of its own, and a software "authenticator" that signs audit entries as a FIDO2 key does. */
import { createHash, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newKeyPair } from '../../sandbox/signing-keys.ts';
import { AUDIT_FILE, type EnrolledKey, type Signature } from '../../../src/audit/chain.ts';
import { encodeCoseKey, keyObjectToCose } from '../../../src/fido2/ctap2/cose.ts';

export async function tempStateDir(): Promise<{ dir: string; file: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tng-audit-'));
  return { dir, file: join(dir, AUDIT_FILE), dispose: () => rm(dir, { recursive: true, force: true }) };
}

export const readLines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
export const writeLines = (file: string, lines: string[]): Promise<void> => writeFile(file, lines.map((l) => `${l}\n`).join(''));

export interface TestKey {
  credentialId: string;
  rpId: string;
  privateKey: KeyObject;
  enrolled: EnrolledKey;
  /** An assertion over clientDataHash: authData = sha256(rp_id) ‖ flags ‖ counter, ES256 (DER) over authData ‖ clientDataHash. */
  sign(clientDataHash: Uint8Array, flags?: number, forRpId?: string): Signature;
}

export function testKey(rpId = 'dex.example.com'): TestKey {
  const { privateKey, publicKey } = newKeyPair('ES256');
  const credentialId = randomBytes(32).toString('base64url');
  let counter = 0;
  const publicCose = Buffer.from(encodeCoseKey(keyObjectToCose(publicKey))).toString('base64url');
  return {
    credentialId,
    rpId,
    privateKey,
    enrolled: { credential_id: credentialId, public_key: publicCose, aaguid: '00000000-0000-0000-0000-000000000000', rp_id: rpId, uv: 'discouraged' },
    sign(clientDataHash, flags = 0x01, forRpId = rpId) {
      const count = Buffer.alloc(4);
      count.writeUInt32BE(++counter);
      const authData = Buffer.concat([createHash('sha256').update(forRpId).digest(), Buffer.from([flags]), count]);
      const signature = cryptoSign('sha256', Buffer.concat([authData, Buffer.from(clientDataHash)]), { key: privateKey, dsaEncoding: 'der' });
      return { auth_data: authData.toString('base64url'), signature: signature.toString('base64url') };
    },
  };
}

export function enrollBody(profile: string, key: TestKey) {
  return { event: 'enroll' as const, profile, ...key.enrolled };
}

/** Re-hashes and re-links every entry from `from` on (what someone rewriting the trail would do). */
export async function rechain(entries: Array<Record<string, unknown>>, from = 0): Promise<void> {
  const { entryHash } = await import('../../../src/audit/chain.ts');
  for (let i = from; i < entries.length; i++) {
    const entry = entries[i] as Record<string, unknown>;
    entry.prev = i === 0 ? null : (entries[i - 1] as Record<string, unknown>).hash;
    entry.hash = entryHash(entry);
  }
}

/** Deps for running a command in-process: the env's state dir and config, output captured. */
export async function captureDeps(env: Record<string, string>, stdin = '') {
  const { createDeps } = await import('../../../src/deps.ts');
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    colour: false,
    canPrompt: () => false,
    out: (text: string) => void out.push(text),
    info: (line: string) => void err.push(line),
    warn: (line: string) => void err.push(`warning: ${line}`),
    readStdin: async () => stdin,
    flush: async () => undefined,
    ask: async () => '',
    askSecret: async () => '',
  };
  const deps = createDeps(env, new AbortController().signal, io);
  return { deps, stdout: () => out.join(''), stderr: () => err.join('\n') };
}

/** A trail with an enrolled key, a signed login and its session, an exec under it, and a second key enrolled later signing a login. */
export async function sampleTrail(dir: string) {
  const { appendEntry, appendSigned, newNonce } = await import('../../../src/audit/chain.ts');
  const first = testKey();
  const second = testKey();
  const enroll = await appendEntry(dir, enrollBody('work', first));
  const login = await appendSigned(dir, { event: 'login', profile: 'work', credential_id: first.credentialId, nonce: newNonce() }, async (h) => first.sign(h));
  const session = await appendEntry(dir, { event: 'session', profile: 'work', login: login.id, subject: 'sub', email: 'alice@example.com', vault_accessor: 'acc-1', method: 'jwt' });
  const exec = await appendEntry(dir, { event: 'exec', profile: 'work', program: 'terraform', argv_sha256: 'ef'.repeat(32), vault_accessor: 'acc-1', aws_access_key_id: 'AKIAEXAMPLE', login: login.id });
  const other = await appendEntry(dir, { event: 'login', profile: 'other', credential_id: null, nonce: newNonce() });
  const enroll2 = await appendEntry(dir, enrollBody('work', second));
  const login2 = await appendSigned(dir, { event: 'login', profile: 'work', credential_id: second.credentialId, nonce: newNonce() }, async (h) => second.sign(h));
  const login3 = await appendSigned(dir, { event: 'login', profile: 'work', credential_id: first.credentialId, nonce: newNonce() }, async (h) => first.sign(h));
  return { keys: [first, second], entries: [enroll, login, session, exec, other, enroll2, login2, login3] };
}

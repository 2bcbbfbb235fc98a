/**
 * The audit trail: `audit.jsonl` in the state dir, one JSON object per line, one trail per state dir
 * (every profile) appended under one lock. Each entry carries `prev` (the previous entry's hash) and
 * `hash` = SHA-256 (hex) of the RFC 8785 canonical JSON of the entry without `hash` and `sig`. Entries
 * made with a touch carry the authenticator's assertion over clientDataHash = the entry's hash, checked
 * with the public key of the `enroll` entry in force for that credential at that point of the trail.
 *
 * Crash safety: each append is one write, followed by fsync unless the caller asks for none (an unsigned
 * exec's entry, see {@link AppendOptions.durable}). A torn last line (a crash mid-write) is never
 * rewritten: the next append first writes a `repair` entry recording the torn bytes' length and SHA-256,
 * and verification accepts the torn bytes only when such an entry accounts for them, and reports them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { TngError } from '../errors.ts';
import { syncDir } from '../state/atomic.ts';
import { withLock, type LockOptions } from '../state/lock.ts';
import { auditFileError, auditPath } from './file.ts';
import { makeDirectory } from '../state/make-dir.ts';

export { AUDIT_FILE, auditPath } from './file.ts';
export const AUDIT_VERSION = 1;
const LOCK_NAME = 'audit';
/** Long enough to wait out another process's touch (30 s) plus a PIN typed by a person. */
const LOCK_TIMEOUT_MS = 5 * 60_000;

export type AuditEvent = 'enroll' | 'login' | 'session' | 'exec' | 'repair';
export const EVENTS: ReadonlySet<string> = new Set<AuditEvent>(['enroll', 'login', 'session', 'exec', 'repair']);

/** An authenticator assertion over the entry's hash: authenticator data and signature, base64url. */
export interface Signature {
  auth_data: string;
  signature: string;
}

/** One line of audit.jsonl. Never a secret: no tokens, keys or argv values (only a hash of the argv). */
export interface AuditEntry {
  v: number;
  id: string;
  seq: number;
  ts: string;
  event: AuditEvent;
  /** null only for `repair`. */
  profile: string | null;
  prev: string | null;
  hash: string;
  sig?: Signature;
  [field: string]: unknown;
}

/** What a caller supplies: the event and its own fields (no v/id/seq/ts/prev/hash/sig). */
export type EntryBody = { event: 'enroll' | 'login' | 'session' | 'exec'; profile: string; [field: string]: unknown };

export interface AppendOptions {
  /** The entry's id (default: a fresh UUID), e.g. an exec's TNG_AUDIT_ID made before the child started. */
  id?: string;
  /** Epoch milliseconds for `ts` (default Date.now). */
  now?: () => number;
  /** Gives up waiting for the audit lock (exit 130). */
  signal?: AbortSignal;
  /** Told once when another process has held the audit lock for a while (see {@link LockOptions.onWait}). */
  onLockWait?: LockOptions['onWait'];
  /**
   * Whether the append waits for the disk (fsync; default true). An unsigned exec's entry is written once its
   * command runs, so a tng killed at that moment loses it anyway; waiting for the disk there would add the
   * fsync (milliseconds) to every exec. Without it, a finished write survives any crash of tng, and only a
   * power cut or kernel crash before the kernel writes it out (seconds) can lose it; the next durable
   * append's fsync covers it too.
   */
  durable?: boolean;
}

/** The public values of an enrolled credential, as an `enroll` entry records them. */
export interface EnrolledKey {
  credential_id: string;
  public_key: string;
  aaguid: string;
  rp_id: string;
  uv: string;
}

export interface SignedAppendOptions extends AppendOptions {
  /**
   * The credential that will sign, as enrolled in the config. When the trail has no `enroll` entry for it
   * (a key enrolled before the trail recorded enrolments) one is written first, marked `backfilled`;
   * the returned signature is then checked with the trail's key before anything is written.
   */
  enrollment?: EnrolledKey;
}

const RESERVED = ['v', 'id', 'seq', 'ts', 'prev', 'hash', 'sig'];
/** Field names that would smell of a secret: refused outright, whatever the caller meant. */
const SECRET_NAME = /token|secret|password|passphrase|private|hmac|pin$/i;
export const HEX64 = /^[0-9a-f]{64}$/;

export function newAuditId(): string {
  return randomUUID();
}

/** A fresh random nonce (hex) for a signed entry, so no two signed entries ever have the same hash. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** SHA-256 (hex) of the RFC 8785 canonical form of the entry without `hash` and `sig`. */
export function entryHash(entry: Record<string, unknown>): string {
  const rest: Record<string, unknown> = { ...entry };
  delete rest.hash;
  delete rest.sig;
  const text = canonicalize(rest);
  if (text === undefined) throw new TypeError('an audit entry that has no JSON form');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The 32 raw bytes an assertion signs for this entry (its hash). */
export function clientDataHashOf(entry: Pick<AuditEntry, 'hash'>): Uint8Array {
  return new Uint8Array(Buffer.from(entry.hash, 'hex'));
}

export function isCanonicalBase64url(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && Buffer.from(value, 'base64url').toString('base64url') === value;
}

// ---------------------------------------------------------------------------------------------------
// Reading

/** Bytes that are not an entry (a torn or damaged line) and the entry position they sit before. */
export interface TrailFault {
  /** Index in `entries` of the entry this fault precedes or concerns. */
  index: number;
  seq: number;
  id: string | null;
  line: number;
  reason: string;
}

export interface TornTail {
  /** Length and SHA-256 (hex) of the torn bytes (everything after the last entry, less one final newline). */
  bytes: number;
  sha256: string;
  line: number;
  /** The seq the torn entry would have had, and its id when the bytes still show it. */
  seq: number;
  id: string | null;
}

export interface Trail {
  entries: AuditEntry[];
  /** The line number (1-based) of each entry in the file. */
  lines: number[];
  /** Damaged lines that no repair entry accounts for, and repair entries that account for nothing. */
  faults: TrailFault[];
  /** Bytes after the last entry not yet accounted for by a repair entry. */
  torn?: TornTail;
}

function parseObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function splitLines(data: Buffer): { lines: Buffer[]; trailing: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
    lines.push(data.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, trailing: data.subarray(start) };
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The lines joined by newlines again, byte for byte (torn bytes need not be UTF-8). */
function joinLines(parts: Buffer[]): Buffer {
  const pieces: Buffer[] = [];
  parts.forEach((part, i) => {
    if (i > 0) pieces.push(Buffer.from('\n'));
    pieces.push(part);
  });
  return Buffer.concat(pieces);
}

function idHint(bytes: Buffer): string | null {
  const match = /"id":"([^"\\]{1,100})"/.exec(bytes.toString('utf8'));
  return match ? (match[1] as string) : null;
}

function nextSeq(entries: AuditEntry[]): number {
  const last = entries.at(-1);
  return (last && Number.isSafeInteger(last.seq) ? last.seq : entries.length) + 1;
}

/** Parses a trail's bytes; never throws: what is not an entry becomes a fault or the torn tail. */
export function parseTrail(data: Buffer | string): Trail {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const { lines, trailing } = splitLines(bytes);
  const trail: Trail = { entries: [], lines: [], faults: [] };
  let damaged: { line: number; parts: Buffer[] } | undefined;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const object = parseObject(raw);
    if (object === undefined) {
      damaged ??= { line, parts: [] };
      damaged.parts.push(raw);
      return;
    }
    const entry = object as AuditEntry;
    const index = trail.entries.length;
    if (damaged !== undefined) {
      const torn = joinLines(damaged.parts);
      const accounted = entry.event === 'repair' && entry.torn_sha256 === sha256Hex(torn) && entry.torn_bytes === torn.length;
      if (!accounted) {
        trail.faults.push({
          index,
          seq: nextSeq(trail.entries),
          id: idHint(torn),
          line: damaged.line,
          reason: `line ${damaged.line} is not a JSON entry (damaged or torn bytes) and no repair entry accounts for it`,
        });
      }
      damaged = undefined;
    } else if (entry.event === 'repair') {
      trail.faults.push({ index, seq: entry.seq, id: typeof entry.id === 'string' ? entry.id : null, line, reason: 'a repair entry with no torn bytes before it' });
    }
    trail.entries.push(entry);
    trail.lines.push(line);
  });
  if (trailing.length > 0) {
    damaged ??= { line: lines.length + 1, parts: [] };
    damaged.parts.push(trailing);
  } else if (damaged !== undefined) {
    // The file ends with a newline: the region after the last entry is these lines and that newline.
    damaged.parts.push(Buffer.alloc(0));
  }
  if (damaged !== undefined) {
    const region = joinLines(damaged.parts);
    const torn = trailing.length > 0 ? region : region.subarray(0, region.length - 1);
    trail.torn = { bytes: torn.length, sha256: sha256Hex(torn), line: damaged.line, seq: nextSeq(trail.entries), id: idHint(torn) };
  }
  return trail;
}

/** The state dir's trail (an absent file is an empty trail). */
export async function readTrail(stateDir: string): Promise<Trail> {
  let data: Buffer | undefined;
  // Readers take no lock, so a read can land in the middle of another process's append and see part of its
  // line. That write ends within microseconds; a tail still incomplete after a few pauses is really torn.
  for (let attempt = 0; ; attempt++) {
    try {
      data = readFileSync(auditPath(stateDir));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], lines: [], faults: [] };
      throw auditFileError(error, stateDir);
    }
    if (data.length === 0 || data[data.length - 1] === 0x0a || attempt === TORN_TAIL_REREADS) break;
    await new Promise((resolve) => setTimeout(resolve, TORN_TAIL_PAUSE_MS));
  }
  return parseTrail(data);
}
const TORN_TAIL_REREADS = 3;
const TORN_TAIL_PAUSE_MS = 20;

// ---------------------------------------------------------------------------------------------------
// Verifying

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

export interface KeyRecord {
  credential_id: string;
  public_key: string;
  rp_id: string;
}

interface Tail {
  last?: Record<string, unknown>;
  /** Bytes after the last entry line (a torn write, or damage), to be recorded by a repair entry. */
  region: Buffer;
}

/** Reads `length` bytes at `position` of an open file. */
function readAt(fd: number, length: number, position: number): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, buffer, done, length - done, position + done);
    if (read === 0) return buffer.subarray(0, done);
    done += read;
  }
  return buffer;
}

/** The last entry line and what follows it, reading from the end of the file only as far as needed. */
function readTail(fd: number): Tail {
  const { size } = fstatSync(fd);
  for (let chunk = 64 * 1024; ; chunk *= 4) {
    const start = Math.max(0, size - chunk);
    const buffer = readAt(fd, size - start, start);
    let end = buffer.lastIndexOf(0x0a);
    while (end !== -1) {
      const before = end === 0 ? -1 : buffer.lastIndexOf(0x0a, end - 1);
      if (before === -1 && start > 0) break; // this line may begin before the chunk
      const object = parseObject(buffer.subarray(before + 1, end));
      if (object !== undefined) return { last: object, region: buffer.subarray(end + 1) };
      end = before;
    }
    if (start === 0) return { region: buffer };
  }
}

function buildEntry(
  body: Record<string, unknown>,
  place: { id: string; seq: number; ts: string; prev: string | null },
): AuditEntry {
  const { event, profile, ...fields } = body;
  const entry = { v: AUDIT_VERSION, id: place.id, seq: place.seq, ts: place.ts, event, profile, ...fields, prev: place.prev } as Record<string, unknown>;
  entry.hash = entryHash(entry);
  return entry as AuditEntry;
}

function checkBody(body: EntryBody): Record<string, unknown> {
  if (body === null || typeof body !== 'object') throw new TypeError('an audit entry body must be an object');
  if (!['enroll', 'login', 'session', 'exec'].includes(body.event)) throw new TypeError(`unknown audit event ${String(body.event)}`);
  if (!isString(body.profile)) throw new TypeError('an audit entry needs a profile');
  for (const key of Object.keys(body)) {
    if (RESERVED.includes(key)) throw new TypeError(`an audit entry body may not set "${key}"`);
    if (SECRET_NAME.test(key)) throw new TypeError(`the audit trail holds no secrets: refusing a field named "${key}"`);
  }
  // What is hashed is exactly what a reader will parse back.
  return JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
}

function lineOf(entry: AuditEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/**
 * The trail's file I/O under the lock is synchronous: a handful of small calls, each cheaper than a round
 * trip through Node's thread pool, on the path every exec takes while its child runs.
 */
function openTrail(stateDir: string): { fd: number; created: boolean } {
  const path = auditPath(stateDir);
  try {
    const fd = openSync(path, 'r+');
    tighten(fd);
    return { fd, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw auditFileError(error, stateDir);
  }
  try {
    return { fd: openSync(path, 'wx+', 0o600), created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { fd: openSync(path, 'r+'), created: false };
    throw auditFileError(error, stateDir);
  }
}

/** The contract's 0600, also for a trail someone copied in or loosened since (best effort: not always ours to change). */
function tighten(fd: number): void {
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch {
    // another user's file that we may still append to
  }
}

/** Writes all of `text` at the end of an open file. */
function appendText(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let position = fstatSync(fd).size;
  for (let done = 0; done < bytes.length; ) {
    const written = writeSync(fd, bytes, done, bytes.length - done, position);
    done += written;
    position += written;
  }
}

/**
 * Runs `fn` under the audit lock with the trail's tail at hand, and appends what it returns (one write,
 * then fsync). A torn tail is first recorded by a repair entry.
 */
interface TrailWriter {
  fd: number;
  /** Places an entry after the last one (seq, ts, prev, hash) and queues it for writing. */
  next: (body: Record<string, unknown>, id?: string) => AuditEntry;
  /** Places an entry as `next` would, without queuing it: one of several candidates, queued with `push`. */
  place: (body: Record<string, unknown>, id: string) => AuditEntry;
  push: (entry: AuditEntry) => void;
}

async function withTrail<T>(stateDir: string, options: AppendOptions, fn: (writer: TrailWriter) => Promise<T>): Promise<T> {
  try {
    makeDirectory(stateDir);
  } catch (error) {
    throw auditFileError(error, stateDir);
  }
  return withLock(stateDir, LOCK_NAME, { timeoutMs: LOCK_TIMEOUT_MS, signal: options.signal, onWait: options.onLockWait }, async () => {
    const { fd, created } = openTrail(stateDir);
    try {
      const tail = readTail(fd);
      const now = options.now ?? Date.now;
      let seq = (tail.last && Number.isSafeInteger(tail.last.seq) ? (tail.last.seq as number) : 0) + 1;
      let prev = tail.last && typeof tail.last.hash === 'string' ? tail.last.hash : null;
      const written: AuditEntry[] = [];
      const place = (body: Record<string, unknown>, id: string): AuditEntry => buildEntry(body, { id, seq, ts: new Date(now()).toISOString(), prev });
      const push = (entry: AuditEntry): void => {
        if (entry.seq !== seq || entry.prev !== prev) throw new TypeError('an entry placed before another was queued');
        seq++;
        prev = entry.hash;
        written.push(entry);
      };
      const next = (body: Record<string, unknown>, id?: string): AuditEntry => {
        const entry = place(body, id ?? newAuditId());
        push(entry);
        return entry;
      };
      let prefix = '';
      if (tail.region.length > 0) {
        const endsWithNewline = tail.region[tail.region.length - 1] === 0x0a;
        const torn = endsWithNewline ? tail.region.subarray(0, tail.region.length - 1) : tail.region;
        next({ event: 'repair', profile: null, torn_sha256: sha256Hex(torn), torn_bytes: torn.length });
        prefix = endsWithNewline ? '' : '\n';
      }
      const result = await fn({ fd, next, place, push });
      appendText(fd, prefix + written.map(lineOf).join(''));
      // A new trail and a repair are rare and worth the wait whatever the caller asked.
      if (options.durable !== false || created || tail.region.length > 0) fsyncSync(fd);
      if (created) syncDir(stateDir);
      return result;
    } finally {
      closeSync(fd);
    }
  });
}

/** Appends one entry under the audit lock (write + fsync unless `options.durable` is false; file 0600) and returns it. Repairs a torn tail first. */
export async function appendEntry(stateDir: string, body: EntryBody, options: AppendOptions = {}): Promise<AuditEntry> {
  const checked = checkBody(body);
  return withTrail(stateDir, options, async ({ next }) => {
    return next(checked, options.id);
  });
}

/**
 * Two-phase signed append: under the audit lock the entry is prepared (id, seq, ts, prev, hash), then
 * `sign(hash bytes)` runs — the touch happens inside it, while the lock keeps `prev` the chain's last
 * hash — and the entry is written with its signature. If `sign` throws, nothing is written.
 */
export async function appendSigned(
  stateDir: string,
  body: EntryBody,
  sign: (clientDataHash: Uint8Array) => Promise<Signature>,
  options: SignedAppendOptions = {},
): Promise<AuditEntry> {
  const { credential_id: credentialId, ...rest } = body;
  if (!isString(credentialId)) throw new TypeError('a signed entry needs credential_id and nonce');
  if (options.enrollment !== undefined && options.enrollment.credential_id !== credentialId) throw new TypeError('the enrollment is not for the signing credential');
  const signer = options.enrollment ?? { credential_id: credentialId };
  return signedAppend(stateDir, rest as EntryBody, [signer], async (hashFor) => ({ ...(await sign(hashFor(credentialId))), credential_id: credentialId }), options);
}

/**
 * A signed append where any of several enrolled keys may sign (whichever is touched first): under the lock
 * one entry is prepared per key, each naming its credential, and `sign` gets the hash each key would sign;
 * the entry of the key that signed is written. A key with no `enroll` entry in the trail gets one first,
 * marked `backfilled`, and the signature is checked with the trail's key before anything is written.
 */
export async function appendSignedByAny(
  stateDir: string,
  body: EntryBody,
  signers: EnrolledKey[],
  sign: (clientDataHashFor: (credentialId: string) => Uint8Array) => Promise<Signature & { credential_id: string }>,
  options: AppendOptions = {},
): Promise<AuditEntry> {
  if (signers.length === 0) throw new TypeError('a signed entry needs a signer');
  return signedAppend(stateDir, body, signers, sign, options);
}

async function signedAppend(
  stateDir: string,
  body: EntryBody,
  signers: Array<EnrolledKey | { credential_id: string; public_key?: undefined }>,
  sign: (clientDataHashFor: (credentialId: string) => Uint8Array) => Promise<Signature & { credential_id: string }>,
  options: AppendOptions,
): Promise<AuditEntry> {
  if ('credential_id' in body) throw new TypeError('the signer names the credential of a signed entry');
  const { nonce, ...fields } = body;
  const bodies = new Map(signers.map((signer) => [signer.credential_id, checkBody({ ...fields, credential_id: signer.credential_id, nonce } as EntryBody)]));
  const first = bodies.values().next().value as Record<string, unknown>;
  if (first.event !== 'login' && first.event !== 'exec') throw new TypeError('only login and exec entries are signed');
  if (!isString(first.nonce)) throw new TypeError('a signed entry needs credential_id and nonce');
  return withTrail(stateDir, options, async ({ fd, next, place, push }) => {
    const keys = new Map<string, KeyRecord>();
    for (const signer of signers) {
      if (signer.public_key === undefined) continue;
      let key = enrolledKey(fd, signer.credential_id);
      if (key === undefined) {
        const { credential_id, public_key, aaguid, rp_id, uv } = signer;
        next(checkBody({ event: 'enroll', profile: first.profile as string, credential_id, public_key, aaguid, rp_id, uv, backfilled: true }));
        key = { credential_id, public_key, rp_id };
      }
      keys.set(signer.credential_id, key);
    }
    const id = options.id ?? newAuditId();
    const candidates = new Map([...bodies].map(([credentialId, checked]) => [credentialId, place(checked, id)]));
    const { verifyTrail, shapeProblem } = await import('./verify.ts');
    for (const unsigned of candidates.values()) {
      // A body that could never verify is tng's own bug: found before the person is asked to touch.
      const problem = shapeProblem({ ...unsigned, sig: { auth_data: 'AA', signature: 'AA' } });
      if (problem !== undefined) throw new TypeError(`a signed ${String(unsigned.event)} entry would not verify: ${problem}`);
    }
    const sig = await sign((credentialId) => {
      const unsigned = candidates.get(credentialId);
      if (unsigned === undefined) throw new TypeError(`credential ${credentialId} is not one of the signers`);
      return clientDataHashOf(unsigned);
    });
    const unsigned = candidates.get(sig?.credential_id);
    if (unsigned === undefined) throw new TypeError('a signature by a credential that is not one of the signers');
    if (!isCanonicalBase64url(sig.auth_data) || !isCanonicalBase64url(sig.signature)) throw new TypeError('a signature must be base64url auth_data and signature');
    unsigned.sig = { auth_data: sig.auth_data, signature: sig.signature };
    const key = keys.get(sig.credential_id);
    if (key !== undefined) {
      const check = verifyTrail([unsigned], { keys: [key], partial: true });
      if (!check.ok) {
        throw new TngError('authenticator', 'audit.signature-mismatch', `The touch's signature does not verify with the key the audit trail holds for credential ${key.credential_id}.`, {
          hint: 'Re-enrol the key (`tng enroll`), then try again; nothing was written to the audit trail.',
        });
      }
    }
    push(unsigned);
    return unsigned;
  });
}

/** The latest enroll entry's key for a credential in the (open) trail. */
function enrolledKey(fd: number, credentialId: string): KeyRecord | undefined {
  return latestEnrollment(readAt(fd, fstatSync(fd).size, 0), credentialId);
}

/**
 * The key of the latest enroll entry for `credentialId` in a trail's bytes. The trail grows with every exec
 * while a signed login or exec needs only this one entry, so only the lines holding the credential's id and
 * the word "enroll" are parsed, found by a byte search from the end; an unfinished last line is no entry.
 */
export function latestEnrollment(data: Buffer, credentialId: string): KeyRecord | undefined {
  if (!isString(credentialId)) return undefined;
  const id = Buffer.from(credentialId, 'utf8');
  for (let at = data.lastIndexOf(id); at !== -1; ) {
    const start = data.lastIndexOf(0x0a, at) + 1;
    const end = data.indexOf(0x0a, at);
    const line = end === -1 ? undefined : data.subarray(start, end);
    if (line !== undefined && line.includes('enroll')) {
      const entry = parseObject(line);
      if (entry?.event === 'enroll' && entry.credential_id === credentialId && isString(entry.public_key) && isString(entry.rp_id)) {
        return { credential_id: credentialId, public_key: entry.public_key, rp_id: entry.rp_id };
      }
    }
    at = start === 0 ? -1 : data.lastIndexOf(id, start - 1);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Queries

/**
 * The signed entry that vouches for entry `id`: itself when signed, else the signed login a session or
 * exec names. Undefined when there is none (only meaningful on a trail that verifies).
 */
export function signedAnchor(entries: AuditEntry[], id: string): { entry: AuditEntry; anchor?: AuditEntry } | undefined {
  const entry = entries.find((e) => e.id === id);
  if (entry === undefined) return undefined;
  if (entry.sig !== undefined) return { entry, anchor: entry };
  const login = isString(entry.login) ? entries.find((e) => e.id === entry.login && e.event === 'login') : undefined;
  return login?.sig !== undefined ? { entry, anchor: login } : { entry };
}

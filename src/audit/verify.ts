/**
 * Verification of an audit trail: every hash, link, seq and signature, each signature checked with the
 * public key of the `enroll` entry in force for its credential at that point of the trail. Kept apart from
 * chain.ts so that appending (on exec's path) does not load the CBOR and COSE code verification needs.
 */
import { TngError } from '../errors.ts';
import { coseToKeyObject, type CosePublicKey } from '../fido2/ctap2/cose.ts';
import { verifyAssertion } from '../fido2/ctap2/verify.ts';
import { AUDIT_VERSION, EVENTS, clientDataHashOf, entryHash, isCanonicalBase64url, HEX64, type AuditEntry, type KeyRecord, type Trail } from './chain.ts';

export type { KeyRecord };


export interface VerifyOptions {
  /** Keys from elsewhere (an export's keys record), used only for credentials no earlier enroll entry covers. */
  keys?: KeyRecord[];
  /**
   * The entries are a slice of a longer trail (an export with --since): the first entry's seq and prev are
   * taken as given, and references to entries before the slice are listed as unresolved, not failures.
   */
  partial?: boolean;
}

export interface BadEntry {
  seq: number;
  id: string | null;
  reason: string;
  /** The line in the file, when verifying a file. */
  line?: number;
}

export interface Repair {
  seq: number;
  id: string;
  torn_bytes: number;
  torn_sha256: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  signed: number;
  firstBad?: BadEntry;
  repairs: Repair[];
  /** partial only: ids named by entries of the slice but lying before it. */
  unresolved: string[];
  /**
   * A whole trail only: logins its sessions and execs name that are no entry of it at all. They were recorded
   * in an earlier trail, moved or rotated away while their session lived on. Not a failure: the hash chain
   * shows nothing was cut from this trail, and an unsigned link proves nothing either way.
   */
  earlierTrail: string[];
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isNullableString = (value: unknown): boolean => value === null || isString(value);

interface KeyInForce {
  record: KeyRecord;
  cose?: CosePublicKey;
}

/** Why an entry's shape is wrong, or undefined. */
export function shapeProblem(entry: AuditEntry): string | undefined {
  if (entry.v !== AUDIT_VERSION) return `unknown format version ${JSON.stringify(entry.v)}`;
  if (!isString(entry.id)) return 'no id';
  if (!Number.isSafeInteger(entry.seq) || entry.seq < 1) return 'no valid seq';
  if (!isString(entry.ts) || Number.isNaN(Date.parse(entry.ts))) return 'no valid ts';
  if (!EVENTS.has(entry.event)) return `unknown event ${JSON.stringify(entry.event)}`;
  if (entry.event === 'repair' ? entry.profile !== null : !isString(entry.profile)) return 'no valid profile';
  if (entry.prev !== null && !(typeof entry.prev === 'string' && HEX64.test(entry.prev))) return 'no valid prev';
  if (!(typeof entry.hash === 'string' && HEX64.test(entry.hash))) return 'no valid hash';
  if (entry.sig !== undefined) {
    const sig = entry.sig as unknown as Record<string, unknown>;
    if (sig === null || typeof sig !== 'object' || !isCanonicalBase64url(sig.auth_data) || !isCanonicalBase64url(sig.signature) || Object.keys(sig).length !== 2) {
      return 'a malformed signature';
    }
    if (entry.event !== 'login' && entry.event !== 'exec') return `a signature, which a ${entry.event} entry cannot carry`;
  }
  switch (entry.event) {
    case 'enroll':
      if (!isString(entry.credential_id) || !isCanonicalBase64url(entry.public_key) || !isString(entry.rp_id) || typeof entry.aaguid !== 'string') {
        return 'an enroll entry without credential_id, public_key, aaguid and rp_id';
      }
      return undefined;
    case 'login':
      if (!isNullableString(entry.credential_id) || !isString(entry.nonce)) return 'a login entry without credential_id and nonce';
      if ((entry.credential_id !== null) !== (entry.sig !== undefined)) {
        return entry.sig === undefined ? 'a login made with a touch has lost its signature' : 'a signed login without credential_id';
      }
      return undefined;
    case 'session':
      if (!isString(entry.login)) return 'a session entry that names no login';
      return undefined;
    case 'exec':
      if (!isString(entry.program) || !(typeof entry.argv_sha256 === 'string' && HEX64.test(entry.argv_sha256))) return 'an exec entry without program and argv_sha256';
      if (entry.credential_id !== undefined && entry.credential_id !== null) {
        if (!isString(entry.credential_id) || !isString(entry.nonce)) return 'a signed exec without credential_id and nonce';
        if (entry.sig === undefined) return 'an exec made with a touch has lost its signature';
        if (entry.login !== undefined && entry.login !== null) return 'a signed exec that also names a login';
        return undefined;
      }
      if (entry.sig !== undefined) return 'a signed exec without credential_id';
      if (!isNullableString(entry.login)) return 'an exec entry without a login field';
      return undefined;
    case 'repair':
      if (!(typeof entry.torn_sha256 === 'string' && HEX64.test(entry.torn_sha256)) || !Number.isSafeInteger(entry.torn_bytes) || (entry.torn_bytes as number) < 0) {
        return 'a repair entry without torn_sha256 and torn_bytes';
      }
      return undefined;
  }
}

/**
 * Verifies a trail: every entry parses and has its fields, `hash` recomputes, `prev` is the previous
 * entry's hash, `seq` runs 1, 2, 3…, ids are unique, sessions and execs name an earlier login of their
 * profile, and every signature verifies with the key of the latest `enroll` entry for its credential at
 * or before it. Stops at the first failure. Repair entries are valid, and reported.
 */
export function verifyTrail(input: AuditEntry[] | Trail, options: VerifyOptions = {}): VerifyReport {
  const trail: Trail = Array.isArray(input) ? { entries: input, lines: [], faults: [] } : input;
  const { entries } = trail;
  const report: VerifyReport = { ok: true, entries: entries.length, signed: 0, repairs: [], unresolved: [], earlierTrail: [] };
  const anywhere = new Set(entries.map((entry) => (entry !== null && typeof entry === 'object' ? entry.id : undefined)));
  const fail = (bad: BadEntry): VerifyReport => ({ ...report, ok: false, firstBad: bad });

  const extraKeys = new Map<string, KeyInForce>();
  for (const record of options.keys ?? []) extraKeys.set(record.credential_id, { record });
  const enrolled = new Map<string, KeyInForce>();
  const byId = new Map<string, AuditEntry>();
  // The first damaged line, if any: reported when the walk reaches the entry it precedes.
  const fault = [...trail.faults].sort((a, b) => a.index - b.index)[0];
  const first = entries[0];
  const firstSeq = options.partial && first && Number.isSafeInteger(first.seq) ? first.seq : 1;

  for (let i = 0; i < entries.length; i++) {
    if (fault !== undefined && fault.index <= i) return fail({ seq: fault.seq, id: fault.id, line: fault.line, reason: fault.reason });
    const entry = entries[i] as AuditEntry;
    const expected = firstSeq + i;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return fail({ seq: expected, id: null, reason: 'not a JSON object' });
    const id = typeof entry.id === 'string' ? entry.id : null;
    const seq = Number.isSafeInteger(entry.seq) ? entry.seq : expected;
    const at = (reason: string): VerifyReport => fail({ seq, id, reason, ...(trail.lines[i] !== undefined ? { line: trail.lines[i] } : {}) });

    const shape = shapeProblem(entry);
    if (shape !== undefined) return at(shape);
    let hash: string;
    try {
      hash = entryHash(entry);
    } catch (error) {
      return at(`the entry cannot be canonicalised (${error instanceof Error ? error.message : String(error)})`);
    }
    if (hash !== entry.hash) return at('its hash does not match its content (the entry was changed)');
    if (entry.seq !== expected) return at(`seq ${entry.seq} where ${expected} was expected (an entry was deleted, duplicated, reordered or inserted)`);
    const previous = entries[i - 1];
    if (previous !== undefined ? entry.prev !== previous.hash : !options.partial && entry.prev !== null) {
      return at(previous !== undefined ? `prev does not match the hash of entry ${previous.seq} (an entry was deleted, inserted or reordered)` : 'the first entry has a prev');
    }
    if (byId.has(entry.id)) return at('its id appears twice');

    const named = (field: 'login', mustBeSigned: boolean): string | undefined => {
      const target = entry[field];
      if (target === null || target === undefined) return undefined;
      const found = byId.get(target as string);
      if (found === undefined) {
        if (options.partial) {
          report.unresolved.push(target as string);
          return undefined;
        }
        if (!anywhere.has(target as string)) {
          if (!report.earlierTrail.includes(target as string)) report.earlierTrail.push(target as string);
          return undefined;
        }
        return `it names login ${String(target)}, which is not an earlier entry`;
      }
      if (found.event !== 'login') return `it names ${String(target)}, which is a ${found.event} entry, not a login`;
      if (found.profile !== entry.profile) return `it names a login of profile "${String(found.profile)}"`;
      if (mustBeSigned && found.sig === undefined) return `it names login ${String(target)}, which is not signed`;
      return undefined;
    };

    switch (entry.event) {
      case 'enroll':
        enrolled.set(entry.credential_id as string, { record: { credential_id: entry.credential_id as string, public_key: entry.public_key as string, rp_id: entry.rp_id as string } });
        break;
      case 'session': {
        const problem = named('login', false);
        if (problem) return at(problem);
        break;
      }
      case 'exec': {
        const problem = named('login', true);
        if (problem) return at(problem);
        break;
      }
      case 'repair':
        report.repairs.push({ seq: entry.seq, id: entry.id, torn_bytes: entry.torn_bytes as number, torn_sha256: entry.torn_sha256 as string });
        break;
      default:
        break;
    }

    if (entry.sig !== undefined) {
      const credentialId = entry.credential_id as string;
      const key = enrolled.get(credentialId) ?? extraKeys.get(credentialId);
      if (key === undefined) return at(`no enrolled public key for credential ${credentialId} at or before this entry`);
      try {
        key.cose ??= coseToKeyObject(new Uint8Array(Buffer.from(key.record.public_key, 'base64url')));
      } catch {
        return at(`the public key enrolled for credential ${credentialId} is not a valid COSE key`);
      }
      const result = verifyAssertion({
        publicKey: key.cose,
        rpId: key.record.rp_id,
        authData: new Uint8Array(Buffer.from(entry.sig.auth_data, 'base64url')),
        clientDataHash: clientDataHashOf(entry),
        signature: new Uint8Array(Buffer.from(entry.sig.signature, 'base64url')),
        requireUserPresence: true,
      });
      if (!result.ok) return at(`its signature does not verify (${result.detail})`);
      report.signed++;
    }
    byId.set(entry.id, entry);
  }
  if (fault !== undefined) return fail({ seq: fault.seq, id: fault.id, line: fault.line, reason: fault.reason });
  if (trail.torn !== undefined) {
    const { torn } = trail;
    return fail({ seq: torn.seq, id: torn.id, line: torn.line, reason: `the last line is incomplete (${torn.bytes} torn or truncated bytes; the next append records them in a repair entry)` });
  }
  return report;
}

/** "Audit trail verification failed at entry <seq> (<id>): <reason>." as a TngError (exit 8). */
export function verificationError(bad: BadEntry, where: string): TngError {
  const torn = bad.reason.startsWith('the last line is incomplete');
  return new TngError('verification', 'audit.verify-failed', `Audit trail verification failed at entry ${bad.seq} (${bad.id ?? 'unknown id'}): ${bad.reason}.`, {
    hint: torn
      ? `${where} ends mid-entry: a crash during a write, or a cut. Keep a copy; the next login or exec records the torn bytes in a repair entry that --verify reports.`
      : `${where} was changed or damaged after it was written; keep a copy for investigation and compare it with an earlier \`tng audit export\`.`,
  });
}

// ---------------------------------------------------------------------------------------------------
// Appending


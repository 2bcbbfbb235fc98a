/**
 * `tng audit export`: the trail (or its end, from `--since ID` on) with the public keys needed to check its
 * signatures, as JSON lines, verifiable on another machine with no keychain and no config:
 *
 *   {"type":"keys","format":"tng-audit-export","v":1,"since":ID|null,"keys":[{credential_id,public_key,rp_id,aaguid,enroll_id,enroll_seq}]}
 *   {"type":"entry","entry":{...one trail entry, exactly as in audit.jsonl...}}   (one line per entry)
 *   {"type":"end","entries":N,"last_seq":S|null,"last_id":ID|null,"last_hash":HEX|null}
 *
 * The keys come from the trail's own enroll entries (also those before `--since`), never from a config.
 */
import { TngError } from '../errors.ts';
import { type AuditEntry, type KeyRecord, parseTrail } from './chain.ts';
import { type VerifyReport, verifyTrail } from './verify.ts';

export const EXPORT_FORMAT = 'tng-audit-export';

export interface ExportKey extends KeyRecord {
  aaguid: string;
  /** The enroll entry the key comes from. */
  enroll_id: string;
  enroll_seq: number;
}

export interface AuditExport {
  since: string | null;
  keys: ExportKey[];
  entries: AuditEntry[];
  /** How the end record disagrees with the entries, said once the chain itself has been walked (which names the bad entry). */
  endMismatch?: string;
}

function keyOf(enroll: AuditEntry): ExportKey {
  return {
    credential_id: enroll.credential_id as string,
    public_key: enroll.public_key as string,
    rp_id: enroll.rp_id as string,
    aaguid: typeof enroll.aaguid === 'string' ? enroll.aaguid : '',
    enroll_id: enroll.id,
    enroll_seq: enroll.seq,
  };
}

/**
 * The export of `entries` (a whole trail) from entry `since` on (inclusive; all when absent). Throws a
 * usage error when `since` names no entry.
 */
export function buildExport(entries: AuditEntry[], since?: string): AuditExport {
  const start = since === undefined ? 0 : entries.findIndex((e) => e.id === since);
  if (start === -1) {
    throw new TngError('usage', 'audit.unknown-since', `No audit entry has the id ${since}.`, { hint: 'Run `tng audit` to see the entries and their ids (`tng audit --json` shows them in full).' });
  }
  const slice = entries.slice(start);
  // For each credential that signs in the slice: the enroll entry in force at its first signature there.
  const keys = new Map<string, ExportKey>();
  const inForce = new Map<string, AuditEntry>();
  entries.forEach((entry, i) => {
    if (entry.event === 'enroll' && typeof entry.credential_id === 'string') inForce.set(entry.credential_id, entry);
    if (i < start || entry.sig === undefined || typeof entry.credential_id !== 'string' || keys.has(entry.credential_id)) return;
    const enroll = inForce.get(entry.credential_id);
    if (enroll !== undefined) keys.set(entry.credential_id, keyOf(enroll));
  });
  return { since: since ?? null, keys: [...keys.values()], entries: slice };
}

/** The export as JSON lines. */
export function formatExport(exported: AuditExport): string {
  const last = exported.entries.at(-1);
  const lines = [
    { type: 'keys', format: EXPORT_FORMAT, v: 1, since: exported.since, keys: exported.keys },
    ...exported.entries.map((entry) => ({ type: 'entry', entry })),
    { type: 'end', entries: exported.entries.length, last_seq: last?.seq ?? null, last_id: last?.id ?? null, last_hash: last?.hash ?? null },
  ];
  return lines.map((line) => `${JSON.stringify(line)}\n`).join('');
}

function malformed(detail: string): TngError {
  return new TngError('verification', 'audit.export-malformed', `The audit export is malformed: ${detail}.`, {
    hint: 'Use the unchanged output of `tng audit export`; a cut or edited export cannot be verified.',
  });
}

/** Whether a text looks like an export (its first line is the keys record) rather than a copy of audit.jsonl. */
export function isExport(text: string): boolean {
  const first = text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n'));
  try {
    const value = JSON.parse(first) as { type?: unknown; format?: unknown };
    return value.type === 'keys' && value.format === EXPORT_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Reads an export (also for `tng lambda verify --audit FILE`). Throws exit 8 when it is not a complete
 * export: a missing keys or end record, a line that is not JSON, or an end record that does not match.
 */
export function readExport(text: string): AuditExport {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const records = lines.map((line, i) => {
    try {
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
      return value as Record<string, unknown>;
    } catch {
      throw malformed(`line ${i + 1} is not a JSON record`);
    }
  });
  const head = records[0];
  if (head?.type !== 'keys' || head.format !== EXPORT_FORMAT || head.v !== 1 || !Array.isArray(head.keys)) throw malformed('it does not start with a tng-audit-export keys record');
  const end = records.at(-1);
  if (records.length < 2 || end?.type !== 'end') throw malformed('the end record is missing (the export was cut short)');
  const keys = (head.keys as unknown[]).map((key, i) => {
    const k = key as Record<string, unknown>;
    if (k === null || typeof k !== 'object' || typeof k.credential_id !== 'string' || typeof k.public_key !== 'string' || typeof k.rp_id !== 'string') {
      throw malformed(`key ${i + 1} lacks credential_id, public_key or rp_id`);
    }
    return k as unknown as ExportKey;
  });
  const entries = records.slice(1, -1).map((record, i) => {
    const entry = record.entry as unknown;
    if (record.type !== 'entry' || entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw malformed(`line ${i + 2} is not an entry record`);
    return entry as AuditEntry;
  });
  const last = entries.at(-1);
  const exported: AuditExport = { since: typeof head.since === 'string' ? head.since : null, keys, entries };
  if (end.entries !== entries.length || (end.last_id ?? null) !== (last?.id ?? null) || (end.last_hash ?? null) !== (last?.hash ?? null)) {
    exported.endMismatch = `the end record says ${String(end.entries)} entries ending at ${String(end.last_id)}, but the export holds ${entries.length}${last ? ` ending at ${last.id}` : ''}`;
  }
  return exported;
}

/**
 * Verifies an export on its own: the chain from its first entry (a slice when exported with --since), every
 * signature with the keys of the enroll entries it holds, else those of its keys record. A keys record that
 * names an enroll entry inside the export must match that entry.
 */
export function verifyExport(exported: AuditExport): VerifyReport {
  const partial = exported.since !== null;
  const report = verifyTrail(exported.entries, { keys: exported.keys, partial });
  if (!report.ok) return report;
  if (exported.endMismatch !== undefined) throw malformed(exported.endMismatch);
  const byId = new Map(exported.entries.map((e) => [e.id, e]));
  for (const key of exported.keys) {
    const enroll = byId.get(key.enroll_id);
    if (enroll !== undefined && (enroll.event !== 'enroll' || enroll.credential_id !== key.credential_id || enroll.public_key !== key.public_key || enroll.rp_id !== key.rp_id)) {
      return { ...report, ok: false, firstBad: { seq: enroll.seq, id: enroll.id, reason: `the export's keys record does not match this enroll entry for credential ${key.credential_id}` } };
    }
  }
  return report;
}

/** Reads either an export or a copy of audit.jsonl (bytes, since torn bytes need not be UTF-8), and verifies it. */
export function verifyData(data: Buffer): { entries: AuditEntry[]; report: VerifyReport; kind: 'export' | 'trail'; keys: KeyRecord[] } {
  const text = data.toString('utf8');
  if (isExport(text)) {
    const exported = readExport(text);
    return { entries: exported.entries, report: verifyExport(exported), kind: 'export', keys: exported.keys };
  }
  const trail = parseTrail(data);
  return { entries: trail.entries, report: verifyTrail(trail), kind: 'trail', keys: [] };
}

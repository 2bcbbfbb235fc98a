/**
 * The audit check: the function's `tng:audit-id` tag must name an entry of the audit trail (the local one,
 * or an export given with --audit) that is signed by a security key, or an exec chained to a signed login,
 * and the whole trail or export must verify (hash chain, links, every signature).
 */
import { auditPath, readTrail, signedAnchor, type AuditEntry, type KeyRecord } from '../audit/chain.ts';
import { verifyData } from '../audit/export.ts';
import { verifyTrail, type VerifyReport } from '../audit/verify.ts';
import { isTngError, usageError } from '../errors.ts';
import type { CheckResult } from './checks.ts';

export interface AuditSource {
  entries: AuditEntry[];
  report: VerifyReport;
  /** "the local audit trail (PATH)" or "the audit export FILE". */
  where: string;
  /** Only part of a trail (an export made with --since). */
  partial: boolean;
  /** An export's keys record (for keys whose enroll entry lies before it); none for a trail. */
  keys: KeyRecord[];
}

/** A credential enrolled in a profile of this machine's config: what a signer's key is compared with. */
export interface EnrolledHere {
  profile: string;
  credential_id: string;
  public_key: string;
}

const short = (id: string) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

/** The public key the trail or export holds for the credential that signed `anchor` (the enroll entry in force). */
function signingKey(anchor: AuditEntry, source: AuditSource): string | undefined {
  const enroll = source.entries.filter((e) => e.event === 'enroll' && e.credential_id === anchor.credential_id && e.seq < anchor.seq).at(-1);
  if (typeof enroll?.public_key === 'string') return enroll.public_key;
  return source.keys.find((k) => k.credential_id === anchor.credential_id)?.public_key;
}

const samePublicKey = (a: string, b: string | undefined) => b !== undefined && Buffer.from(a, 'base64url').equals(Buffer.from(b, 'base64url'));

/**
 * Who signed, as far as this machine can tell: the trail's own key proves only that the trail is
 * consistent, so the signer's credential is compared with the keys enrolled here. A credential enrolled here
 * under another public key is a forgery; one not enrolled here is named, for a person to compare.
 */
function signer(anchor: AuditEntry, source: AuditSource, enrolledHere: EnrolledHere[]): { ok: true; text: string } | { ok: false; text: string } {
  const id = String(anchor.credential_id);
  const here = enrolledHere.filter((k) => k.credential_id === id);
  if (here.length === 0) return { ok: true, text: `security key ${short(id)}, which no profile here enrolls (compare it with the signer's \`tng whoami\`)` };
  const key = signingKey(anchor, source);
  const other = here.find((k) => !samePublicKey(k.public_key, key));
  if (other !== undefined) return { ok: false, text: `credential ${short(id)}, which profile ${other.profile} here enrolls with another public key than the one ${source.where} holds for it` };
  return { ok: true, text: `security key ${short(id)}, enrolled in profile ${[...new Set(here.map((k) => k.profile))].join(', ')} here` };
}

export function evaluateAudit(auditId: string | undefined, source: AuditSource | { where: string; malformed: string }, enrolledHere: EnrolledHere[] = []): CheckResult {
  const fail = (detail: string): CheckResult => ({ name: 'audit', ok: false, detail });
  if (auditId === undefined) return fail('no tng:audit-id tag: nothing ties the deployment to a recorded, signed `tng exec`');
  if (auditId.trim() === '') return fail('the tng:audit-id tag is empty: nothing ties the deployment to a recorded, signed `tng exec`');
  if ('malformed' in source) return fail(`${source.where} cannot be read: ${source.malformed}`);
  const { report, entries, where } = source;
  if (!report.ok) {
    const bad = report.firstBad;
    return fail(bad ? `${where} does not verify at entry ${bad.seq} (${bad.id ?? 'unknown id'}): ${bad.reason}` : `${where} does not verify`);
  }
  const found = signedAnchor(entries, auditId);
  if (found === undefined) {
    const more = source.partial ? '' : where.startsWith('the local') ? ' (for a deployment made elsewhere, pass that trail\'s `tng audit export` with --audit FILE)' : '';
    return fail(`tng:audit-id ${auditId} names no entry of ${where}${more}`);
  }
  const { entry, anchor } = found;
  const at = `${entry.event} entry ${short(entry.id)} (seq ${entry.seq}, ${entry.ts}, profile ${entry.profile})`;
  if (anchor !== undefined && (anchor === entry || entry.event === 'exec')) {
    const signedBy = signer(anchor, source, enrolledHere);
    const how = anchor === entry ? `${at}, signed by` : `${at}, chained to login ${short(anchor.id)} (seq ${anchor.seq}) signed by`;
    if (!signedBy.ok) return fail(`${how} ${signedBy.text}`);
    return { name: 'audit', ok: true, detail: `${how} ${signedBy.text}; ${where} verifies` };
  }
  if (entry.event === 'exec' && typeof entry.login === 'string' && report.unresolved.includes(entry.login)) {
    return fail(`${at} names login ${short(entry.login)}, which lies before the export: export from that login on (tng audit export --since ${entry.login})`);
  }
  if (entry.event === 'exec' && typeof entry.login === 'string' && report.earlierTrail.includes(entry.login)) {
    return fail(`${at} names login ${short(entry.login)}, which is in an earlier trail (moved or rotated away), not in ${where}: its signature cannot be checked here`);
  }
  return fail(`${at} is neither signed nor an exec chained to a signed login`);
}

/** The entries to look in: the local trail (bytes after a crash mid-write are not held against it), or an export. */
export async function loadAuditSource(stateDir: string, file: string | undefined): Promise<AuditSource | { where: string; malformed: string }> {
  if (file === undefined) {
    const trail = await readTrail(stateDir);
    return { entries: trail.entries, report: verifyTrail({ ...trail, torn: undefined }), where: `the local audit trail (${auditPath(stateDir)})`, partial: false, keys: [] };
  }
  const { readFile } = await import('node:fs/promises');
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    throw usageError('lambda.audit-file', `Cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, 'Give --audit the path of a file written by `tng audit export`.', error);
  }
  const where = `the audit export ${file}`;
  try {
    const verified = verifyData(data);
    return { entries: verified.entries, report: verified.report, where: verified.kind === 'export' ? where : `the audit trail ${file}`, partial: verified.report.unresolved.length > 0, keys: verified.keys };
  } catch (error) {
    if (isTngError(error, 'verification')) return { where, malformed: error.message };
    throw error;
  }
}

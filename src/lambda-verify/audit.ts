/**
 * The audit check: the function's `tng:audit-id` tag must name an entry of the audit trail (the local one,
 * or an export given with --audit) that is signed by a security key, or an exec chained to a signed login,
 * and the whole trail or export must verify (hash chain, links, every signature).
 */
import { auditPath, readTrail, signedAnchor, type AuditEntry } from '../audit/chain.ts';
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
}

const short = (id: string) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

export function evaluateAudit(auditId: string | undefined, source: AuditSource | { where: string; malformed: string }): CheckResult {
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
  if (anchor === entry) return { name: 'audit', ok: true, detail: `${at}, signed by security key ${short(String(entry.credential_id))}; ${where} verifies` };
  if (entry.event === 'exec' && anchor !== undefined) {
    return { name: 'audit', ok: true, detail: `${at}, chained to login ${short(anchor.id)} (seq ${anchor.seq}) signed by security key ${short(String(anchor.credential_id))}; ${where} verifies` };
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
    return { entries: trail.entries, report: verifyTrail({ ...trail, torn: undefined }), where: `the local audit trail (${auditPath(stateDir)})`, partial: false };
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
    return { entries: verified.entries, report: verified.report, where: verified.kind === 'export' ? where : `the audit trail ${file}`, partial: verified.report.unresolved.length > 0 };
  } catch (error) {
    if (isTngError(error, 'verification')) return { where, malformed: error.message };
    throw error;
  }
}

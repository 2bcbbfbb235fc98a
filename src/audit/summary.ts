import { AUDIT_FILE, readTrail } from './chain.ts';
import { verifyTrail } from './verify.ts';

export { AUDIT_FILE };

export interface AuditSummary {
  entries: number;
  /** The whole trail verifies: hashes, links, seqs and every signature. */
  verified: boolean;
  last_id: string | null;
}

/** The profile's latest touch as the trail records it: the credential that signed, and when. */
export interface LastTouch {
  credential_id: string;
  ts: string;
}

/** whoami's audit part: the state dir's trail, counted and verified; an absent trail is an empty one. */
export async function auditSummary(stateDir: string): Promise<AuditSummary> {
  return (await auditFacts(stateDir)).summary;
}

/** The summary, and (with a profile) its latest signed entry — read once. */
export async function auditFacts(stateDir: string, profile?: string): Promise<{ summary: AuditSummary; lastTouch?: LastTouch }> {
  const trail = await readTrail(stateDir);
  const report = verifyTrail(trail);
  const last = trail.entries.at(-1);
  const summary = { entries: trail.entries.length, verified: report.ok, last_id: last && typeof last.id === 'string' ? last.id : null };
  const signed = profile === undefined ? undefined : trail.entries.findLast((e) => e.profile === profile && e.sig !== undefined && typeof e.credential_id === 'string');
  return signed ? { summary, lastTouch: { credential_id: signed.credential_id as string, ts: signed.ts } } : { summary };
}

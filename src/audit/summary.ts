import { AUDIT_FILE, readTrail, verifyTrail } from './chain.ts';

export { AUDIT_FILE };

export interface AuditSummary {
  entries: number;
  /** The whole trail verifies: hashes, links, seqs and every signature. */
  verified: boolean;
  last_id: string | null;
}

/** whoami's audit part: the state dir's trail, counted and verified; an absent trail is an empty one. */
export async function auditSummary(stateDir: string): Promise<AuditSummary> {
  const trail = await readTrail(stateDir);
  const report = verifyTrail(trail);
  const last = trail.entries.at(-1);
  return { entries: trail.entries.length, verified: report.ok, last_id: last && typeof last.id === 'string' ? last.id : null };
}

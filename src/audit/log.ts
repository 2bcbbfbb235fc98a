/**
 * The callers' entry point to the audit trail (the chain itself is `chain.ts`): one entry per login
 * (a `login` entry, then a `session` entry naming it), exec and enrolment.
 */
import { appendEntry, type AppendOptions, type AuditEntry, type EntryBody } from './chain.ts';

export { type AuditEntry, type EntryBody, newAuditId, newNonce } from './chain.ts';

/** An entry to append: its event fields, and optionally its id (e.g. an exec's TNG_AUDIT_ID). */
export type NewAuditEntry = EntryBody & { id?: string };

/** Appends one entry under the state dir's audit lock: write + fsync, file 0600; returns it as written. */
export async function appendAudit(stateDir: string, entry: NewAuditEntry, options: Omit<AppendOptions, 'id'> = {}): Promise<AuditEntry> {
  const { id, ...body } = entry;
  return appendEntry(stateDir, body as EntryBody, { ...options, ...(id !== undefined ? { id } : {}) });
}

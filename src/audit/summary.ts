import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AuditSummary {
  entries: number;
  verified: boolean;
  last_id: string | null;
}

export const AUDIT_FILE = 'audit.jsonl';

/** Counts the entries of the state dir's audit trail; an absent trail is an empty one. */
export async function auditSummary(stateDir: string): Promise<AuditSummary> {
  let text: string;
  try {
    text = await readFile(join(stateDir, AUDIT_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: 0, verified: true, last_id: null };
    throw error;
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  let lastId: string | null = null;
  let wellFormed = true;
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { id?: unknown };
      if (typeof entry.id === 'string') lastId = entry.id;
      else wellFormed = false;
    } catch {
      wellFormed = false;
    }
  }
  return { entries: lines.length, verified: wellFormed, last_id: lastId };
}

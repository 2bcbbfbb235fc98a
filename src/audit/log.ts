import { randomUUID } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../state/lock.ts';
import { AUDIT_FILE } from './summary.ts';

/** One line of audit.jsonl. Never a secret: no tokens, keys or argv values (only a hash of the argv). */
export interface AuditEntry {
  id: string;
  seq: number;
  ts: string;
  event: 'login' | 'exec';
  profile: string;
  subject: string | null;
  vault_accessor: string | null;
  aws_access_key_id: string | null;
  /** exec only: the program's name and SHA-256 (hex) of the JSON array of all its arguments. */
  program?: string;
  argv_sha256?: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq'>;

export function newAuditId(): string {
  return randomUUID();
}

const TAIL_BYTES = 64 * 1024;

/** The seq of the last complete line (0 for an empty trail), read from the file's tail only. */
async function lastSeq(path: string): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '');
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const seq = (JSON.parse(lines[i] as string) as { seq?: unknown }).seq;
        if (typeof seq === 'number') return seq;
      } catch {
        // a torn or foreign line: look further back
      }
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** Appends one entry under the state dir's audit lock: write + fsync, file 0600. */
export async function appendAudit(stateDir: string, entry: NewAuditEntry): Promise<AuditEntry> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, AUDIT_FILE);
  return withLock(stateDir, 'audit', { timeoutMs: 30_000 }, async () => {
    const full: AuditEntry = { ...entry, seq: (await lastSeq(path)) + 1 };
    const handle = await open(path, 'a', 0o600);
    try {
      await handle.appendFile(`${JSON.stringify(full)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return full;
  });
}

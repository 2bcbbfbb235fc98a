/**
 * Where the audit trail lives, the error for a trail tng cannot use, and the check an exec makes before its
 * command gets credentials (its entry is written once the command runs, too late to refuse it then). Kept
 * apart from chain.ts so that this check does not load the chain's hashing and canonical JSON.
 */
import { closeSync, constants, accessSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { TngError } from '../errors.ts';
import { makeDirectory } from '../state/make-dir.ts';

export const AUDIT_FILE = 'audit.jsonl';

export function auditPath(stateDir: string): string {
  return join(stateDir, AUDIT_FILE);
}

export function auditFileError(error: unknown, stateDir: string): TngError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new TngError('usage', 'audit.unreadable', `Cannot use the audit trail ${auditPath(stateDir)} (${code}).`, {
    hint: 'Make the state dir and its audit.jsonl readable and writable by you (dir 0700, file 0600).',
    cause: error,
  });
}

/** Throws what an append would (exit 2) when the trail cannot be opened for writing, or created. */
export function checkTrailWritable(stateDir: string): void {
  try {
    makeDirectory(stateDir);
    closeSync(openSync(auditPath(stateDir), 'r+'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw auditFileError(error, stateDir);
    try {
      accessSync(stateDir, constants.W_OK | constants.X_OK);
    } catch (inner) {
      throw auditFileError(inner, stateDir);
    }
  }
}

/**
 * Durable small-file writes in the state and config dirs. The calls are synchronous: each file is small, and
 * a synchronous call costs less than a round trip through Node's thread pool.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { nodeCrypto } from '../platform/lazy-crypto.ts';
import { makeDirectory } from './make-dir.ts';

/** Removes a file; false when it could not be (gone already, or not removable). */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Makes a rename in `dir` durable; best effort, because not every platform can fsync a directory. */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the file itself is synced
  }
}

/**
 * Replaces `path` with `text` atomically: a 0600 temp file beside it (directory created 0700), fsync,
 * rename, then the directory synced. A failed write leaves the old file and no temp file behind.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  makeDirectory(dir);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeFileSync(fd, text, 'utf8');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    removeFile(temp);
    throw error;
  }
  syncDir(dir);
}

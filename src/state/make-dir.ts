import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * `mkdir -p` with `mode` for every directory it creates. Node's own recursive mkdir never returns where the
 * kernel answers ENOENT for a directory under a parent that exists (procfs, sysfs: TNG_STATE_DIR=/proc/x
 * spun forever, deaf to SIGTERM); this one fails with that ENOENT instead.
 */
export function makeDirectory(dir: string, mode = 0o700): void {
  try {
    mkdirSync(dir, { mode });
    return;
  } catch (error) {
    if (errorCode(error) === 'EEXIST' && statSync(dir).isDirectory()) return;
    const parent = dirname(dir);
    if (errorCode(error) !== 'ENOENT' || parent === dir) throw error;
    makeDirectory(parent, mode);
  }
  try {
    mkdirSync(dir, { mode });
  } catch (error) {
    // Another process may have made it in the meantime; a second ENOENT is final.
    if (!(errorCode(error) === 'EEXIST' && statSync(dir).isDirectory())) throw error;
  }
}

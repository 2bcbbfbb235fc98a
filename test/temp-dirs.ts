/** Temp dirs for one test file (or suite), removed when its tests end, passed or failed. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** Call at the top of a file or a `describe`; each call of the result makes a fresh `tng-PREFIX-*` dir. */
export function tempDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  after(async () => {
    await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), `tng-${prefix}-`));
    made.push(dir);
    return dir;
  };
}

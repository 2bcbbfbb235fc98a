import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkTrailWritable } from '../../../src/audit/file.ts';
import { isTngError } from '../../../src/errors.ts';

describe('checkTrailWritable (before an exec hands out credentials)', () => {
  it('passes for a trail that exists and for one not yet made, creating only the state dir', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tng-trail-'));
    try {
      const state = join(home, 'state', 'tng');
      checkTrailWritable(state);
      assert.deepEqual(await readdir(state), [], 'no audit.jsonl is created by the check');
      await writeFile(join(state, 'audit.jsonl'), '', { mode: 0o600 });
      checkTrailWritable(state);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('refuses, as an append would (exit 2, naming the file), a trail that is a directory or a state dir that is a file', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tng-trail-'));
    try {
      await mkdir(join(home, 'a', 'audit.jsonl'), { recursive: true });
      assert.throws(
        () => checkTrailWritable(join(home, 'a')),
        (error) => isTngError(error, 'usage') && error.exitCode === 2 && error.message === `Cannot use the audit trail ${join(home, 'a', 'audit.jsonl')} (EISDIR).`,
      );
      await writeFile(join(home, 'b'), '');
      assert.throws(() => checkTrailWritable(join(home, 'b')), (error) => isTngError(error, 'usage') && /\(ENOTDIR\)|\(EEXIST\)/.test(error.message));
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

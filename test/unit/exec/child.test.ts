import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { runChild } from '../../../src/exec/child.ts';

describe('runChild', () => {
  it('returns the exit status, or 128+N for a signal', async () => {
    assert.equal(await runChild({ command: 'sh', args: ['-c', 'exit 7'], env: process.env, terminal: false }), 7);
    assert.equal(await runChild({ command: 'sh', args: ['-c', 'kill -TERM $$'], env: process.env, terminal: false }), 143);
  });
  it('reports a missing command as tng\'s error', async () => {
    await assert.rejects(runChild({ command: 'no-such-command-tng', args: [], env: process.env, terminal: false }), (e: unknown) => e instanceof TngError && /command not found/.test(e.message));
  });
  it('runs onStart once the child has started', async () => {
    let started = 0;
    await runChild({ command: 'true', args: [], env: process.env, terminal: false, onStart: (pid) => void (started = pid) });
    assert.ok(started > 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../../../src/audit/chain.ts';
import { formatEntries } from '../../../src/commands/audit.ts';

const entry = (seq: number, program: string): AuditEntry =>
  ({ v: 1, seq, id: `0000000${seq % 10}-0000-4000-8000-000000000000`, ts: '2026-11-23T08:00:00.000Z', event: 'exec', profile: 'work', program, argv_sha256: 'a'.repeat(64), prev: 'b'.repeat(64), hash: 'c'.repeat(64) }) as unknown as AuditEntry;

describe('the audit listing', () => {
  it('shows a program name\'s escape sequences instead of sending them to the terminal', () => {
    const [, row] = formatEntries([entry(1, 'x\u001b[31mRED\u001b]0;TITLE\u0007')]);
    assert.match(row ?? '', /x\\x1b\[31mRED\\x1b\]0;TITLE\\x07/);
    assert.ok(!(row ?? '').includes('\u001b'));
  });

  it('lists a trail of 200,000 entries', () => {
    const entries = Array.from({ length: 200_000 }, (_, i) => entry(i + 1, 'terraform'));
    const lines = formatEntries(entries);
    assert.equal(lines.length, 200_001);
    assert.match(lines.at(-1) ?? '', /^200000 /);
  });
});

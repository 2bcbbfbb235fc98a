/**
 * Tampering of every kind is detected, and the first bad entry is named by seq, id and line: a flipped
 * byte anywhere, a deleted, duplicated, reordered or inserted line, a truncated last line, a signature
 * moved or stripped, a public key swapped in the config (irrelevant: keys come from enroll entries) or in
 * an enroll entry (the signatures after it fail), a rewritten and re-hashed history.
 */
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { appendEntry, appendSigned, entryHash, newNonce, parseTrail, type AuditEntry } from '../../../src/audit/chain.ts';
import { verifyTrail, type VerifyReport } from '../../../src/audit/verify.ts';
import { enrollBody, rechain, tempStateDir, testKey, type TestKey } from './helpers.ts';

const ARGV = 'cd'.repeat(32);
let dispose: () => Promise<void>;
let key: TestKey;
/** enroll, unsigned login (other), signed login, session, exec under it, signed exec, [torn bytes], repair, session (other). */
let original: Buffer;
let entries: AuditEntry[];

before(async () => {
  const state = await tempStateDir();
  dispose = state.dispose;
  key = testKey();
  const dir = state.dir;
  await appendEntry(dir, enrollBody('work', key));
  const otherLogin = await appendEntry(dir, { event: 'login', profile: 'other', credential_id: null, nonce: newNonce() });
  const login = await appendSigned(dir, { event: 'login', profile: 'work', credential_id: key.credentialId, nonce: newNonce() }, async (h) => key.sign(h));
  await appendEntry(dir, { event: 'session', profile: 'work', login: login.id, subject: 'sub', email: 'alice@example.com', vault_accessor: 'acc-1', method: 'jwt' });
  await appendEntry(dir, { event: 'exec', profile: 'work', program: 'terraform', argv_sha256: ARGV, vault_accessor: 'acc-1', aws_access_key_id: 'AKIAEXAMPLE', login: login.id });
  await appendSigned(dir, { event: 'exec', profile: 'work', program: 'aws', argv_sha256: ARGV, vault_accessor: 'acc-1', aws_access_key_id: null, credential_id: key.credentialId, nonce: newNonce() }, async (h) => key.sign(h));
  // A crash mid-write: the first 60 bytes of an entry, then the next append's repair.
  await appendFile(state.file, `{"v":1,"id":"11111111-2222-4333-8444-555555555555","seq":7,"ts":"2025`);
  await appendEntry(dir, { event: 'session', profile: 'other', login: otherLogin.id, subject: null, email: null, vault_accessor: 'acc-9', method: 'oidc' });
  original = await readFile(state.file);
  const trail = parseTrail(original);
  entries = trail.entries;
  const report = verifyTrail(trail);
  assert.equal(report.ok, true, report.firstBad?.reason);
  assert.deepEqual(entries.map((e) => e.event), ['enroll', 'login', 'login', 'session', 'exec', 'exec', 'repair', 'session']);
  assert.equal(report.signed, 2);
});
after(() => dispose());

/** Lines of the original file: byte range (end = the newline's offset) and the entry on it, if any. */
function lineMap(data: Buffer): Array<{ start: number; end: number; entry?: AuditEntry; text: string }> {
  const lines: Array<{ start: number; end: number; entry?: AuditEntry; text: string }> = [];
  let start = 0;
  for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, start)) {
    const text = data.subarray(start, end).toString('utf8');
    let entry: AuditEntry | undefined;
    try {
      entry = JSON.parse(text) as AuditEntry;
    } catch {
      entry = undefined;
    }
    lines.push({ start, end, entry, text });
    start = end + 1;
  }
  return lines;
}

function within(data: Buffer, line: { start: number; end: number }, needle: string, position: number): boolean {
  const at = data.indexOf(needle, line.start);
  return at !== -1 && at < line.end && position >= at && position < at + Buffer.byteLength(needle);
}

const verifyBytes = (data: Buffer): VerifyReport => verifyTrail(parseTrail(data));
const toLines = (): string[] => original.toString('utf8').split('\n').slice(0, -1);
const fromLines = (lines: string[]): Buffer => Buffer.from(lines.map((l) => `${l}\n`).join(''));

describe('a flipped byte anywhere', () => {
  it('every byte position, three different bit flips each: detected, and the line, seq and id named are the entry\'s own', () => {
    const lines = lineMap(original);
    const torn = lines.findIndex((l) => l.entry === undefined);
    const repair = lines[torn + 1]?.entry as AuditEntry;
    assert.equal(repair.event, 'repair');
    let checked = 0;
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n] as (typeof lines)[number];
      for (let p = line.start; p <= line.end; p++) {
        for (const mask of [0x01, 0x20, 0x80]) {
          const data = Buffer.from(original);
          data[p] = (data[p] as number) ^ mask;
          const report = verifyBytes(data);
          const where = `byte ${p} (line ${n + 1}, ${JSON.stringify(String.fromCharCode(original[p] as number))}) ^ 0x${mask.toString(16)}`;
          assert.equal(report.ok, false, `${where} went unnoticed`);
          const bad = report.firstBad as NonNullable<VerifyReport['firstBad']>;
          const inId = (id: string) => within(original, line, `"id":"${id}"`, p);
          if (n === torn) {
            assert.equal(bad.line, n + 1, where);
            assert.equal(bad.seq, repair.seq, where);
            assert.ok(bad.id === '11111111-2222-4333-8444-555555555555' || inId('11111111-2222-4333-8444-555555555555'), where);
          } else if (n === torn + 1 && bad.line === torn + 1) {
            // The repair line turned into something that no longer accounts for the torn bytes.
            assert.equal(bad.seq, repair.seq, where);
          } else {
            const entry = line.entry as AuditEntry;
            assert.equal(bad.line, n + 1, `${where}: named line ${bad.line}`);
            assert.ok(bad.seq === entry.seq || within(original, line, `"seq":${entry.seq}`, p), `${where}: seq ${bad.seq}`);
            assert.ok(bad.id === entry.id || inId(entry.id), `${where}: id ${bad.id}`);
          }
          checked++;
        }
      }
    }
    assert.equal(checked, original.length * 3);
  });
});

describe('lines deleted, duplicated, reordered, inserted, truncated', () => {
  const named = (report: VerifyReport) => [report.ok, report.firstBad?.seq, report.firstBad?.id, report.firstBad?.line];

  it('a deleted line: the entry after the gap is named', () => {
    const lines = toLines();
    // Line 7 is the torn bytes, line 8 their repair; delete every entry line that has a successor.
    for (const i of [0, 1, 2, 3, 4]) {
      const cut = lines.filter((_, j) => j !== i);
      const next = JSON.parse(lines[i + 1] as string) as AuditEntry;
      assert.deepEqual(named(verifyBytes(fromLines(cut))), [false, next.seq, next.id, i + 1], `deleting line ${i + 1}`);
    }
    // Deleting the signed exec: the torn bytes still have their repair, which now follows the wrong entry.
    const repair = entries[6] as AuditEntry;
    assert.deepEqual(named(verifyBytes(fromLines(lines.filter((_, j) => j !== 5)))), [false, repair.seq, repair.id, 7]);
    // Deleting the torn bytes leaves a repair that accounts for nothing; deleting the repair, torn bytes nobody accounts for.
    const withoutTorn = verifyBytes(fromLines(lines.filter((_, j) => j !== 6)));
    assert.deepEqual(named(withoutTorn).slice(0, 3), [false, entries[6]?.seq, entries[6]?.id]);
    const withoutRepair = verifyBytes(fromLines(lines.filter((_, j) => j !== 7)));
    assert.deepEqual(named(withoutRepair), [false, 7, '11111111-2222-4333-8444-555555555555', 7]);
  });

  it('a duplicated line: the copy is named', () => {
    const lines = toLines();
    for (const i of [0, 2, 3, 5, 8]) {
      const doubled = [...lines.slice(0, i + 1), lines[i] as string, ...lines.slice(i + 1)];
      const entry = JSON.parse(lines[i] as string) as AuditEntry;
      assert.deepEqual(named(verifyBytes(fromLines(doubled))), [false, entry.seq, entry.id, i + 2], `duplicating line ${i + 1}`);
    }
  });

  it('two lines swapped: the first out of place is named', () => {
    const lines = toLines();
    for (const i of [0, 1, 2, 3, 4]) {
      const swapped = [...lines];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1] as string, swapped[i] as string];
      const moved = JSON.parse(lines[i + 1] as string) as AuditEntry;
      assert.deepEqual(named(verifyBytes(fromLines(swapped))), [false, moved.seq, moved.id, i + 1], `swapping lines ${i + 1} and ${i + 2}`);
    }
    const reversed = toLines().slice(0, 6).reverse();
    assert.equal(verifyBytes(fromLines(reversed)).firstBad?.line, 1);
  });

  it('an inserted line: a copy of an older entry, a forged entry, junk', () => {
    const lines = toLines();
    const copy = [...lines.slice(0, 4), lines[1] as string, ...lines.slice(4)];
    assert.deepEqual(named(verifyBytes(fromLines(copy))), [false, entries[1]?.seq, entries[1]?.id, 5]);

    // A well-forged entry (right seq, prev and hash) slots in; the chain breaks at the entry after it.
    const forged: Record<string, unknown> = { v: 1, id: 'f0f0f0f0-0000-4000-8000-000000000000', seq: 4, ts: '2025-01-01T00:00:00.000Z', event: 'login', profile: 'work', credential_id: null, nonce: 'aa', prev: entries[2]?.hash };
    forged.hash = entryHash(forged);
    const inserted = [...lines.slice(0, 3), JSON.stringify(forged), ...lines.slice(3)];
    assert.deepEqual(named(verifyBytes(fromLines(inserted))), [false, entries[3]?.seq, entries[3]?.id, 5]);
    const junk = [...lines.slice(0, 2), '{"hello":"world"}', ...lines.slice(2)];
    assert.deepEqual(named(verifyBytes(fromLines(junk))), [false, 3, null, 3]);
    const blank = [...lines.slice(0, 2), '', ...lines.slice(2)];
    assert.deepEqual(named(verifyBytes(fromLines(blank))), [false, 3, null, 3]);
  });

  it('a truncated last line: named by seq and (while it survives) id, wherever the cut', () => {
    const last = entries.at(-1) as AuditEntry;
    const lastStart = original.lastIndexOf(0x0a, original.length - 2) + 1;
    for (let cut = lastStart + 1; cut < original.length; cut++) {
      const report = verifyBytes(original.subarray(0, cut));
      assert.equal(report.ok, false, `cut at ${cut}`);
      assert.equal(report.firstBad?.seq, last.seq);
      assert.equal(report.firstBad?.line, 9);
      if (cut - lastStart > `{"v":1,"id":"${last.id}"`.length) assert.equal(report.firstBad?.id, last.id);
      assert.match(report.firstBad?.reason ?? '', /incomplete/);
    }
  });
});

describe('signatures and keys', () => {
  const edit = (fn: (all: Array<Record<string, unknown>>) => void): VerifyReport => {
    const all = toLines().map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    });
    const parsed = all.filter((e): e is Record<string, unknown> => e !== undefined);
    fn(parsed);
    let k = 0;
    return verifyBytes(fromLines(toLines().map((l, i) => (all[i] === undefined ? l : JSON.stringify(parsed[k++])))));
  };

  it('a signature moved to another entry fails there (its hash differs); one stripped is missed by its credential id', () => {
    let report = edit((all) => {
      all[5]!.sig = all[2]!.sig; // the login's signature onto the signed exec
    });
    assert.deepEqual([report.ok, report.firstBad?.seq, report.firstBad?.id], [false, 6, entries[5]?.id]);
    assert.match(report.firstBad?.reason ?? '', /signature does not verify/);

    report = edit((all) => {
      all[3]!.sig = all[2]!.sig; // onto the session
    });
    assert.deepEqual([report.ok, report.firstBad?.seq], [false, 4]);
    assert.match(report.firstBad?.reason ?? '', /signature, which a session entry cannot carry/);

    report = edit((all) => {
      all[1]!.sig = all[2]!.sig; // onto the unsigned login of another profile
    });
    assert.deepEqual([report.ok, report.firstBad?.seq], [false, 2]);

    report = edit((all) => {
      delete all[2]!.sig;
    });
    assert.deepEqual([report.ok, report.firstBad?.seq, report.firstBad?.id], [false, 3, entries[2]?.id]);
    assert.match(report.firstBad?.reason ?? '', /lost its signature/);
  });

  it('a public key swapped in the config changes nothing: keys come from the trail\'s enroll entries', () => {
    const impostor = testKey();
    const report = verifyTrail(parseTrail(original), { keys: [{ credential_id: key.credentialId, public_key: impostor.enrolled.public_key, rp_id: key.rpId }] });
    assert.equal(report.ok, true);
    assert.equal(report.signed, 2);
  });

  it('an enroll entry\'s key swapped: its own hash fails; re-hashed, the signatures after it fail', async () => {
    const impostor = testKey();
    const report = edit((all) => {
      all[0]!.public_key = impostor.enrolled.public_key;
    });
    assert.deepEqual([report.ok, report.firstBad?.seq, report.firstBad?.id], [false, 1, entries[0]?.id]);
    assert.match(report.firstBad?.reason ?? '', /hash does not match/);

    const rehashed = await rechainEdit((all) => {
      all[0]!.public_key = impostor.enrolled.public_key;
    });
    assert.deepEqual([rehashed.ok, rehashed.firstBad?.seq, rehashed.firstBad?.id], [false, 3, entries[2]?.id]);
    assert.match(rehashed.firstBad?.reason ?? '', /signature does not verify/);
  });

  it('history rewritten and re-hashed before a signed entry: that signature fails', async () => {
    const report = await rechainEdit((all) => {
      all[1]!.profile = 'someone-else';
    });
    assert.deepEqual([report.ok, report.firstBad?.seq, report.firstBad?.id], [false, 3, entries[2]?.id]);
  });

  it('a session or exec naming a login that is not earlier, of another profile, or not signed (for exec)', async () => {
    let report = await rechainEdit((all) => {
      all[4]!.login = all[1]!.id; // the unsigned login of another profile
    });
    assert.deepEqual([report.ok, report.firstBad?.seq], [false, 5]);
    report = await rechainEdit((all) => {
      all[3]!.login = all[5]!.id; // a later entry
    });
    assert.deepEqual([report.ok, report.firstBad?.seq], [false, 4]);
  });

  it('a login that is no entry of the trail at all is of an earlier trail (moved or rotated away): listed, not a failure', async () => {
    // An unsigned link proves nothing either way (anyone who rewrites the file can re-hash it), and the chain
    // from seq 1 shows that nothing was cut from this trail; the lambda check still wants the login itself.
    const report = await rechainEdit((all) => {
      all[all.length - 1]!.login = 'login-of-an-earlier-trail'; // the last entry, a session: no signature after it to break
    });
    assert.deepEqual([report.ok, report.earlierTrail], [true, ['login-of-an-earlier-trail']], JSON.stringify(report.firstBad));
  });
});

/** Edits the parsed entries of a copy of the trail without torn bytes, then re-hashes and re-links all of them. */
async function rechainEdit(fn: (all: Array<Record<string, unknown>>) => void): Promise<VerifyReport> {
  const all = entries.filter((e) => e.event !== 'repair').map((e) => structuredClone(e) as Record<string, unknown>);
  all.forEach((e, i) => (e.seq = i + 1));
  fn(all);
  await rechain(all);
  return verifyTrail(all as AuditEntry[]);
}

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readTrail } from '../../../src/audit/chain.ts';
import { verifyTrail } from '../../../src/audit/verify.ts';
import { buildExport, formatExport, readExport, verifyExport } from '../../../src/audit/export.ts';
import { runAudit } from '../../../src/commands/audit.ts';
import { isTngError } from '../../../src/errors.ts';
import { captureDeps, sampleTrail, tempStateDir, testKey } from './helpers.ts';

describe('audit export', () => {
  it('the whole trail: a keys record, every entry, an end record; it reads back and verifies', async () => {
    const state = await tempStateDir();
    try {
      const { entries, keys } = await sampleTrail(state.dir);
      const text = formatExport(buildExport((await readTrail(state.dir)).entries));
      const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
      assert.equal(lines.length, entries.length + 2);
      assert.deepEqual([lines[0]?.type, lines[0]?.format, lines[0]?.v, lines[0]?.since], ['keys', 'tng-audit-export', 1, null]);
      assert.deepEqual(lines[0]?.keys.map((k: any) => [k.credential_id, k.public_key, k.rp_id, k.enroll_id]).sort(), keys.map((k, i) => [k.credentialId, k.enrolled.public_key, k.rpId, entries[i === 0 ? 0 : 5]?.id]).sort());
      assert.deepEqual(lines.slice(1, -1).map((l) => l.entry), entries);
      assert.deepEqual(lines.at(-1), { type: 'end', entries: entries.length, last_seq: 8, last_id: entries[7]?.id, last_hash: entries[7]?.hash });
      const exported = readExport(text);
      assert.deepEqual(exported.entries, entries);
      const report = verifyExport(exported);
      assert.equal(report.ok, true, report.firstBad?.reason);
      assert.equal(report.signed, 3);
    } finally {
      await state.dispose();
    }
  });

  it('--since: from that entry on, with the keys of enrolments made before it', async () => {
    const state = await tempStateDir();
    try {
      const { entries, keys } = await sampleTrail(state.dir);
      const exported = buildExport((await readTrail(state.dir)).entries, entries[3]?.id);
      assert.deepEqual(exported.entries, entries.slice(3));
      // login3 (first key, enrolled before the slice) needs its key; login2's key is enrolled inside it.
      assert.deepEqual(exported.keys.map((k) => k.credential_id).sort(), keys.map((k) => k.credentialId).sort());
      const report = verifyExport(readExport(formatExport(exported)));
      assert.equal(report.ok, true, report.firstBad?.reason);
      assert.equal(report.signed, 2);
      // exec 4 names login 2, which lies before the slice.
      assert.deepEqual(report.unresolved, [entries[1]?.id]);

      // Without the keys record, the signature by the earlier enrolled key cannot be checked.
      const keyless = verifyTrail(exported.entries, { partial: true });
      assert.deepEqual([keyless.ok, keyless.firstBad?.seq], [false, 8]);
      assert.throws(() => buildExport(entries, 'no-such-id'), (error) => isTngError(error, 'usage'));
    } finally {
      await state.dispose();
    }
  });

  it('a changed export fails: an edited entry, a swapped key, a cut, a keys record that contradicts an enroll entry', async () => {
    const state = await tempStateDir();
    try {
      const { entries } = await sampleTrail(state.dir);
      const all = (await readTrail(state.dir)).entries;
      const full = formatExport(buildExport(all));
      const edited = full.replace('"program":"terraform"', '"program":"terraforn"');
      assert.deepEqual([verifyExport(readExport(edited)).firstBad?.seq, verifyExport(readExport(edited)).firstBad?.id], [4, entries[3]?.id]);

      const since = buildExport(all, entries[3]?.id);
      since.keys = since.keys.map((k) => ({ ...k, public_key: testKey().enrolled.public_key }));
      const swapped = verifyExport(readExport(formatExport(since)));
      assert.deepEqual([swapped.ok, swapped.firstBad?.seq, swapped.firstBad?.id], [false, 8, entries[7]?.id]);

      const lines = full.trimEnd().split('\n');
      assert.throws(() => readExport(lines.slice(0, -1).join('\n')), (error) => isTngError(error, 'verification') && /cut short/.test(error.message));
      assert.throws(
        () => verifyExport(readExport([...lines.slice(0, -2), lines.at(-1)].join('\n'))),
        (error) => isTngError(error, 'verification') && /end record says/.test(error.message),
      );
      // A line taken out of the middle: the chain names the entry after the gap, as for the trail itself.
      const gap = verifyExport(readExport([...lines.slice(0, 3), ...lines.slice(4)].join('\n')));
      assert.deepEqual([gap.ok, gap.firstBad?.seq, gap.firstBad?.id], [false, 4, entries[3]?.id]);
      assert.throws(() => readExport(lines.slice(1).join('\n')), (error) => isTngError(error, 'verification'));

      const contradicting = buildExport(all);
      contradicting.keys = contradicting.keys.map((k) => ({ ...k, public_key: testKey().enrolled.public_key }));
      const report = verifyExport(readExport(formatExport(contradicting)));
      assert.equal(report.ok, false);
      assert.match(report.firstBad?.reason ?? '', /keys record does not match/);
    } finally {
      await state.dispose();
    }
  });

  it('tng audit export, then tng audit --verify --file in another state dir with no config', async () => {
    const here = await tempStateDir();
    const there = await tempStateDir();
    try {
      await sampleTrail(here.dir);
      const exporting = await captureDeps({ TNG_STATE_DIR: here.dir, TNG_CONFIG: join(here.dir, 'absent.toml') });
      assert.equal(await runAudit({ action: 'export', json: false, verify: false }, exporting.deps), 0);
      const file = join(there.dir, 'export.jsonl');
      await writeFile(file, exporting.stdout());

      const verifying = await captureDeps({ TNG_STATE_DIR: there.dir, TNG_CONFIG: join(there.dir, 'absent.toml') });
      assert.equal(await runAudit({ action: 'list', json: false, verify: true, file }, verifying.deps), 0);
      assert.match(verifying.stderr(), /Audit trail verified: 8 entries, 3 signed/);
      assert.deepEqual((await readTrail(there.dir)).entries, [], 'verifying an export writes nothing');

      const fromStdin = await captureDeps({ TNG_STATE_DIR: there.dir }, exporting.stdout().replace('"email":"alice@example.com"', '"email":"mallory@example.com"'));
      await assert.rejects(runAudit({ action: 'list', json: false, verify: true, file: '-' }, fromStdin.deps), (error) => isTngError(error, 'verification') && error.exitCode === 8 && /at entry 3 \(/.test(error.message));
    } finally {
      await here.dispose();
      await there.dispose();
    }
  });
});

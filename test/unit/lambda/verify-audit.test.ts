// The audit check of `tng lambda verify` over real trails made with the audit module and a software key:
// a signed entry or an exec chained to a signed login passes; anything else, an unknown id, a trail or
// export that does not verify, or an export cut before the login, fails with a reason.
import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appendEntry, readTrail, type AuditEntry } from '../../../src/audit/chain.ts';
import { buildExport, formatExport } from '../../../src/audit/export.ts';
import { isTngError } from '../../../src/errors.ts';
import { evaluateAudit, loadAuditSource } from '../../../src/lambda-verify/audit.ts';
import { sampleTrail, tempStateDir, testKey, type TestKey } from '../audit/helpers.ts';

let state: Awaited<ReturnType<typeof tempStateDir>>;
let other: Awaited<ReturnType<typeof tempStateDir>>;
let entries: AuditEntry[];
let keys: TestKey[];
let unchainedExec: AuditEntry;

before(async () => {
  state = await tempStateDir();
  other = await tempStateDir();
  ({ entries, keys } = await sampleTrail(state.dir));
  unchainedExec = await appendEntry(state.dir, { event: 'exec', profile: 'work', program: 'terraform', argv_sha256: 'ab'.repeat(32), login: null });
});
after(async () => {
  await state.dispose();
  await other.dispose();
});

const byEvent = (event: string, signed?: boolean) => entries.find((e) => e.event === event && (signed === undefined || (e.sig !== undefined) === signed)) as AuditEntry;

async function check(id: string | undefined, file?: string, dir = state.dir) {
  return evaluateAudit(id, await loadAuditSource(dir, file));
}

describe('lambda verify: the audit check', () => {
  it('an exec chained to a signed login passes, naming both', async () => {
    const exec = byEvent('exec');
    const login = entries.find((e) => e.id === exec.login) as AuditEntry;
    const result = await check(exec.id);
    assert.equal(result.ok, true, result.detail);
    assert.match(result.detail, new RegExp(`^exec entry ${exec.id.slice(0, 8)}… \\(seq ${exec.seq}, .*profile work\\), chained to login ${login.id.slice(0, 8)}… \\(seq ${login.seq}\\) signed by security key`));
    assert.match(result.detail, /the local audit trail \(.*audit\.jsonl\) verifies$/);
  });

  it('a signed login passes by itself', async () => {
    const result = await check(byEvent('login', true).id);
    assert.equal(result.ok, true, result.detail);
    assert.match(result.detail, /^login entry .*, signed by security key/);
  });

  it('the signer is compared with the keys enrolled here: named when enrolled, flagged when not, a failure under another public key', async () => {
    const exec = byEvent('exec');
    const [first] = keys as [TestKey];
    const source = await loadAuditSource(state.dir, undefined);
    const enrolled = [{ profile: 'work', credential_id: first.credentialId, public_key: first.enrolled.public_key }];
    const here = evaluateAudit(exec.id, source, enrolled);
    assert.equal(here.ok, true, here.detail);
    assert.match(here.detail, new RegExp(`signed by security key ${first.credentialId.slice(0, 8)}…, enrolled in profile work here; the local audit trail`));

    const elsewhere = evaluateAudit(exec.id, source, []);
    assert.equal(elsewhere.ok, true, elsewhere.detail);
    assert.match(elsewhere.detail, /signed by security key \S+, which no profile here enrolls \(compare it with the signer's `tng whoami`\);/);

    // A trail whose enroll entry claims this machine's credential with a key of its own: it verifies in
    // itself, but the key is not the one enrolled here.
    const forged = evaluateAudit(exec.id, source, [{ profile: 'prod', credential_id: first.credentialId, public_key: testKey().enrolled.public_key }]);
    assert.equal(forged.ok, false);
    assert.match(forged.detail, new RegExp(`signed by credential ${first.credentialId.slice(0, 8)}…, which profile prod here enrolls with another public key than the one the local audit trail \\(.*\\) holds for it$`));

    // An export from the second key's login on: its enroll entry lies before the slice, so the key compared
    // is the one in the export's keys record.
    const [, second] = keys as [TestKey, TestKey];
    const login2 = entries.find((e) => e.event === 'login' && e.credential_id === second.credentialId) as AuditEntry;
    const file = join(other.dir, 'since-login2.jsonl');
    await writeFile(file, formatExport(buildExport((await readTrail(state.dir)).entries, login2.id)));
    const exported = await loadAuditSource(other.dir, file);
    assert.equal(evaluateAudit(login2.id, exported, [{ profile: 'work', credential_id: second.credentialId, public_key: second.enrolled.public_key }]).ok, true);
    assert.equal(evaluateAudit(login2.id, exported, [{ profile: 'work', credential_id: second.credentialId, public_key: first.enrolled.public_key }]).ok, false);
  });

  it('no tag, an unknown id, a session, an unsigned login or an exec without a signed login fail', async () => {
    assert.match((await check(undefined)).detail, /^no tng:audit-id tag/);
    assert.match((await check('  ')).detail, /^the tng:audit-id tag is empty: nothing ties the deployment/);
    const unknown = await check('not-an-entry');
    assert.equal(unknown.ok, false);
    assert.match(unknown.detail, /^tng:audit-id not-an-entry names no entry of the local audit trail .*pass that trail's `tng audit export` with --audit FILE/);
    for (const entry of [byEvent('session'), byEvent('login', false), unchainedExec]) {
      const result = await check(entry.id);
      assert.equal(result.ok, false, entry.event);
      assert.match(result.detail, /is neither signed nor an exec chained to a signed login$/);
    }
  });

  it('a trail started after the old one was moved away: it verifies, but an exec naming a login of the old trail fails, saying so', async () => {
    const fresh = await tempStateDir();
    try {
      const login = byEvent('exec').login as string;
      const exec = await appendEntry(fresh.dir, { event: 'exec', profile: 'work', program: 'terraform', argv_sha256: 'cd'.repeat(32), login });
      const source = await loadAuditSource(fresh.dir, undefined);
      assert.ok(!('malformed' in source));
      assert.deepEqual([source.report.ok, source.report.earlierTrail], [true, [login]]);
      const result = evaluateAudit(exec.id, source);
      assert.equal(result.ok, false);
      assert.match(result.detail, new RegExp(`^exec entry ${exec.id.slice(0, 8)}… .* names login ${login.slice(0, 8)}…, which is in an earlier trail \\(moved or rotated away\\), not in the local audit trail`));
    } finally {
      await fresh.dispose();
    }
  });

  it('a trail that does not verify fails, naming the bad entry; torn bytes at the end do not count', async () => {
    const copy = await tempStateDir();
    try {
      const text = await readFile(state.file, 'utf8');
      await writeFile(copy.file, text.replace('alice@example.com', 'mallory@example.com'));
      const session = byEvent('session');
      const result = await check(byEvent('exec').id, undefined, copy.dir);
      assert.equal(result.ok, false);
      assert.match(result.detail, new RegExp(`does not verify at entry ${session.seq} \\(${session.id}\\): its hash does not match`));

      await writeFile(copy.file, text);
      await appendFile(copy.file, '{"v":1,"id":"torn');
      assert.equal((await check(byEvent('exec').id, undefined, copy.dir)).ok, true);
    } finally {
      await copy.dispose();
    }
  });

  it('--audit FILE: an export verifies on its own; one cut before the login or changed fails; a missing file is a usage error', async () => {
    const all = (await import('../../../src/audit/chain.ts')).readTrail;
    const whole = (await all(state.dir)).entries;
    const exec = byEvent('exec');
    const file = join(other.dir, 'export.jsonl');
    await writeFile(file, formatExport(buildExport(whole)));
    const passed = await check(exec.id, file, other.dir);
    assert.equal(passed.ok, true, passed.detail);
    assert.match(passed.detail, new RegExp(`the audit export ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} verifies$`));
    assert.equal((await check(exec.id, undefined, other.dir)).ok, false, 'the other state dir\'s own trail is empty');

    const since = join(other.dir, 'since.jsonl');
    await writeFile(since, formatExport(buildExport(whole, exec.id)));
    const cut = await check(exec.id, since, other.dir);
    assert.equal(cut.ok, false);
    assert.match(cut.detail, new RegExp(`names login ${String(exec.login).slice(0, 8)}…, which lies before the export: export from that login on \\(tng audit export --since ${String(exec.login)}\\)`));

    const changed = join(other.dir, 'changed.jsonl');
    await writeFile(changed, (await readFile(file, 'utf8')).replace('"program":"terraform"', '"program":"terraforn"'));
    const tampered = await check(exec.id, changed, other.dir);
    assert.equal(tampered.ok, false);
    assert.match(tampered.detail, new RegExp(`does not verify at entry ${exec.seq} \\(${exec.id}\\)`));

    const truncated = join(other.dir, 'truncated.jsonl');
    await writeFile(truncated, (await readFile(file, 'utf8')).split('\n').slice(0, 3).join('\n'));
    const malformed = await check(exec.id, truncated, other.dir);
    assert.equal(malformed.ok, false);
    assert.match(malformed.detail, /cannot be read: The audit export is malformed: the end record is missing/);

    await assert.rejects(loadAuditSource(other.dir, join(other.dir, 'absent.jsonl')), (e: unknown) => isTngError(e, 'usage') && /Cannot read .*absent\.jsonl \(ENOENT\)/.test(e.message));
  });
});

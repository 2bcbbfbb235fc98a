import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appendEntry, entryHash, newNonce, readTrail, type AuditEntry } from '../../../src/audit/chain.ts';
import { auditSummary } from '../../../src/audit/summary.ts';
import { auditCommand, runAudit, type AuditOptions } from '../../../src/commands/audit.ts';
import { createDeps } from '../../../src/deps.ts';
import { isTngError } from '../../../src/errors.ts';
import { main } from '../../../src/main.ts';
import { captureDeps, sampleTrail, tempStateDir, testKey } from './helpers.ts';

const list = (extra: Partial<AuditOptions> = {}): AuditOptions => ({ action: 'list', json: false, verify: false, ...extra });

describe('tng audit', () => {
  it('flags reach the run function; an unknown action is a usage error', async () => {
    const seen: AuditOptions[] = [];
    const deps = createDeps({}, new AbortController().signal);
    const parse = (args: string[]) =>
      auditCommand(deps, () => undefined, async (options) => {
        seen.push(options);
        return 0;
      }).parseAsync(args, { from: 'user' });
    await parse(['--json', '--limit', '5', '--verify', '--profile', 'work']);
    await parse(['export', '--since', 'abc']);
    await parse(['--verify', '--file', 'x.jsonl']);
    assert.deepEqual(seen, [
      { action: 'list', profile: 'work', json: true, limit: 5, verify: true, file: undefined, since: undefined },
      { action: 'export', profile: undefined, json: false, limit: undefined, verify: false, file: undefined, since: 'abc' },
      { action: 'list', profile: undefined, json: false, limit: undefined, verify: true, file: 'x.jsonl', since: undefined },
    ]);
    await assert.rejects(parse(['verify']), (error) => isTngError(error, 'usage'));
  });

  it('lists on stderr (seq, time, event, profile, short id, a mark for signed entries); --json prints entries as JSON lines', async () => {
    const state = await tempStateDir();
    try {
      const { entries } = await sampleTrail(state.dir);
      const human = await captureDeps({ TNG_STATE_DIR: state.dir });
      assert.equal(await runAudit(list(), human.deps), 0);
      assert.equal(human.stdout(), '');
      const lines = human.stderr().split('\n');
      assert.match(lines[0] ?? '', /SEQ\s+TIME \(UTC\)\s+EVENT\s+PROFILE\s+ID\s+SIG\s+DETAIL/);
      assert.equal(lines.length, entries.length + 1);
      const loginLine = lines[2] ?? '';
      assert.match(loginLine, new RegExp(`^\\s*2\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+login\\s+work\\s+${entries[1]?.id.slice(0, 8)}…\\s+✓`));
      assert.doesNotMatch(lines[3] ?? '', /✓/);
      assert.match(lines[3] ?? '', /session.*alice@example\.com/);
      assert.match(lines[4] ?? '', /exec.*terraform/);

      const json = await captureDeps({ TNG_STATE_DIR: state.dir });
      assert.equal(await runAudit(list({ json: true }), json.deps), 0);
      assert.deepEqual(json.stdout().trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEntry), entries);

      const limited = await captureDeps({ TNG_STATE_DIR: state.dir });
      await runAudit(list({ json: true, limit: 2 }), limited.deps);
      assert.deepEqual(limited.stdout().trimEnd().split('\n').map((l) => (JSON.parse(l) as AuditEntry).seq), [7, 8]);

      const filtered = await captureDeps({ TNG_STATE_DIR: state.dir });
      await runAudit(list({ json: true, profile: 'other' }), filtered.deps);
      assert.deepEqual(filtered.stdout().trimEnd().split('\n').map((l) => (JSON.parse(l) as AuditEntry).seq), [5]);

      const empty = await tempStateDir();
      const none = await captureDeps({ TNG_STATE_DIR: empty.dir });
      assert.equal(await runAudit(list(), none.deps), 0);
      assert.match(none.stderr(), /holds no entries/);
      await empty.dispose();
    } finally {
      await state.dispose();
    }
  });

  it('--verify: a result line, or exit 8 naming the first bad entry\'s seq and id, with a hint; --json adds a report', async () => {
    const state = await tempStateDir();
    try {
      const { entries } = await sampleTrail(state.dir);
      const good = await captureDeps({ TNG_STATE_DIR: state.dir });
      assert.equal(await runAudit(list({ verify: true }), good.deps), 0);
      assert.match(good.stderr(), /^Audit trail verified: 8 entries, 3 signed by a security key; every hash, link and signature holds\.$/);

      const text = await readFile(join(state.dir, 'audit.jsonl'), 'utf8');
      await writeFile(join(state.dir, 'audit.jsonl'), text.replace('"vault_accessor":"acc-1","method"', '"vault_accessor":"acc-2","method"'));
      const bad = await captureDeps({ TNG_STATE_DIR: state.dir });
      let thrown: unknown;
      await runAudit(list({ verify: true, json: true }), bad.deps).catch((error: unknown) => (thrown = error));
      assert.ok(isTngError(thrown, 'verification'));
      assert.equal(thrown.exitCode, 8);
      assert.equal(thrown.message, `Audit trail verification failed at entry 3 (${entries[2]?.id}): its hash does not match its content (the entry was changed).`);
      assert.match(thrown.hint, /changed or damaged/);
      const report = JSON.parse(bad.stdout()) as Record<string, any>;
      assert.deepEqual([report.ok, report.entries, report.first_bad.seq, report.first_bad.id, report.first_bad.line], [false, 8, 3, entries[2]?.id, 3]);

      // Through main: the exit status is 8. Export refuses a trail that does not verify.
      assert.equal(await main(['audit', '--verify'], { TNG_STATE_DIR: state.dir, HOME: state.dir }), 8);
      const exporting = await captureDeps({ TNG_STATE_DIR: state.dir });
      await assert.rejects(runAudit({ action: 'export', json: false, verify: false }, exporting.deps), (error) => isTngError(error, 'verification'));
      assert.equal(exporting.stdout(), '');
    } finally {
      await state.dispose();
    }
  });

  it('a torn tail: --verify fails until the next append, then passes and reports the repair; export leaves the torn bytes out', async () => {
    const state = await tempStateDir();
    try {
      await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      await appendFile(join(state.dir, 'audit.jsonl'), '{"v":1,"id":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","seq":2,"ts":"20');
      const torn = await captureDeps({ TNG_STATE_DIR: state.dir });
      await assert.rejects(runAudit(list({ verify: true }), torn.deps), (error) => isTngError(error, 'verification') && /at entry 2 \(aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\): the last line is incomplete/.test(error.message) && /repair entry/.test(error.hint));
      const listing = await captureDeps({ TNG_STATE_DIR: state.dir });
      await runAudit(list(), listing.deps);
      assert.match(listing.stderr(), /warning: The trail ends in 67 torn bytes/);
      const exporting = await captureDeps({ TNG_STATE_DIR: state.dir });
      assert.equal(await runAudit({ action: 'export', json: false, verify: false }, exporting.deps), 0);
      assert.equal(exporting.stdout().trimEnd().split('\n').length, 3);
      assert.match(exporting.stderr(), /torn bytes/);
      assert.equal((await auditSummary(state.dir)).verified, false);

      const after = await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const repaired = await captureDeps({ TNG_STATE_DIR: state.dir });
      assert.equal(await runAudit(list({ verify: true }), repaired.deps), 0);
      assert.match(repaired.stderr(), /Audit trail verified: 3 entries/);
      assert.match(repaired.stderr(), /warning: Entry 2 \([0-9a-f-]{36}\) is a repair: 67 torn bytes \(sha256 [0-9a-f]{64}\)/);
      assert.deepEqual(await auditSummary(state.dir), { entries: 3, verified: true, last_id: after.id });
    } finally {
      await state.dispose();
    }
  });

  it('usage errors: --since without export, export with --verify, an unreadable --file', async () => {
    const state = await tempStateDir();
    try {
      const { deps } = await captureDeps({ TNG_STATE_DIR: state.dir });
      await assert.rejects(runAudit(list({ since: 'x' }), deps), (error) => isTngError(error, 'usage'));
      await assert.rejects(runAudit({ action: 'export', json: false, verify: true }, deps), (error) => isTngError(error, 'usage'));
      await assert.rejects(runAudit(list({ verify: true, file: join(state.dir, 'missing.jsonl') }), deps), (error) => isTngError(error, 'usage') && /ENOENT/.test(error.message));
    } finally {
      await state.dispose();
    }
  });

  it('--verify never reads the config: a public key swapped there changes nothing', async () => {
    const state = await tempStateDir();
    try {
      const { keys } = await sampleTrail(state.dir);
      const config = join(state.dir, 'config.toml');
      const impostor = testKey();
      await writeFile(
        config,
        `default_profile = "work"\n[profiles.work]\nissuer = "https://dex.example.com/dex"\nclient_id = "tng"\nvault_addr = "https://vault.example.com"\nvault_role = "r"\n[[profiles.work.fido2]]\ncredential_id = "${keys[0]?.credentialId}"\npublic_key = "${impostor.enrolled.public_key}"\naaguid = "00000000-0000-0000-0000-000000000000"\nrp_id = "dex.example.com"\nsalt = "${Buffer.alloc(32).toString('base64url')}"\nuv = "discouraged"\n`,
      );
      const run = await captureDeps({ TNG_STATE_DIR: state.dir, TNG_CONFIG: config });
      assert.equal(await runAudit(list({ verify: true, profile: 'work' }), run.deps), 0);
      assert.match(run.stderr(), /3 signed/);
    } finally {
      await state.dispose();
    }
  });
});

describe('whoami\'s audit summary', () => {
  it('counts and verifies a trail of 3000 entries (300 signed) quickly', async () => {
    const state = await tempStateDir();
    try {
      const key = testKey();
      const entries: Array<Record<string, unknown>> = [];
      const push = (fields: Record<string, unknown>) => {
        const entry: Record<string, unknown> = { v: 1, id: `id-${entries.length + 1}`, seq: entries.length + 1, ts: new Date(1_700_000_000_000 + entries.length).toISOString(), ...fields, prev: (entries.at(-1)?.hash as string | undefined) ?? null };
        entry.hash = entryHash(entry);
        if (fields.event === 'login') entry.sig = key.sign(Buffer.from(entry.hash as string, 'hex'));
        entries.push(entry);
      };
      push({ event: 'enroll', profile: 'work', ...key.enrolled });
      while (entries.length < 3000) {
        if (entries.length % 10 === 1) push({ event: 'login', profile: 'work', credential_id: key.credentialId, nonce: newNonce() });
        else push({ event: 'exec', profile: 'work', program: 'true', argv_sha256: '00'.repeat(32), vault_accessor: 'a', aws_access_key_id: null, login: `id-${Math.floor((entries.length - 1) / 10) * 10 + 2}` });
      }
      await writeFile(join(state.dir, 'audit.jsonl'), entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
      const started = performance.now();
      const summary = await auditSummary(state.dir);
      const elapsed = performance.now() - started;
      assert.deepEqual(summary, { entries: 3000, verified: true, last_id: 'id-3000' });
      assert.ok(elapsed < 3000, `took ${Math.round(elapsed)} ms`);
      // And an append to a trail this long reads only its tail.
      const appended = await appendEntry(state.dir, { event: 'login', profile: 'work', credential_id: null, nonce: newNonce() });
      assert.deepEqual([appended.seq, appended.prev], [3001, entries.at(-1)?.hash]);
      assert.equal((await readTrail(state.dir)).entries.length, 3001);
    } finally {
      await state.dispose();
    }
  });
});

import assert from 'node:assert/strict';
import { appendFile, chmod, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  appendEntry,
  appendSigned,
  appendSignedByAny,
  newNonce,
  readTrail,
  signedAnchor,
  type AuditEntry,
} from '../../../src/audit/chain.ts';
import { appendAudit } from '../../../src/audit/log.ts';
import { verifyTrail } from '../../../src/audit/verify.ts';
import { auditSummary } from '../../../src/audit/summary.ts';
import { isTngError } from '../../../src/errors.ts';
import { enrollBody, readLines, tempStateDir, testKey, type TestKey } from './helpers.ts';

const ARGV = 'ab'.repeat(32);

async function signedLogin(dir: string, key: TestKey, profile = 'work'): Promise<AuditEntry> {
  return appendSigned(dir, { event: 'login', profile, credential_id: key.credentialId, nonce: newNonce() }, async (hash) => key.sign(hash));
}

async function session(dir: string, login: AuditEntry, accessor: string, profile = 'work'): Promise<AuditEntry> {
  return appendEntry(dir, { event: 'session', profile, login: login.id, subject: 'sub-1', email: 'alice@example.com', vault_accessor: accessor, method: 'jwt' });
}

describe('append and verify', () => {
  it('a login, its session, an exec under it and a self-signed exec verify; the file is 0600 in a 0700 dir', async () => {
    const state = await tempStateDir();
    try {
      const key = testKey();
      const enroll = await appendEntry(state.dir, enrollBody('work', key));
      const login = await signedLogin(state.dir, key);
      const sess = await session(state.dir, login, 'acc-1');
      const exec = await appendEntry(state.dir, { event: 'exec', profile: 'work', program: 'terraform', argv_sha256: ARGV, vault_accessor: 'acc-1', aws_access_key_id: 'AKIA1', login: login.id }, { id: 'e0e0e0e0-0000-4000-8000-000000000000' });
      const signedExec = await appendSigned(
        state.dir,
        { event: 'exec', profile: 'work', program: 'aws', argv_sha256: ARGV, vault_accessor: 'acc-1', aws_access_key_id: null, credential_id: key.credentialId, nonce: newNonce() },
        async (hash) => key.sign(hash),
      );

      const trail = await readTrail(state.dir);
      assert.deepEqual(trail.entries.map((e) => [e.seq, e.event]), [[1, 'enroll'], [2, 'login'], [3, 'session'], [4, 'exec'], [5, 'exec']]);
      assert.equal(trail.entries[0]?.prev, null);
      for (let i = 1; i < trail.entries.length; i++) assert.equal(trail.entries[i]?.prev, trail.entries[i - 1]?.hash);
      assert.deepEqual(trail.entries, [enroll, login, sess, exec, signedExec]);
      assert.equal(exec.id, 'e0e0e0e0-0000-4000-8000-000000000000');
      assert.equal(trail.entries[1]?.ts.endsWith('Z'), true);
      const report = verifyTrail(trail);
      assert.deepEqual(report, { ok: true, entries: 5, signed: 2, repairs: [], unresolved: [], earlierTrail: [] });
      assert.equal(signedAnchor(trail.entries, exec.id)?.anchor?.id, login.id);
      assert.equal(signedAnchor(trail.entries, signedExec.id)?.anchor?.id, signedExec.id);
      assert.equal(signedAnchor(trail.entries, enroll.id)?.anchor, undefined);

      assert.equal((await stat(state.file)).mode & 0o777, 0o600);
      assert.equal((await stat(state.dir)).mode & 0o777, 0o700);
      assert.deepEqual(await auditSummary(state.dir), { entries: 5, verified: true, last_id: signedExec.id });
      await chmod(state.file, 0o644);
      await session(state.dir, login, 'acc-2');
      assert.equal((await stat(state.file)).mode & 0o777, 0o600, 'an append puts a loosened trail back to 0600');
    } finally {
      await state.dispose();
    }
  });

  it('an empty or absent trail verifies and summarises as empty', async () => {
    const state = await tempStateDir();
    try {
      assert.deepEqual(await auditSummary(state.dir), { entries: 0, verified: true, last_id: null });
      assert.equal(verifyTrail(await readTrail(state.dir)).ok, true);
    } finally {
      await state.dispose();
    }
  });

  it('appendAudit (the callers\' entry point) takes a body and an optional id', async () => {
    const state = await tempStateDir();
    try {
      const login = await appendAudit(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const sess = await appendAudit(state.dir, { id: 'fixed-id', event: 'session', profile: 'p', login: login.id, subject: null, email: null, vault_accessor: 'a', method: 'oidc' });
      assert.equal(sess.id, 'fixed-id');
      assert.equal(sess.seq, 2);
      assert.equal(verifyTrail(await readTrail(state.dir)).ok, true);
    } finally {
      await state.dispose();
    }
  });

  it('refuses bodies that set chain fields or carry secret-looking fields', async () => {
    const state = await tempStateDir();
    try {
      await assert.rejects(appendEntry(state.dir, { event: 'login', profile: 'p', seq: 7 }), /may not set "seq"/);
      await assert.rejects(appendEntry(state.dir, { event: 'login', profile: 'p', hash: 'x' }), /may not set "hash"/);
      await assert.rejects(appendEntry(state.dir, { event: 'exec', profile: 'p', vault_token: 'hvs.x' }), /no secrets/);
      await assert.rejects(appendEntry(state.dir, { event: 'session', profile: 'p', client_secret: 'x' }), /no secrets/);
      await assert.rejects(appendEntry(state.dir, { event: 'repair' as 'login', profile: 'p' }), /unknown audit event/);
      assert.deepEqual((await readTrail(state.dir)).entries, []);
    } finally {
      await state.dispose();
    }
  });

});

describe('signed appends', () => {
  it('signs exactly the written entry\'s hash, holding the lock so a concurrent append lands after it', async () => {
    const state = await tempStateDir();
    try {
      const key = testKey();
      await appendEntry(state.dir, enrollBody('work', key));
      let signedHash = '';
      let concurrent: Promise<AuditEntry> | undefined;
      const login = await appendSigned(state.dir, { event: 'login', profile: 'work', credential_id: key.credentialId, nonce: newNonce() }, async (hash) => {
        assert.equal(hash.length, 32);
        signedHash = Buffer.from(hash).toString('hex');
        concurrent = appendEntry(state.dir, { event: 'login', profile: 'other', credential_id: null, nonce: newNonce() });
        await new Promise((resolve) => setTimeout(resolve, 300)); // a slow touch
        return key.sign(hash);
      });
      const late = await concurrent;
      assert.equal(login.hash, signedHash);
      assert.equal(login.seq, 2);
      assert.equal(late?.seq, 3);
      assert.equal(late?.prev, login.hash);
      assert.equal(verifyTrail(await readTrail(state.dir)).ok, true);
    } finally {
      await state.dispose();
    }
  });

  it('writes nothing when sign throws (not even a pending repair), and the error propagates', async () => {
    const state = await tempStateDir();
    try {
      const key = testKey();
      await appendEntry(state.dir, enrollBody('work', key));
      await appendFile(state.file, '{"v":1,"id":"torn');
      const before = await readFile(state.file);
      const touchTimedOut = new Error('touch timed out');
      await assert.rejects(
        appendSigned(state.dir, { event: 'login', profile: 'work', credential_id: key.credentialId, nonce: newNonce() }, async () => {
          throw touchTimedOut;
        }),
        (error) => error === touchTimedOut,
      );
      assert.deepEqual(await readFile(state.file), before);
    } finally {
      await state.dispose();
    }
  });

  it('refuses a body that could never verify (a signed exec without argv_sha256) before asking for the touch, and writes nothing', async () => {
    const state = await tempStateDir();
    try {
      const key = testKey();
      await appendEntry(state.dir, enrollBody('work', key));
      const before = await readFile(state.file);
      let touches = 0;
      await assert.rejects(
        appendSigned(
          state.dir,
          { event: 'exec', profile: 'work', program: 'credential-process', credential_id: key.credentialId, nonce: newNonce() },
          async (hash) => {
            touches++;
            return key.sign(hash);
          },
          { enrollment: key.enrolled },
        ),
        (error) => error instanceof TypeError && /would not verify: an exec entry without program and argv_sha256/.test(error.message),
      );
      assert.equal(touches, 0);
      assert.deepEqual(await readFile(state.file), before);
    } finally {
      await state.dispose();
    }
  });

  it('records a key enrolled before the trail knew it (backfill) once, then checks every signature against the trail\'s key', async () => {
    const state = await tempStateDir();
    try {
      const key = testKey();
      const body = () => ({ event: 'login' as const, profile: 'work', credential_id: key.credentialId, nonce: newNonce() });
      await appendSigned(state.dir, body(), async (hash) => key.sign(hash), { enrollment: key.enrolled });
      await appendSigned(state.dir, body(), async (hash) => key.sign(hash), { enrollment: key.enrolled });
      const trail = await readTrail(state.dir);
      assert.deepEqual(trail.entries.map((e) => e.event), ['enroll', 'login', 'login']);
      assert.equal(trail.entries[0]?.backfilled, true);
      assert.equal(trail.entries[0]?.public_key, key.enrolled.public_key);
      assert.equal(verifyTrail(trail).signed, 2);

      // A config whose public key was swapped for the same credential: the touch signs with the swapped
      // key, which the trail's enroll entry refuses; nothing is written.
      const impostor = testKey();
      const before = await readFile(state.file);
      await assert.rejects(
        appendSigned(state.dir, body(), async (hash) => impostor.sign(hash), { enrollment: { ...impostor.enrolled, credential_id: key.credentialId } }),
        (error) => isTngError(error, 'authenticator') && /does not verify/.test(error.message),
      );
      assert.deepEqual(await readFile(state.file), before);
    } finally {
      await state.dispose();
    }
  });

  it('with several keys asked at once, each gets its own entry to sign and only the signer\'s is written', async () => {
    const state = await tempStateDir();
    try {
      const primary = testKey();
      const backup = testKey();
      await appendEntry(state.dir, enrollBody('work', primary));
      const hashes = new Map<string, Uint8Array>();
      const login = await appendSignedByAny(state.dir, { event: 'login', profile: 'work', nonce: newNonce() }, [primary.enrolled, backup.enrolled], async (hashFor) => {
        for (const key of [primary, backup]) hashes.set(key.credentialId, hashFor(key.credentialId));
        assert.throws(() => hashFor('not-a-signer'), TypeError);
        return { ...backup.sign(hashes.get(backup.credentialId) as Uint8Array), credential_id: backup.credentialId };
      });
      assert.notDeepEqual(hashes.get(primary.credentialId), hashes.get(backup.credentialId), 'each entry names its own credential');
      assert.equal(login.credential_id, backup.credentialId);
      assert.deepEqual(Buffer.from(login.hash, 'hex'), Buffer.from(hashes.get(backup.credentialId) as Uint8Array));
      const trail = await readTrail(state.dir);
      // The backup had no enroll entry yet: it gets one (backfilled) before the candidates are placed.
      assert.deepEqual(trail.entries.map((e) => [e.seq, e.event, e.credential_id]), [[1, 'enroll', primary.credentialId], [2, 'enroll', backup.credentialId], [3, 'login', backup.credentialId]]);
      assert.equal(trail.entries[1]?.backfilled, true);
      const report = verifyTrail(trail);
      assert.equal(report.ok, true);
      assert.equal(report.signed, 1);

      const before = await readFile(state.file);
      await assert.rejects(
        appendSignedByAny(state.dir, { event: 'login', profile: 'work', nonce: newNonce() }, [primary.enrolled], async (hashFor) => ({ ...backup.sign(hashFor(primary.credentialId)), credential_id: backup.credentialId })),
        TypeError,
      );
      await assert.rejects(
        appendSignedByAny(state.dir, { event: 'login', profile: 'work', nonce: newNonce() }, [primary.enrolled, backup.enrolled], async (hashFor) => ({ ...backup.sign(hashFor(primary.credentialId)), credential_id: primary.credentialId })),
        (error) => isTngError(error, 'authenticator') && /does not verify/.test(error.message),
      );
      assert.deepEqual(await readFile(state.file), before, 'a refused signature writes nothing');
    } finally {
      await state.dispose();
    }
  });

  it('keeps every signature verifiable across backup keys and re-enrolment, with no config at all', async () => {
    const state = await tempStateDir();
    try {
      const [first, backup, replacement] = [testKey(), testKey(), testKey('login.example.org')];
      await appendEntry(state.dir, enrollBody('work', first));
      await signedLogin(state.dir, first);
      await appendEntry(state.dir, enrollBody('work', backup));
      await signedLogin(state.dir, backup);
      await signedLogin(state.dir, first);
      await appendEntry(state.dir, enrollBody('work', replacement));
      await signedLogin(state.dir, replacement);
      const report = verifyTrail(await readTrail(state.dir));
      assert.equal(report.ok, true, report.firstBad?.reason);
      assert.equal(report.signed, 4);
    } finally {
      await state.dispose();
    }
  });

  it('refuses a signature without user presence, for another RP ID, or by a key never enrolled', async () => {
    for (const [name, sign, reason] of [
      ['no UP flag', (k: TestKey, h: Uint8Array) => k.sign(h, 0x00), /user-present/],
      ['another RP ID', (k: TestKey, h: Uint8Array) => k.sign(h, 0x01, 'evil.example'), /not for RP ID/],
      ['another key', (_k: TestKey, h: Uint8Array) => testKey().sign(h), /signature does not verify/],
    ] as const) {
      const state = await tempStateDir();
      try {
        const key = testKey();
        await appendEntry(state.dir, enrollBody('work', key));
        const login = await appendSigned(state.dir, { event: 'login', profile: 'work', credential_id: key.credentialId, nonce: newNonce() }, async (hash) => sign(key, hash));
        const report = verifyTrail(await readTrail(state.dir));
        assert.equal(report.ok, false, name);
        assert.deepEqual([report.firstBad?.seq, report.firstBad?.id], [2, login.id]);
        assert.match(report.firstBad?.reason ?? '', reason);
      } finally {
        await state.dispose();
      }
    }
    const state = await tempStateDir();
    try {
      const stranger = testKey();
      const login = await signedLogin(state.dir, stranger);
      const report = verifyTrail(await readTrail(state.dir));
      assert.deepEqual([report.ok, report.firstBad?.seq, report.firstBad?.id], [false, 1, login.id]);
      assert.match(report.firstBad?.reason ?? '', /no enrolled public key/);
    } finally {
      await state.dispose();
    }
  });
});

describe('crash safety: a torn last line', () => {
  it('is reported by --verify until the next append records it in a repair entry; the torn bytes stay as they were', async () => {
    const state = await tempStateDir();
    try {
      await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const second = await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const full = await readFile(state.file);
      const cut = full.length - 40; // a crash mid-write of entry 2
      await truncate(state.file, cut);
      const tornBytes = full.subarray(full.indexOf('\n') + 1, cut);

      const torn = verifyTrail(await readTrail(state.dir));
      assert.equal(torn.ok, false);
      assert.deepEqual([torn.firstBad?.seq, torn.firstBad?.id, torn.firstBad?.line], [2, second.id, 2]);
      assert.match(torn.firstBad?.reason ?? '', /incomplete/);
      assert.equal((await auditSummary(state.dir)).verified, false);

      const next = await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const after = await readFile(state.file);
      assert.deepEqual(after.subarray(0, cut), full.subarray(0, cut), 'nothing before the end was rewritten');
      const trail = await readTrail(state.dir);
      assert.deepEqual(trail.entries.map((e) => [e.seq, e.event]), [[1, 'login'], [2, 'repair'], [3, 'login']]);
      const repair = trail.entries[1] as AuditEntry;
      assert.equal(repair.profile, null);
      assert.equal(repair.torn_bytes, tornBytes.length);
      assert.equal(repair.prev, trail.entries[0]?.hash);
      assert.equal(next.prev, repair.hash);
      const report = verifyTrail(trail);
      assert.equal(report.ok, true, report.firstBad?.reason);
      assert.deepEqual(report.repairs.map((r) => [r.seq, r.torn_bytes]), [[2, tornBytes.length]]);
      assert.equal(trail.lines.length, 3);
      assert.deepEqual(trail.lines, [1, 3, 4]);
    } finally {
      await state.dispose();
    }
  });

  it('also after a crash during the repair itself, and for torn bytes that are not UTF-8', async () => {
    const state = await tempStateDir();
    try {
      await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      // Torn entry, then a torn repair line (the repair's own write cut short), raw bytes included.
      await appendFile(state.file, Buffer.concat([Buffer.from('{"v":1,"id":"abc","seq":2,"ts":"2025-'), Buffer.from([0xe2, 0x82]), Buffer.from('\n{"v":1,"id":"rep')]));
      await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const report = verifyTrail(await readTrail(state.dir));
      assert.equal(report.ok, true, report.firstBad?.reason);
      assert.equal(report.repairs.length, 1);

      // A crash that left only the newline before the repair: the run of damaged lines is recorded.
      await appendFile(state.file, '{"v":1,"id":"x2"\n');
      await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const again = verifyTrail(await readTrail(state.dir));
      assert.equal(again.ok, true, again.firstBad?.reason);
      assert.equal(again.repairs.length, 2);
      assert.equal(again.repairs[1]?.torn_bytes, Buffer.byteLength('{"v":1,"id":"x2"'));
    } finally {
      await state.dispose();
    }
  });

  it('a damaged line in the middle is not a torn tail: no later append hides it', async () => {
    const state = await tempStateDir();
    try {
      const entries: AuditEntry[] = [];
      for (let i = 0; i < 3; i++) entries.push(await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() }));
      const lines = await readLines(state.file);
      lines[1] = (lines[1] as string).slice(0, 50);
      await writeFile(state.file, `${lines.join('\n')}\n`);
      await appendEntry(state.dir, { event: 'login', profile: 'p', credential_id: null, nonce: newNonce() });
      const report = verifyTrail(await readTrail(state.dir));
      assert.equal(report.ok, false);
      assert.deepEqual([report.firstBad?.seq, report.firstBad?.id, report.firstBad?.line], [2, entries[1]?.id, 2]);
      assert.equal((await readTrail(state.dir)).entries.filter((e) => e.event === 'repair').length, 0);
    } finally {
      await state.dispose();
    }
  });
});

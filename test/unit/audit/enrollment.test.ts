// A signed login or exec checks its signature against the credential's enroll entry. latestEnrollment finds
// it by a byte search instead of parsing the whole trail; it must find exactly what parsing would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latestEnrollment, parseTrail, type AuditEntry, type KeyRecord } from '../../../src/audit/chain.ts';

/** The reference: parse every entry and take the latest well-formed enroll entry for the credential. */
function byParsing(data: Buffer, credentialId: string): KeyRecord | undefined {
  const { entries } = parseTrail(data);
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as AuditEntry & Record<string, unknown>;
    if (e.event === 'enroll' && e.credential_id === credentialId && typeof e.public_key === 'string' && e.public_key !== '' && typeof e.rp_id === 'string' && e.rp_id !== '') {
      return { credential_id: credentialId, public_key: e.public_key, rp_id: e.rp_id };
    }
  }
  return undefined;
}

const line = (entry: Record<string, unknown>) => `${JSON.stringify(entry)}\n`;
const enroll = (credential_id: string, public_key: string, extra: Record<string, unknown> = {}) =>
  line({ v: 1, id: `e-${public_key}`, seq: 1, ts: '2026-11-22T00:00:00.000Z', event: 'enroll', profile: 'p', credential_id, public_key, rp_id: 'tng', ...extra });
const exec = (credential_id: string | null, n: number) =>
  line({ v: 1, id: `x-${n}`, seq: n, ts: '2026-11-22T00:00:00.000Z', event: 'exec', profile: 'p', program: 'enroll', credential_id });

describe('latestEnrollment', () => {
  // [case, trail, the public key expected (none: undefined)]
  const cases: Array<[string, string, string | undefined]> = [
    ['the only enroll entry', enroll('cred-A', 'k1') + exec('cred-A', 2) + exec(null, 3), 'k1'],
    ['the latest of several', enroll('cred-A', 'k1') + exec('cred-A', 2) + enroll('cred-A', 'k2') + exec('cred-A', 4), 'k2'],
    ['another credential only', enroll('cred-B', 'k1') + exec('cred-A', 2), undefined],
    ['a credential whose id contains another one', enroll('cred-AA', 'k9') + enroll('cred-A', 'k1') + enroll('cred-AAA', 'k8'), 'k1'],
    ['an enroll entry without a public key is skipped', enroll('cred-A', 'k1') + enroll('cred-A', ''), 'k1'],
    ['a damaged line and a torn last line are no entries', enroll('cred-A', 'k1') + '{"event":"enroll","credential_id":"cred-A"\n' + enroll('cred-A', 'k2').slice(0, -1), 'k1'],
    ['the word enroll elsewhere', exec('cred-A', 1) + enroll('cred-A', 'k1') + exec('cred-A', 3), 'k1'],
    ['the first line', enroll('cred-A', 'k1'), 'k1'],
    ['no enroll entry', exec('cred-A', 1) + exec('cred-A', 2), undefined],
    ['an empty trail', '', undefined],
  ];
  for (const [name, text, key] of cases) {
    it(`${name}: as parsing the whole trail finds`, () => {
      const data = Buffer.from(text, 'utf8');
      const found = latestEnrollment(data, 'cred-A');
      assert.deepEqual(found, byParsing(data, 'cred-A'));
      assert.equal(found?.public_key, key);
    });
  }

  it('finds the enroll entry at the start of a long trail of execs', () => {
    const data = Buffer.from(enroll('cred-A', 'k1') + Array.from({ length: 5000 }, (_, n) => exec('cred-A', n + 2)).join(''), 'utf8');
    assert.deepEqual(latestEnrollment(data, 'cred-A'), { credential_id: 'cred-A', public_key: 'k1', rp_id: 'tng' });
  });
});

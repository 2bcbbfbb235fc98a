import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import { appendEntry, entryHash } from '../../../src/audit/chain.ts';
import { tempStateDir } from './helpers.ts';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('entry hash: SHA-256 over RFC 8785 canonical JSON, without hash and sig', () => {
  it('does not depend on key order', () => {
    const a = { v: 1, id: 'x', seq: 1, ts: '2025-01-01T00:00:00.000Z', event: 'login', profile: 'p', prev: null, nested: { b: 2, a: 1 } };
    const b = { nested: { a: 1, b: 2 }, prev: null, profile: 'p', event: 'login', ts: '2025-01-01T00:00:00.000Z', seq: 1, id: 'x', v: 1 };
    assert.equal(entryHash(a), entryHash(b));
  });

  it('matches a hand-checked canonical form (sorted by UTF-16 code units, ES number forms, literal non-ASCII)', () => {
    const entry = { '\u20ac': 'Euro', '\r': 'cr', '1': 'one', '\u0080': 'ctl', '\u00f6': 'o-umlaut', '\ud83d\ude00': 'smiley', big: 1e21, small: 1e-7, float: 0.5, int: 1.0, neg: -0, s: 'caf\u00e9 \u0007' };
    const expected = '{"\\r":"cr","1":"one","big":1e+21,"float":0.5,"int":1,"neg":0,"s":"café \\u0007","small":1e-7,"\u0080":"ctl","ö":"o-umlaut","€":"Euro","😀":"smiley"}';
    assert.equal(canonicalize(entry), expected);
    assert.equal(entryHash(entry), sha(expected));
  });

  it('distinguishes what differs only in Unicode normalisation or number value', () => {
    assert.notEqual(entryHash({ s: 'caf\u00e9' }), entryHash({ s: 'cafe\u0301' }));
    assert.notEqual(entryHash({ n: 1 }), entryHash({ n: 1.0000001 }));
    assert.equal(entryHash({ n: 1 }), entryHash({ n: 1.0 }));
    assert.notEqual(entryHash({ n: 1 }), entryHash({ n: '1' }));
  });

  it('leaves out hash and sig, and nothing else', () => {
    const base = { v: 1, id: 'x', prev: null };
    assert.equal(entryHash({ ...base, hash: 'f'.repeat(64), sig: { auth_data: 'AA', signature: 'AA' } }), entryHash(base));
    assert.equal(entryHash(base), sha(canonicalize(base) as string));
    assert.notEqual(entryHash({ ...base, prev: 'a'.repeat(64) }), entryHash(base));
  });

  it('refuses what has no canonical form (a lone surrogate)', () => {
    assert.throws(() => entryHash({ s: '\ud800' }));
  });

  it('an appended entry carries the hash of its own canonical form', async () => {
    const state = await tempStateDir();
    try {
      const entry = await appendEntry(state.dir, { event: 'session', profile: 'p', login: 'l', subject: 'søren', email: 's@example.com', vault_accessor: 'acc', method: 'jwt' });
      const { hash, ...rest } = entry;
      assert.equal(hash, sha(canonicalize(rest) as string));
      assert.match(hash, /^[0-9a-f]{64}$/);
    } finally {
      await state.dispose();
    }
  });
});

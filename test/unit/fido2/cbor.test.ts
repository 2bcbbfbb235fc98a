import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CborError,
  assertCanonicalCbor,
  compareEncodedKeys,
  decodeCbor,
  decodeCborPrefix,
  encodeCbor,
  isCanonicalCbor,
} from '../../../src/fido2/ctap2/cbor.ts';
import { hex, throwsWith, toHex } from './helpers.ts';
import { INFO, MC_RESP, GA_RESP, INFO_EXTRA_KEY } from './vectors.ts';

const enc = (v: unknown) => toHex(encodeCbor(v));

describe('CTAP2 canonical CBOR encoding', () => {
  it('writes the shortest integer forms, including beyond 32 bits (cbor-x alone writes floats there)', () => {
    const cases: [number | bigint, string][] = [
      [0, '00'],
      [23, '17'],
      [24, '1818'],
      [255, '18ff'],
      [256, '190100'],
      [65535, '19ffff'],
      [65536, '1a00010000'],
      [0xffffffff, '1affffffff'],
      [2 ** 32, '1b0000000100000000'],
      [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
      [-1, '20'],
      [-24, '37'],
      [-25, '3818'],
      [-7, '26'],
      [-(2 ** 32), '3affffffff'],
      [-(2 ** 32) - 1, '3b0000000100000000'],
      [5n, '05'],
      [-5n, '24'],
      [2n ** 64n - 1n, '1bffffffffffffffff'],
    ];
    for (const [value, expected] of cases) assert.equal(enc(value), expected, `encoding ${value}`);
  });

  it('sorts integer keys 1, 2, 3 before -1, -2, -3 whatever the insertion order', () => {
    const cose = new Map<number, unknown>([
      [-3, new Uint8Array([3])],
      [-1, 1],
      [3, -7],
      [-2, new Uint8Array([2])],
      [1, 2],
    ]);
    assert.equal(enc(cose), 'a5' + '0102' + '0326' + '2001' + '214102' + '224103');
  });

  it('sorts text keys shorter first, then bytewise (the reference examples)', () => {
    assert.equal(enc({ name: 'n', id: 'i' }), 'a2' + '626964' + '6169' + '646e616d65' + '616e');
    assert.equal(
      enc({ displayName: 'd', name: 'n', id: new Uint8Array([1]) }),
      'a3' + '626964' + '4101' + '646e616d65' + '616e' + '6b646973706c61794e616d65' + '6164',
    );
    assert.equal(enc({ type: 'public-key', alg: -7 }), 'a2' + '63616c67' + '26' + '6474797065' + '6a7075626c69632d6b6579');
    assert.equal(enc({ type: 'public-key', id: new Uint8Array([0xaa]) }), 'a2' + '626964' + '41aa' + '6474797065' + '6a7075626c69632d6b6579');
    assert.equal(
      enc({ 'hmac-secret': true, credProtect: 2 }),
      'a2' + '6b6372656450726f74656374' + '02' + '6b686d61632d736563726574' + 'f5',
    );
  });

  it('puts integer keys before text keys, and orders by major type, then length, then bytes', () => {
    assert.equal(enc(new Map<unknown, unknown>([['a', 1], [1000, 2], [-1, 3]])), 'a3' + '1903e8' + '02' + '20' + '03' + '6161' + '01');
    assert.ok(compareEncodedKeys(hex('18ff'), hex('1901 00')) < 0);
    assert.ok(compareEncodedKeys(hex('17'), hex('20')) < 0);
    assert.ok(compareEncodedKeys(hex('3818'), hex('6161')) < 0);
    assert.ok(compareEncodedKeys(hex('6162'), hex('616163')) < 0);
  });

  it('writes Maps without tag 259, byte strings without tag 64, plain objects with a small map header', () => {
    assert.equal(enc(new Map([[1, 2]])), 'a10102');
    assert.equal(enc(new Uint8Array([1, 2])), '420102');
    assert.equal(enc(Buffer.from([1, 2])), '420102');
    assert.equal(enc(new Uint8Array([9, 1, 2]).subarray(1)), '420102');
    assert.equal(enc({ a: 1 }), 'a1616101');
    assert.equal(enc(new Map()), 'a0');
    assert.equal(enc([]), '80');
    assert.equal(enc(new Uint8Array(0)), '40');
    assert.equal(enc(''), '60');
    assert.equal(enc([true, false, null]), '83f5f4f6');
    assert.equal(enc({ a: 1, b: undefined }), 'a1616101');
  });

  it('writes definite lengths for long strings and big containers', () => {
    assert.equal(enc(new Uint8Array(300)).slice(0, 6), '59012c');
    assert.equal(enc('x'.repeat(24)).slice(0, 4), '7818');
    const big = new Map<number, number>(Array.from({ length: 30 }, (_, i) => [i, i] as [number, number]));
    assert.equal(enc(big).slice(0, 4), 'b81e');
    assert.equal(enc(Array.from({ length: 25 }, () => 0)).slice(0, 4), '9819');
  });

  it('refuses what CTAP2 CBOR cannot carry: floats, undefined in arrays, duplicate keys, odd types', () => {
    assert.throws(() => encodeCbor(1.5), TypeError);
    assert.throws(() => encodeCbor(Number.NaN), TypeError);
    assert.throws(() => encodeCbor(2 ** 60), TypeError);
    assert.throws(() => encodeCbor(2n ** 64n), TypeError);
    assert.throws(() => encodeCbor(-(2n ** 64n)), TypeError); // cbor-x would write a tag-3 bignum
    assert.throws(() => encodeCbor([undefined]), TypeError);
    assert.throws(() => encodeCbor(new Map<unknown, unknown>([[1, 1], [1n, 2]])), TypeError);
    assert.throws(() => encodeCbor(new Date()), TypeError);
    assert.throws(() => encodeCbor(new Map([[{}, 1]])), TypeError);
  });

  it('every encoding is accepted by the strict canonical check', () => {
    const value = new Map<unknown, unknown>([
      [1, new Uint8Array(32)],
      [2, { id: 'example.com', name: 'Example' }],
      [4, [{ alg: -7, type: 'public-key' }, { alg: -8, type: 'public-key' }]],
      [6, { 'hmac-secret': true }],
      [-1, [1, -1, 'x', null]],
    ]);
    const bytes = encodeCbor(value);
    assert.equal(isCanonicalCbor(bytes), true);
    assert.deepEqual(decodeCbor(bytes), new Map<unknown, unknown>([
      [1, new Uint8Array(32)],
      [2, new Map([['id', 'example.com'], ['name', 'Example']])],
      [4, [new Map<string, unknown>([['alg', -7], ['type', 'public-key']]), new Map<string, unknown>([['alg', -8], ['type', 'public-key']])]],
      [6, new Map([['hmac-secret', true]])],
      [-1, [1, -1, 'x', null]],
    ]));
  });
});

describe('strict CBOR decoding', () => {
  it('accepts the python-fido2 vectors (recorded YubiKey answers are canonical) and decodes maps as Maps', () => {
    for (const vector of [INFO, INFO_EXTRA_KEY, MC_RESP, GA_RESP]) assert.equal(isCanonicalCbor(vector), true);
    const info = decodeCbor(INFO) as Map<number, unknown>;
    assert.ok(info instanceof Map);
    assert.deepEqual(info.get(1), ['U2F_V2', 'FIDO_2_0']);
    assert.deepEqual(info.get(4), new Map([['rk', true], ['up', true], ['plat', false], ['clientPin', false]]));
    assert.equal(info.get(5), 1200);
  });

  it('re-encodes decoded vectors byte for byte', () => {
    for (const vector of [INFO, INFO_EXTRA_KEY, MC_RESP, GA_RESP]) assert.equal(toHex(encodeCbor(decodeCbor(vector))), toHex(vector));
  });

  const rejected: [string, string, RegExp][] = [
    ['indefinite-length array', '9f01ff', /indefinite/],
    ['indefinite-length byte string', '5f4101ff', /indefinite/],
    ['non-shortest integer', '1817', /shortest/],
    ['non-shortest length', '5800', /shortest/],
    ['non-shortest negative', '3800', /shortest/],
    ['unsorted integer keys', 'a202000100', /order/],
    ['negative before positive key', 'a2200001 00', /order/],
    ['longer text key first', 'a2626161006161 00', /order/],
    ['duplicate keys', 'a201000100', /duplicate/],
    ['a tag', 'c11a00000000', /tag/],
    ['tag 259 map', 'd90103a0', /tag/],
    ['a half float', 'f93c00', /float/],
    ['a double', 'fb3ff8000000000000', /float/],
    ['undefined', 'f7', /simple/],
    ['a simple value', 'f0', /simple/],
    ['a break outside indefinite', 'ff', /indefinite/],
    ['reserved additional info', '1c', /reserved/],
    ['invalid UTF-8 text', '62c328', /UTF-8/],
    ['a map key that is an array', 'a18001', /key/],
    ['truncated byte string', '4401', /end/],
    ['truncated map', 'a201', /end/],
    ['huge claimed array', '9bffffffffffffffff', /end/],
    ['huge claimed map', 'ba7fffffff', /end/],
    ['empty input', '', /end/],
  ];
  for (const [what, bytes, message] of rejected) {
    it(`rejects ${what}`, () => {
      assert.throws(() => assertCanonicalCbor(hex(bytes)), (e: unknown) => e instanceof CborError && message.test(e.message));
      const error = throwsWith(() => decodeCbor(hex(bytes)), 'fido2.protocol');
      assert.equal(error.kind, 'authenticator');
    });
  }

  it('rejects trailing bytes after the item', () => {
    throwsWith(() => decodeCbor(hex('a0 00')), 'fido2.protocol');
    assert.equal(isCanonicalCbor(hex('0000')), false);
  });

  it('rejects nesting deeper than 32 levels instead of overflowing the stack', () => {
    const deep = new Uint8Array(5000).fill(0x81);
    throwsWith(() => decodeCbor(deep), 'fido2.protocol');
  });

  it('decodes a prefix and reports where it ended', () => {
    const bytes = hex('a10102' + 'ffff');
    const { value, end } = decodeCborPrefix(bytes, 0);
    assert.deepEqual(value, new Map([[1, 2]]));
    assert.equal(end, 3);
  });

  it('decodes 64-bit integers as BigInt', () => {
    assert.equal(decodeCbor(hex('1b0000010000000000')), 2n ** 40n);
    assert.equal(decodeCbor(hex('3bffffffffffffffff')), -(2n ** 64n));
  });
});

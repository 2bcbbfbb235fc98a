import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHUNK_BYTES,
  HEADER_PREFIX,
  chunkKey,
  decodeChunks,
  encodeChunks,
  formatHeader,
  isChunkKey,
  isHeader,
  needsChunks,
  parseHeader,
  sha256Hex,
  splitUtf8,
} from '../../../src/keychain/chunks.ts';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

test('small values stay whole; large ones and header look-alikes are chunked', () => {
  assert.equal(needsChunks(''), false);
  assert.equal(needsChunks('a'.repeat(CHUNK_BYTES)), false);
  assert.equal(needsChunks('a'.repeat(CHUNK_BYTES + 1)), true);
  // 667 three-byte characters = 2001 bytes although only 667 UTF-16 units.
  assert.equal(needsChunks('€'.repeat(667)), true);
  assert.equal(needsChunks(`${HEADER_PREFIX}v1 n=1 bytes=1 sha256=${'0'.repeat(64)}`), true);
  assert.equal(needsChunks('\u001e'), true);
});

test('splitUtf8 keeps every piece within the limit and never cuts a character', () => {
  const value = 'a€😀ü'.repeat(1000) + 'tail';
  const pieces = splitUtf8(value, 2000);
  assert.equal(pieces.join(''), value);
  for (const [i, piece] of pieces.entries()) {
    assert.ok(bytes(piece) <= 2000, `piece of ${bytes(piece)} bytes`);
    if (i < pieces.length - 1) assert.ok(bytes(piece) >= 1997, 'pieces are filled up to the limit');
    assert.ok(!piece.includes('\ufffd'), 'no character was cut in two');
  }
  assert.deepEqual(splitUtf8('', 2000), ['']);
  assert.deepEqual(splitUtf8('abcdef', 2), ['ab', 'cd', 'ef']);
  assert.deepEqual(splitUtf8('😀😀', 5), ['😀', '😀']);
});

test('header round trip, and malformed headers are rejected', () => {
  const header = { count: 6, bytes: 10240, sha256: sha256Hex('x') };
  const text = formatHeader(header);
  assert.ok(isHeader(text));
  assert.ok(text.length < 200);
  assert.equal(text, `\u001etng-chunked v1 n=6 bytes=10240 sha256=${header.sha256}`);
  assert.match(header.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(parseHeader(text), header);
  assert.equal(isHeader('plain value'), false);
  for (const bad of [
    '\u001etng-chunked v2 n=6 bytes=10240 sha256=' + 'a'.repeat(64),
    '\u001etng-chunked v1 n=0 bytes=0 sha256=' + 'a'.repeat(64),
    '\u001etng-chunked v1 n=101 bytes=0 sha256=' + 'a'.repeat(64),
    '\u001etng-chunked v1 n=6 bytes=10240 sha256=' + 'a'.repeat(63),
    `${text} `,
    '\u001esomething else',
  ]) {
    assert.equal(parseHeader(bad), undefined, JSON.stringify(bad));
  }
});

test('encode/decode round trip and integrity check', () => {
  const value = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(0xe0 + (i % 26))).join('');
  const { header, chunks } = encodeChunks(value);
  assert.equal(header.count, chunks.length);
  assert.equal(header.count, 5);
  assert.equal(header.bytes, 10000);
  assert.equal(decodeChunks(header, chunks), value);
  const tampered = [...chunks];
  tampered[2] = `${(tampered[2] ?? '').slice(0, -1)}e`;
  assert.equal(decodeChunks(header, tampered), undefined, 'altered chunk');
  assert.equal(decodeChunks(header, chunks.slice(0, 4)), undefined, 'missing chunk');
  assert.equal(decodeChunks(header, [chunks[1] ?? '', chunks[0] ?? '', ...chunks.slice(2)]), undefined, 'reordered');
});

test('chunk item names', () => {
  assert.equal(chunkKey('profile:work:session', 3), 'profile:work:session#3');
  assert.equal(isChunkKey('profile:work:session#3'), true);
  assert.equal(isChunkKey('profile:work:session'), false);
  assert.equal(isChunkKey('vault:https://v.example#ns'), false);
});

/**
 * Splitting large secrets over several keychain items, so that no single item grows beyond a size every
 * Secret Service implementation (and every keychain UI) copes with.
 *
 * Layout for a value stored under `KEY`:
 * - small value (at most {@link CHUNK_BYTES} UTF-8 bytes, not starting with {@link HEADER_PREFIX}): the item
 *   `KEY` holds the value itself;
 * - otherwise: the items `KEY#1` … `KEY#N` hold consecutive pieces of the value (each at most
 *   {@link CHUNK_BYTES} bytes, cut between characters), and `KEY` holds a one-line header
 *   `\x1Etng-chunked v1 n=N bytes=B sha256=HEX` — the piece count, the total UTF-8 length and the SHA-256 of
 *   the whole value, which `get` checks after reassembling.
 *
 * The header starts with the ASCII record separator (0x1E). Any value that itself starts with that character
 * is always stored in chunked form (N = 1 when it is short), so an item that starts with it is always a
 * header and every string round-trips exactly.
 */
import { nodeCrypto } from '../platform/lazy-crypto.ts';

/** The largest item, in UTF-8 bytes, that tng writes. */
export const CHUNK_BYTES = 2000;

/** The largest number of chunks one value may take (about 200 KB). */
export const MAX_CHUNKS = 100;

/** The first characters of every chunk header. */
export const HEADER_PREFIX = '\u001etng-chunked ';

/** The header after {@link HEADER_PREFIX}. */
const HEADER_PATTERN = /^v1 n=([1-9][0-9]{0,5}) bytes=(0|[1-9][0-9]{0,9}) sha256=([0-9a-f]{64})$/;

export interface ChunkHeader {
  /** The number of chunk items. */
  count: number;
  /** The UTF-8 length of the whole value. */
  bytes: number;
  /** Hex SHA-256 of the whole value's UTF-8 bytes. */
  sha256: string;
}

/** The item name of chunk `index` (1-based) of `key`. */
export function chunkKey(key: string, index: number): string {
  return `${key}#${index}`;
}

/** True for keys that would clash with another key's chunk items. */
export function isChunkKey(key: string): boolean {
  return /#[0-9]+$/.test(key);
}

/** Whether `value` must be stored in chunked form. */
export function needsChunks(value: string): boolean {
  return value.startsWith('\u001e') || Buffer.byteLength(value, 'utf8') > CHUNK_BYTES;
}

export function sha256Hex(value: string): string {
  return nodeCrypto().createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Cuts `value` into pieces of at most `limit` UTF-8 bytes each, never inside a character. */
export function splitUtf8(value: string, limit: number = CHUNK_BYTES): string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [''];
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + limit, bytes.length);
    // Back off while the cut would fall on a continuation byte (10xxxxxx) of a multi-byte character.
    while (end < bytes.length && end > start && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
    pieces.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return pieces;
}

export function formatHeader(header: ChunkHeader): string {
  return `${HEADER_PREFIX}v1 n=${header.count} bytes=${header.bytes} sha256=${header.sha256}`;
}

/** True when a stored base item is a chunk header (possibly a malformed one). */
export function isHeader(stored: string): boolean {
  return stored.startsWith('\u001e');
}

/** The parsed header, or undefined when `stored` starts like a header but is not a valid one. */
export function parseHeader(stored: string): ChunkHeader | undefined {
  if (!stored.startsWith(HEADER_PREFIX)) return undefined;
  const match = HEADER_PATTERN.exec(stored.slice(HEADER_PREFIX.length));
  if (match === null) return undefined;
  const count = Number(match[1]);
  if (count > MAX_CHUNKS) return undefined;
  return { count, bytes: Number(match[2]), sha256: match[3] ?? '' };
}

/** The header and the chunk items' values for a value that {@link needsChunks}. */
export function encodeChunks(value: string): { header: ChunkHeader; chunks: string[] } {
  const chunks = splitUtf8(value);
  return { header: { count: chunks.length, bytes: Buffer.byteLength(value, 'utf8'), sha256: sha256Hex(value) }, chunks };
}

/** The reassembled value, or undefined when the chunks do not match the header. */
export function decodeChunks(header: ChunkHeader, chunks: readonly string[]): string | undefined {
  if (chunks.length !== header.count) return undefined;
  const value = chunks.join('');
  if (Buffer.byteLength(value, 'utf8') !== header.bytes || sha256Hex(value) !== header.sha256) return undefined;
  return value;
}

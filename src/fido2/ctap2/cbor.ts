/**
 * CTAP2 canonical CBOR (CTAP 2.1 §8, "CTAP2 canonical CBOR encoding form") on top of cbor-x.
 *
 * Encoding: values are first brought into canonical shape here (maps sorted by their encoded keys,
 * byte strings as Buffers, big integers as BigInt) and then written by a cbor-x Encoder configured
 * so that it adds nothing of its own (no records, no tag 259 for Maps, no tag 64 for Uint8Array,
 * minimal map headers).
 *
 * Decoding: the bytes are first checked by a strict scanner (well-formed, definite lengths, shortest
 * heads, sorted unique map keys, valid UTF-8, no tags, no floats, nothing trailing), so cbor-x only ever
 * sees canonical input, and then decoded with `mapsAsObjects: false` so every map is a Map.
 */
import { Decoder, Encoder } from 'cbor-x';
import { protocolError } from '../errors.ts';

const encoder = new Encoder({
  useRecords: false,
  useTag259ForMaps: false,
  variableMapSize: true,
  tagUint8Array: false,
  mapsAsObjects: false,
} as ConstructorParameters<typeof Encoder>[0]);

const decoder = new Decoder({
  useRecords: false,
  mapsAsObjects: false,
  copyBuffers: true,
} as ConstructorParameters<typeof Decoder>[0]);

/** A decoded CTAP map: integer or text keys. */
export type CborMap = Map<unknown, unknown>;

export class CborError extends Error {
  override name = 'CborError';
}

const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Canonical order of two encoded keys: major type, then encoded length, then bytewise. */
export function compareEncodedKeys(a: Uint8Array, b: Uint8Array): number {
  const majorA = (a[0] ?? 0) >> 5;
  const majorB = (b[0] ?? 0) >> 5;
  if (majorA !== majorB) return majorA - majorB;
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

interface Head {
  major: number;
  info: number;
  /** The argument; for 8-byte arguments beyond 2^53 only used for comparisons/lengths, so a float is fine. */
  value: number;
  end: number;
}

function readHead(bytes: Uint8Array, offset: number): Head {
  if (offset >= bytes.length) throw new CborError('unexpected end of data');
  const first = bytes[offset] as number;
  const major = first >> 5;
  const info = first & 0x1f;
  if (info < 24) return { major, info, value: info, end: offset + 1 };
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (size === 0) {
    throw new CborError(info === 31 ? 'indefinite length (not allowed in CTAP2)' : `reserved additional info ${info}`);
  }
  if (offset + 1 + size > bytes.length) throw new CborError('unexpected end of data');
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + (bytes[offset + 1 + i] as number);
  if (major !== 7) {
    const minimum = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000;
    if (value < minimum) throw new CborError('a non-shortest integer or length encoding');
  }
  return { major, info, value, end: offset + 1 + size };
}

/**
 * Checks the CBOR item starting at `offset` against the CTAP2 canonical rules and returns the offset just
 * past it. Throws CborError on anything else.
 */
export function scanCborItem(bytes: Uint8Array, offset = 0, depth = 0): number {
  if (depth > MAX_DEPTH) throw new CborError('nesting too deep');
  const head = readHead(bytes, offset);
  const remaining = bytes.length - head.end;
  switch (head.major) {
    case 0:
    case 1:
      return head.end;
    case 2:
    case 3: {
      if (head.value > remaining) throw new CborError('unexpected end of data');
      const end = head.end + head.value;
      if (head.major === 3) {
        try {
          utf8.decode(bytes.subarray(head.end, end));
        } catch (error) {
          throw new CborError('a text string that is not UTF-8', { cause: error });
        }
      }
      return end;
    }
    case 4: {
      if (head.value > remaining) throw new CborError('unexpected end of data');
      let at = head.end;
      for (let i = 0; i < head.value; i++) at = scanCborItem(bytes, at, depth + 1);
      return at;
    }
    case 5: {
      if (head.value * 2 > remaining) throw new CborError('unexpected end of data');
      let at = head.end;
      let previous: Uint8Array | undefined;
      for (let i = 0; i < head.value; i++) {
        const keyStart = at;
        const keyMajor = (bytes[at] ?? 0) >> 5;
        if (at < bytes.length && keyMajor > 3) throw new CborError('a map key that is not an integer or a string');
        at = scanCborItem(bytes, at, depth + 1);
        const key = bytes.subarray(keyStart, at);
        if (previous !== undefined) {
          const order = compareEncodedKeys(previous, key);
          if (order === 0) throw new CborError('a duplicate map key');
          if (order > 0) throw new CborError('map keys out of canonical order');
        }
        previous = key;
        at = scanCborItem(bytes, at, depth + 1);
      }
      return at;
    }
    case 6:
      throw new CborError('a tag (not allowed in CTAP2)');
    default:
      // major 7: only false, true, null
      if (head.info === 20 || head.info === 21 || head.info === 22) return head.end;
      throw new CborError(head.info >= 25 && head.info <= 27 ? 'a floating-point number' : 'an unsupported simple value');
  }
}

/** True when `bytes` is exactly one CTAP2-canonical CBOR item. */
export function isCanonicalCbor(bytes: Uint8Array): boolean {
  try {
    return scanCborItem(bytes, 0) === bytes.length;
  } catch {
    return false;
  }
}

/** Throws (a CborError naming the rule) unless `bytes` is exactly one CTAP2-canonical CBOR item. */
export function assertCanonicalCbor(bytes: Uint8Array): void {
  const end = scanCborItem(bytes, 0);
  if (end !== bytes.length) throw new CborError(`${bytes.length - end} bytes after the CBOR item`);
}

function rawDecode(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new CborError(`cbor-x could not decode: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Decodes exactly one canonical item (no trailing bytes); anything else is `fido2.protocol`. */
export function decodeCbor(bytes: Uint8Array, what = 'CBOR'): unknown {
  try {
    assertCanonicalCbor(bytes);
    return rawDecode(bytes);
  } catch (error) {
    throw protocolError(`invalid ${what} (${error instanceof Error ? error.message : String(error)})`, error);
  }
}

/** Decodes one canonical item at `offset` and reports where it ended (the COSE key inside authData). */
export function decodeCborPrefix(bytes: Uint8Array, offset: number, what = 'CBOR'): { value: unknown; end: number } {
  try {
    const end = scanCborItem(bytes, offset);
    return { value: rawDecode(bytes.subarray(offset, end)), end };
  } catch (error) {
    throw protocolError(`invalid ${what} (${error instanceof Error ? error.message : String(error)})`, error);
  }
}

const UINT32_MAX = 0xffffffff;

function canonicalInteger(value: number | bigint): number | bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`CTAP2 CBOR has no floats: ${value}`);
    // cbor-x writes integers beyond 32 bits as float64; a BigInt gets the 8-byte integer form.
    return value > UINT32_MAX || value < -UINT32_MAX - 1 ? BigInt(value) : value;
  }
  // CBOR reaches -2^64 (0x3b ffffffffffffffff), but cbor-x writes exactly that value as a tag-3 bignum.
  if (value > 18446744073709551615n || value <= -18446744073709551616n) throw new TypeError('integer beyond the 64-bit range cbor-x writes');
  // cbor-x always writes a BigInt with an 8-byte argument, which is only canonical beyond 32 bits.
  return value <= BigInt(UINT32_MAX) && value >= -BigInt(UINT32_MAX) - 1n ? Number(value) : value;
}

function canonicalize(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new TypeError('value nested too deeply for CBOR');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return canonicalInteger(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map((v) => canonicalize(v, depth + 1));
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value.entries()];
  else if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  } else {
    throw new TypeError(`cannot encode ${typeof value} as CTAP2 CBOR`);
  }
  const encoded = entries
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      if (typeof k !== 'number' && typeof k !== 'bigint' && typeof k !== 'string' && !(k instanceof Uint8Array)) {
        throw new TypeError('CTAP2 map keys are integers, strings or byte strings');
      }
      const key = canonicalize(k, depth + 1);
      return { key, keyBytes: encoder.encode(key) as Uint8Array, value: canonicalize(v, depth + 1) };
    })
    .sort((a, b) => compareEncodedKeys(a.keyBytes, b.keyBytes));
  for (let i = 1; i < encoded.length; i++) {
    if (compareEncodedKeys((encoded[i - 1] as { keyBytes: Uint8Array }).keyBytes, (encoded[i] as { keyBytes: Uint8Array }).keyBytes) === 0) {
      throw new TypeError('duplicate CBOR map key');
    }
  }
  return new Map(encoded.map((e) => [e.key, e.value]));
}

/**
 * Encodes a value as CTAP2 canonical CBOR. Maps (JS Map or plain object) are sorted; `undefined` map
 * values are left out; non-integer numbers are refused.
 */
export function encodeCbor(value: unknown): Uint8Array {
  const bytes = encoder.encode(canonicalize(value, 0)) as Uint8Array;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

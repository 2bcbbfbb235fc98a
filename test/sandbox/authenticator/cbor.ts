/**
 * CTAP2 canonical CBOR for the virtual authenticator: an encoder that always writes the canonical form
 * (definite lengths, shortest heads, map keys sorted by major type, then encoded length, then bytes) and
 * a strict decoder that refuses anything a canonical encoder would not have produced.
 *
 * Supported data model: unsigned/negative integers (safe JS integers), byte strings (Uint8Array),
 * text strings, arrays, maps (JS Map; plain objects are accepted by the encoder as text-keyed maps),
 * true/false. No floats, no tags, no indefinite lengths, no null/undefined in requests.
 */

export type CborKey = number | string;
export type CborValue = number | string | boolean | Uint8Array | CborValue[] | Map<CborKey, CborValue>;
export type CborInput = number | string | boolean | Uint8Array | readonly CborInput[] | Map<CborKey, CborInput> | { readonly [key: string]: CborInput | undefined };

/** Thrown by `decodeCanonical`; `status` is the CTAP2 status to answer with. */
export class CborError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const CTAP2_ERR_CBOR_UNEXPECTED_TYPE = 0x11;
export const CTAP2_ERR_INVALID_CBOR = 0x12;

const MAX_DEPTH = 8;

function head(major: number, value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`CBOR: cannot encode length/value ${value}`);
  const mt = major << 5;
  if (value < 24) return Buffer.from([mt | value]);
  if (value <= 0xff) return Buffer.from([mt | 24, value]);
  if (value <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = mt | 25;
    b.writeUInt16BE(value, 1);
    return b;
  }
  if (value <= 0xffffffff) {
    const b = Buffer.alloc(5);
    b[0] = mt | 26;
    b.writeUInt32BE(value, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = mt | 27;
  b.writeBigUInt64BE(BigInt(value), 1);
  return b;
}

/** Canonical order of two encoded keys: major type, then encoded length, then bytewise. */
export function compareEncodedKeys(a: Uint8Array, b: Uint8Array): number {
  const ma = (a[0] ?? 0) >> 5;
  const mb = (b[0] ?? 0) >> 5;
  if (ma !== mb) return ma - mb;
  if (a.length !== b.length) return a.length - b.length;
  return Buffer.compare(a, b);
}

export function encode(value: CborInput): Buffer {
  const out: Buffer[] = [];
  write(value, out);
  return Buffer.concat(out);
}

function write(value: CborInput, out: Buffer[]): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`CBOR: only integers are supported (${value})`);
    out.push(value >= 0 ? head(0, value) : head(1, -1 - value));
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    out.push(head(3, bytes.length), bytes);
  } else if (typeof value === 'boolean') {
    out.push(Buffer.from([value ? 0xf5 : 0xf4]));
  } else if (value instanceof Uint8Array) {
    out.push(head(2, value.length), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  } else if (Array.isArray(value)) {
    out.push(head(4, value.length));
    for (const item of value as readonly CborInput[]) write(item, out);
  } else {
    const entries: Array<[CborKey, CborInput]> = [];
    if (value instanceof Map) {
      for (const [k, v] of value) entries.push([k, v]);
    } else {
      for (const [k, v] of Object.entries(value)) if (v !== undefined) entries.push([k, v]);
    }
    const encoded = entries.map(([k, v]) => ({ key: encode(k), value: encode(v) }));
    encoded.sort((x, y) => compareEncodedKeys(x.key, y.key));
    for (let i = 1; i < encoded.length; i++) {
      if (compareEncodedKeys(encoded[i - 1]!.key, encoded[i]!.key) === 0) throw new Error('CBOR: duplicate map key');
    }
    out.push(head(5, encoded.length));
    for (const e of encoded) out.push(e.key, e.value);
  }
}

/** Decodes exactly one canonical CBOR item filling all of `data`. */
export function decodeCanonical(data: Uint8Array): CborValue {
  const r = new Reader(data);
  const value = r.item(0);
  if (r.pos !== data.length) throw new CborError(CTAP2_ERR_INVALID_CBOR, 'trailing bytes after CBOR item');
  return value;
}

/** Decodes one canonical CBOR item at the start of `data`, returning it and the number of bytes it used. */
export function decodeCanonicalPrefix(data: Uint8Array): { value: CborValue; length: number } {
  const r = new Reader(data);
  const value = r.item(0);
  return { value, length: r.pos };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos = 0;
  constructor(private readonly data: Uint8Array) {}

  private fail(message: string): never {
    throw new CborError(CTAP2_ERR_INVALID_CBOR, message);
  }

  private byte(): number {
    if (this.pos >= this.data.length) this.fail('truncated CBOR');
    return this.data[this.pos++]!;
  }

  private take(n: number): Uint8Array {
    if (n > this.data.length - this.pos) this.fail('truncated CBOR');
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads the argument of a head with additional info `ai`, insisting on the shortest form. */
  private argument(ai: number): number {
    if (ai < 24) return ai;
    let value: number;
    if (ai === 24) {
      value = this.byte();
      if (value < 24) this.fail('non-canonical integer encoding');
    } else if (ai === 25) {
      const b = this.take(2);
      value = (b[0]! << 8) | b[1]!;
      if (value <= 0xff) this.fail('non-canonical integer encoding');
    } else if (ai === 26) {
      const b = this.take(4);
      value = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
      if (value <= 0xffff) this.fail('non-canonical integer encoding');
    } else if (ai === 27) {
      const b = this.take(8);
      const big = Buffer.from(b).readBigUInt64BE(0);
      if (big <= 0xffffffffn) this.fail('non-canonical integer encoding');
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('integer too large');
      value = Number(big);
    } else if (ai === 31) {
      this.fail('indefinite-length items are not allowed');
    } else {
      this.fail('reserved additional information');
    }
    return value;
  }

  item(depth: number): CborValue {
    if (depth > MAX_DEPTH) this.fail('CBOR nested too deeply');
    const ib = this.byte();
    const major = ib >> 5;
    const ai = ib & 0x1f;
    switch (major) {
      case 0:
        return this.argument(ai);
      case 1: {
        const n = this.argument(ai);
        return -1 - n;
      }
      case 2:
        return Buffer.from(this.take(this.argument(ai)));
      case 3: {
        const bytes = this.take(this.argument(ai));
        try {
          return utf8.decode(bytes);
        } catch {
          return this.fail('invalid UTF-8 in text string');
        }
      }
      case 4: {
        const n = this.argument(ai);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.argument(ai);
        const out = new Map<CborKey, CborValue>();
        let previous: Uint8Array | undefined;
        for (let i = 0; i < n; i++) {
          const start = this.pos;
          const key = this.item(depth + 1);
          const keyBytes = this.data.subarray(start, this.pos);
          if (typeof key !== 'number' && typeof key !== 'string') {
            throw new CborError(CTAP2_ERR_CBOR_UNEXPECTED_TYPE, 'map keys must be integers or text');
          }
          if (previous && compareEncodedKeys(previous, keyBytes) >= 0) {
            this.fail(compareEncodedKeys(previous, keyBytes) === 0 ? 'duplicate map key' : 'map keys not in canonical order');
          }
          previous = keyBytes;
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6:
        return this.fail('CBOR tags are not allowed');
      default: {
        if (ib === 0xf4) return false;
        if (ib === 0xf5) return true;
        return this.fail('unsupported simple value or float');
      }
    }
  }
}

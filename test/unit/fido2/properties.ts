/**
 * fast-check properties over CTAPHID frames and CTAP2 CBOR answers. Each one feeds malformed input to
 * tng's parsers and insists that the result is either a value or a TngError (a CtapError is one) — never
 * another exception, never a hang. `fuzz.test.ts` runs them 2,000 times each; `fuzz-long.ts` runs them
 * as often as asked (e.g. 100,000).
 */
import fc from 'fast-check';
import { TngError } from '../../../src/errors.ts';
import { parseAuthenticatorData } from '../../../src/fido2/ctap2/authdata.ts';
import { type CborMap, decodeCbor, encodeCbor, isCanonicalCbor } from '../../../src/fido2/ctap2/cbor.ts';
import {
  parseClientPinResponse,
  parseCborResponse,
  parseGetAssertionResponse,
  parseInfo,
  parseMakeCredentialResponse,
} from '../../../src/fido2/ctap2/commands.ts';
import { coseToKeyObject } from '../../../src/fido2/ctap2/cose.ts';
import { decryptHmacSecretOutput } from '../../../src/fido2/ctap2/hmac-secret.ts';
import { PinProtocolV1, PinProtocolV2 } from '../../../src/fido2/ctap2/pin.ts';
import { verifyAssertion } from '../../../src/fido2/ctap2/verify.ts';
import { BROADCAST_CID, CTAPHID, MessageAssembler, decodePacket, encodeMessage } from '../../../src/fido2/hid/framing.ts';
import { CtapHidChannel, initAnswer } from '../../../src/fido2/hid/transport.ts';
import { concatBytes } from '../../../src/fido2/util.ts';
import { ScriptedDevice } from './helpers.ts';
import { AUTH_DATA_GA, AUTH_DATA_MC, GA_RESP, INFO, MC_RESP } from './vectors.ts';

const CID = 0x01020304;

/** Runs `fn`; a TngError is an acceptable outcome, anything else thrown fails the property. */
function onlyTngErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof TngError) return;
    throw error;
  }
}

/** How channel runs ended (value, or the TngError code): shows the fuzzing reaches every outcome. */
export const channelOutcomes = new Map<string, number>();

async function onlyTngErrorsAsync(fn: () => Promise<unknown>, limitMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no outcome within ${limitMs} ms (a hang)`)), limitMs);
  });
  try {
    await Promise.race([fn(), hang]);
    return 'value';
  } catch (error) {
    if (error instanceof TngError) return error.code;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------------------------------- arbitraries

/** Byte-level mutations of a valid encoding: flips, overwrites, truncation, insertion, deletion. */
function mutated(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 9 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 9 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes: Uint8Array = new Uint8Array(base);
    for (const e of edits) {
      const at = bytes.length ? e.at % bytes.length : 0;
      if (e.kind === 'flip' && bytes.length) bytes[at] = (bytes[at] as number) ^ (1 << e.bit);
      else if (e.kind === 'set' && bytes.length) bytes[at] = e.value;
      else if (e.kind === 'cut') bytes = bytes.slice(0, at);
      else if (e.kind === 'insert') bytes = concatBytes(bytes.subarray(0, at), e.bytes, bytes.subarray(at));
      else if (e.kind === 'delete') bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(at + e.count));
    }
    return bytes;
  });
}

/** Values CTAP2 CBOR can carry. */
const cborValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -25, -(2 ** 32), Number.MAX_SAFE_INTEGER),
    fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -30, max: 300 }), fc.string({ maxLength: 6 })), tie('value')), {
        maxLength: 4,
        selector: ([k]) => (typeof k === 'string' ? `s${k}` : `n${k}`),
      })
      .map((entries) => new Map<unknown, unknown>(entries)),
  ),
})).value;

function contains(value: unknown, test: (v: unknown) => boolean): boolean {
  if (test(value)) return true;
  if (Array.isArray(value)) return value.some((v) => contains(v, test));
  if (value instanceof Map) return [...value].some(([k, v]) => contains(k, test) || contains(v, test));
  return false;
}

/** Decoded form of a generated value: byte strings as Uint8Array, safe bigints as numbers. */
function normalise(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -(2n ** 32n) && value <= 2n ** 32n - 1n ? Number(value) : value;
  if (typeof value === 'number') return value > 0xffffffff || value < -0x100000000 ? BigInt(value) : value;
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(normalise);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [normalise(k), normalise(v)]));
  return value;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      const key = [...b.keys()].find((bk) => sameValue(bk, k));
      if (key === undefined && !b.has(k)) return false;
      if (!sameValue(v, b.get(key ?? k))) return false;
    }
    return true;
  }
  return Object.is(a, b) || (typeof a === 'bigint' && typeof b === 'bigint' && a === b);
}

/** A 64-byte report: random, sometimes on our channel, sometimes shaped like an init/keepalive/error. */
const report: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.uint8Array({ minLength: 64, maxLength: 64 }),
    fc.constantFrom('random', 'ours', 'init', 'answer', 'keepalive', 'error', 'cont'),
    fc.integer({ min: 0, max: 0xffff }),
  )
  .map(([bytes, shape, n]) => {
    const r = new Uint8Array(bytes);
    if (shape === 'random') return r;
    new DataView(r.buffer).setUint32(0, CID);
    if (shape === 'init') {
      r[4] = 0x80 | CTAPHID.CBOR;
      new DataView(r.buffer).setUint16(5, n % 8000);
    } else if (shape === 'answer') {
      r[4] = 0x80 | CTAPHID.CBOR;
      new DataView(r.buffer).setUint16(5, n % 58); // fits one packet
    } else if (shape === 'keepalive') {
      r[4] = 0x80 | CTAPHID.KEEPALIVE;
      new DataView(r.buffer).setUint16(5, n % 3);
    } else if (shape === 'error') {
      r[4] = 0x80 | CTAPHID.ERROR;
      new DataView(r.buffer).setUint16(5, n % 4 === 0 ? 0 : 1);
      r[7] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x06, 0x0a, 0x0b, 0x7f, n & 0xff][n % 11] as number;
    } else if (shape === 'cont') {
      r[4] = n % 130 & 0x7f;
    }
    return r;
  });

/** Valid message fragments with random edits. */
const messageReports: fc.Arbitrary<Uint8Array[]> = fc
  .tuple(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
  .map(([payload, edits]) => {
    const reports = encodeMessage(CID, CTAPHID.CBOR, payload).map((r) => new Uint8Array(r));
    for (const [which, at, value] of edits) {
      const r = reports[which % reports.length] as Uint8Array;
      r[at % 64] = value;
    }
    return reports;
  });

// --------------------------------------------------------------------------------------------- properties

export interface NamedProperty {
  name: string;
  property: fc.IRawProperty<unknown, boolean>;
}

export function fido2Properties(): NamedProperty[] {
  return [
    {
      name: 'CTAPHID reassembly: any report sequence yields events or fido2.protocol',
      property: fc.property(fc.array(fc.oneof(report, messageReports.map((m) => m[0] as Uint8Array)), { maxLength: 40 }), messageReports, (noise, message) => {
        const assembler = new MessageAssembler(CID, CTAPHID.CBOR);
        for (const r of [...noise, ...message]) {
          onlyTngErrors(() => {
            const event = assembler.push(r);
            if (event?.type === 'message' && event.payload.length > 7609) throw new Error('oversized message');
          });
        }
        return true;
      }),
    },
    {
      name: 'CTAPHID packets: any length decodes or fails with fido2.protocol',
      property: fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        onlyTngErrors(() => decodePacket(bytes));
        return true;
      }),
    },
    {
      name: 'CTAPHID channel: random answers end in a value or a TngError, without hanging',
      property: fc.asyncProperty(fc.array(fc.array(report, { maxLength: 6 }), { maxLength: 5 }), fc.integer({ min: 0, max: 7 }), async (script, initMode) => {
        const answerInit = initMode > 0;
        const answers = [...script];
        const device = new ScriptedDevice((written, d) => {
          const packet = decodePacket(written);
          if (packet.kind === 'init' && packet.cmd === CTAPHID.INIT && packet.cid === BROADCAST_CID && answerInit) {
            for (const r of encodeMessage(BROADCAST_CID, CTAPHID.INIT, initAnswer(packet.data.subarray(0, 8), CID, 0x05))) d.push(r);
          }
        });
        // Reports are handed out on demand; once the script is spent the device goes away, so every run
        // ends quickly (timeouts and cancellation are covered by the unit tests).
        const read = device.read.bind(device);
        device.read = (signal?: AbortSignal) => {
          if (device.pending === 0) {
            for (let next = answers.shift(); next !== undefined; next = device.pending === 0 ? answers.shift() : undefined) {
              for (const r of next) device.push(r);
            }
            if (device.pending === 0) device.end();
          }
          return read(signal);
        };
        const outcome = await onlyTngErrorsAsync(async () => {
          const channel = await CtapHidChannel.open(device, { initTimeoutMs: 50, sleep: async () => undefined, maxBusyRetries: initMode % 2, cancelGraceMs: 10 });
          await channel.cbor(new Uint8Array([0x04]), { timeoutMs: 100 });
        }, 5000);
        channelOutcomes.set(outcome, (channelOutcomes.get(outcome) ?? 0) + 1);
        return true;
      }),
    },
    {
      name: 'CBOR: mutated canonical encodings decode (and re-encode identically) or fail with fido2.protocol',
      property: fc.property(cborValue.chain((v) => mutated(encodeCbor(v))), (bytes) => {
        let decoded: unknown;
        try {
          decoded = decodeCbor(bytes);
        } catch (error) {
          if (error instanceof TngError && error.code === 'fido2.protocol') return true;
          throw error;
        }
        if (!isCanonicalCbor(bytes)) throw new Error('decoded non-canonical input');
        if (contains(decoded, (v) => v === -(2n ** 64n))) return true; // the one integer cbor-x cannot write back
        return Buffer.compare(encodeCbor(decoded), bytes) === 0;
      }),
    },
    {
      name: 'CBOR: generated values round-trip canonically',
      property: fc.property(cborValue, (value) => {
        const bytes = encodeCbor(value);
        return isCanonicalCbor(bytes) && sameValue(decodeCbor(bytes), normalise(value));
      }),
    },
    {
      name: 'CTAP2 responses: mutated getInfo / makeCredential / getAssertion / clientPIN answers parse or fail with a TngError',
      property: fc.property(
        fc.oneof(
          mutated(concatBytes(new Uint8Array([0]), INFO)),
          mutated(concatBytes(new Uint8Array([0]), MC_RESP)),
          mutated(concatBytes(new Uint8Array([0]), GA_RESP)),
          mutated(concatBytes(new Uint8Array([0]), encodeCbor(new Map<number, unknown>([[1, new Map<number, unknown>([[1, 2], [3, -25], [-1, 1], [-2, new Uint8Array(32)], [-3, new Uint8Array(32)]])], [2, new Uint8Array(48)], [3, 8]])))),
          fc.uint8Array({ maxLength: 64 }),
        ),
        (response) => {
          onlyTngErrors(() => {
            const map = parseCborResponse(response);
            for (const parse of [parseInfo, parseMakeCredentialResponse, (m: CborMap) => parseGetAssertionResponse(m), parseClientPinResponse]) {
              onlyTngErrors(() => parse(map));
            }
          });
          return true;
        },
      ),
    },
    {
      name: 'CTAP2 responses: structurally random maps are accepted or refused with a TngError',
      property: fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 16 }), cborValue), { maxLength: 8 }).map((entries) => new Map<number, unknown>(entries)),
        (map) => {
          for (const parse of [parseInfo, parseMakeCredentialResponse, (m: CborMap) => parseGetAssertionResponse(m), parseClientPinResponse]) {
            onlyTngErrors(() => parse(map));
          }
          onlyTngErrors(() => coseToKeyObject(map));
          return true;
        },
      ),
    },
    {
      name: 'authenticator data, hmac-secret output and assertion checks: malformed input never escapes as a non-TngError',
      property: fc.property(
        fc.oneof(mutated(AUTH_DATA_MC), mutated(AUTH_DATA_GA), fc.uint8Array({ maxLength: 120 })),
        fc.uint8Array({ maxLength: 100 }),
        (authData, blob) => {
          onlyTngErrors(() => parseAuthenticatorData(authData));
          onlyTngErrors(() => decryptHmacSecretOutput(new PinProtocolV1(), new Uint8Array(32), blob, 1));
          onlyTngErrors(() => decryptHmacSecretOutput(new PinProtocolV2(), new Uint8Array(64), blob, 2));
          const result = verifyAssertion({
            publicKey: blob,
            rpId: 'example.com',
            authData,
            clientDataHash: new Uint8Array(32),
            signature: blob,
          });
          return result.ok === false;
        },
      ),
    },
  ];
}

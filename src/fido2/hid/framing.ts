/**
 * CTAPHID framing (CTAP 2.1 §11.2.4): 64-byte reports, an initialization packet
 * `CID[4] | 0x80|CMD | BCNT[2] | data[57]` followed by continuation packets `CID[4] | SEQ | data[59]`.
 * Pure functions and a small reassembly state machine; no I/O.
 */
import { fidoError, protocolError } from '../errors.ts';

export const REPORT_SIZE = 64;
export const INIT_DATA_SIZE = REPORT_SIZE - 7; // 57
export const CONT_DATA_SIZE = REPORT_SIZE - 5; // 59
export const MAX_SEQ = 0x7f;
/** 57 + 128 × 59 = 7609 bytes. */
export const MAX_MESSAGE_SIZE = INIT_DATA_SIZE + (MAX_SEQ + 1) * CONT_DATA_SIZE;
export const BROADCAST_CID = 0xffffffff;

/** CTAPHID command values without the 0x80 init bit. */
export const CTAPHID = {
  PING: 0x01,
  MSG: 0x03,
  LOCK: 0x04,
  INIT: 0x06,
  WINK: 0x08,
  CBOR: 0x10,
  CANCEL: 0x11,
  KEEPALIVE: 0x3b,
  ERROR: 0x3f,
} as const;

/** Payload byte of a CTAPHID_ERROR frame. */
export const CTAPHID_ERROR = {
  INVALID_CMD: 0x01,
  INVALID_PAR: 0x02,
  INVALID_LEN: 0x03,
  INVALID_SEQ: 0x04,
  MSG_TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  LOCK_REQUIRED: 0x0a,
  INVALID_CHANNEL: 0x0b,
  OTHER: 0x7f,
} as const;

export const KEEPALIVE_STATUS = { PROCESSING: 0x01, UPNEEDED: 0x02 } as const;

export const CAPABILITY = { WINK: 0x01, LOCK: 0x02, CBOR: 0x04, NMSG: 0x08 } as const;

export type Packet =
  | { kind: 'init'; cid: number; cmd: number; bcnt: number; data: Uint8Array }
  | { kind: 'cont'; cid: number; seq: number; data: Uint8Array };

/** Splits one message into reports. A zero-length message is still one init packet with BCNT 0. */
export function encodeMessage(cid: number, cmd: number, payload: Uint8Array): Uint8Array[] {
  if (payload.length > MAX_MESSAGE_SIZE) {
    throw fidoError(
      'fido2.request-too-large',
      `A CTAPHID message of ${payload.length} bytes exceeds the ${MAX_MESSAGE_SIZE}-byte limit.`,
    );
  }
  if (!Number.isInteger(cmd) || cmd < 0 || cmd > 0x7f) throw new RangeError(`bad CTAPHID command ${cmd}`);
  const reports: Uint8Array[] = [];
  const first = new Uint8Array(REPORT_SIZE);
  const view = new DataView(first.buffer);
  view.setUint32(0, cid >>> 0);
  first[4] = 0x80 | cmd;
  view.setUint16(5, payload.length);
  first.set(payload.subarray(0, INIT_DATA_SIZE), 7);
  reports.push(first);
  let offset = INIT_DATA_SIZE;
  for (let seq = 0; offset < payload.length; seq++) {
    const report = new Uint8Array(REPORT_SIZE);
    new DataView(report.buffer).setUint32(0, cid >>> 0);
    report[4] = seq;
    report.set(payload.subarray(offset, offset + CONT_DATA_SIZE), 5);
    reports.push(report);
    offset += CONT_DATA_SIZE;
  }
  return reports;
}

/** Decodes the header of one 64-byte report. */
export function decodePacket(report: Uint8Array): Packet {
  if (report.length !== REPORT_SIZE) {
    throw protocolError(`a HID report of ${report.length} bytes (expected ${REPORT_SIZE})`);
  }
  const view = new DataView(report.buffer, report.byteOffset, report.byteLength);
  const cid = view.getUint32(0);
  const byte4 = report[4] as number;
  if (byte4 & 0x80) {
    return { kind: 'init', cid, cmd: byte4 & 0x7f, bcnt: view.getUint16(5), data: report.subarray(7) };
  }
  return { kind: 'cont', cid, seq: byte4, data: report.subarray(5) };
}

export type FrameEvent =
  | { type: 'keepalive'; status: number }
  | { type: 'error'; code: number }
  | { type: 'message'; cmd: number; payload: Uint8Array };

/**
 * Reassembles the answer on one channel. Feed every report read from the device; reports of other
 * channels are ignored (`undefined`). KEEPALIVE and ERROR frames come back as events; the message
 * event carries the payload truncated to BCNT. Malformed sequences throw `fido2.protocol`.
 */
export class MessageAssembler {
  private cmd = -1;
  private expected = 0;
  private buffer: Uint8Array | undefined;
  private filled = 0;
  private nextSeq = 0;

  constructor(
    readonly cid: number,
    /** When set, an init packet with any other command (besides KEEPALIVE/ERROR) is a protocol error. */
    readonly expectedCmd?: number,
  ) {}

  /** True while a multi-packet message is half-read. */
  get inProgress(): boolean {
    return this.buffer !== undefined;
  }

  reset(): void {
    this.buffer = undefined;
    this.filled = 0;
    this.nextSeq = 0;
    this.cmd = -1;
  }

  push(report: Uint8Array): FrameEvent | undefined {
    const packet = decodePacket(report);
    if (packet.cid !== this.cid >>> 0) return undefined;
    if (packet.kind === 'init') {
      if (this.buffer !== undefined) {
        this.reset();
        throw protocolError('an initialization packet in the middle of a message');
      }
      if (packet.cmd === CTAPHID.KEEPALIVE) {
        if (packet.bcnt < 1) throw protocolError('an empty KEEPALIVE frame');
        return { type: 'keepalive', status: packet.data[0] as number };
      }
      if (packet.cmd === CTAPHID.ERROR) {
        if (packet.bcnt < 1) throw protocolError('an empty ERROR frame');
        return { type: 'error', code: packet.data[0] as number };
      }
      if (this.expectedCmd !== undefined && packet.cmd !== this.expectedCmd) {
        throw protocolError(`an answer to command 0x${packet.cmd.toString(16)} (expected 0x${this.expectedCmd.toString(16)})`);
      }
      if (packet.bcnt > MAX_MESSAGE_SIZE) throw protocolError(`a message length of ${packet.bcnt} bytes`);
      if (packet.bcnt <= INIT_DATA_SIZE) {
        return { type: 'message', cmd: packet.cmd, payload: packet.data.slice(0, packet.bcnt) };
      }
      this.cmd = packet.cmd;
      this.expected = packet.bcnt;
      this.buffer = new Uint8Array(packet.bcnt);
      this.buffer.set(packet.data, 0);
      this.filled = INIT_DATA_SIZE;
      this.nextSeq = 0;
      return undefined;
    }
    if (this.buffer === undefined) throw protocolError('a continuation packet without an initialization packet');
    if (packet.seq !== this.nextSeq) {
      const expected = this.nextSeq;
      this.reset();
      throw protocolError(`continuation packet SEQ ${packet.seq} (expected ${expected})`);
    }
    const take = Math.min(CONT_DATA_SIZE, this.expected - this.filled);
    this.buffer.set(packet.data.subarray(0, take), this.filled);
    this.filled += take;
    this.nextSeq++;
    if (this.filled < this.expected) return undefined;
    const event: FrameEvent = { type: 'message', cmd: this.cmd, payload: this.buffer };
    this.reset();
    return event;
  }
}

/** Convenience for tests and tools: reassembles a whole list of reports into the first complete message. */
export function decodeMessage(cid: number, reports: Iterable<Uint8Array>): { cmd: number; payload: Uint8Array } {
  const assembler = new MessageAssembler(cid);
  for (const report of reports) {
    const event = assembler.push(report);
    if (event?.type === 'message') return { cmd: event.cmd, payload: event.payload };
  }
  throw protocolError('an incomplete message');
}

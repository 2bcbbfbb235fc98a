/**
 * A small CTAPHID host for the virtual authenticator's own tests: raw report access for framing
 * corner cases, plus message-level request/response with keepalive handling. CBOR is encoded and
 * decoded with cbor-x (not the authenticator's codec), so the two sides check each other.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Decoder, Encoder } from 'cbor-x';

export const REPORT = 64;
export const BROADCAST = 0xffffffff;

// useTag259ForMaps is honoured by cbor-x's encoder but missing from its typings.
const encoderOptions: ConstructorParameters<typeof Encoder>[0] & { useTag259ForMaps: boolean } = {
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  useTag259ForMaps: false,
  variableMapSize: true,
};
const cborEncoder = new Encoder(encoderOptions);
const cborDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });

/** Encodes with cbor-x; callers build Maps in canonical key order. */
export function cborEncode(value: unknown): Buffer {
  return Buffer.from(cborEncoder.encode(value));
}

export function cborDecode(data: Uint8Array): any {
  return cborDecoder.decode(Buffer.from(data));
}

/** Decodes consecutive CBOR items (e.g. a COSE key followed by extensions in authenticator data). */
export function cborDecodeAll(data: Uint8Array): any[] {
  return (cborDecoder.decodeMultiple(Buffer.from(data)) as unknown as any[] | undefined) ?? [];
}

export interface Message {
  cid: number;
  cmd: number;
  payload: Buffer;
}

export class TestHidClient {
  cid = BROADCAST;
  capabilities = 0;
  readonly keepalives: number[] = [];
  private readonly queue: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private pending = Buffer.alloc(0);
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.pending = Buffer.concat([this.pending, d]);
      while (this.pending.length >= REPORT) {
        this.queue.push(this.pending.subarray(0, REPORT));
        this.pending = this.pending.subarray(REPORT);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  static connect(path: string): Promise<TestHidClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new TestHidClient(s)));
      s.once('error', reject);
    });
  }

  /** Opens a connection and allocates a channel. */
  static async open(path: string): Promise<TestHidClient> {
    const c = await TestHidClient.connect(path);
    await c.init();
    return c;
  }

  close(): void {
    this.socket.destroy();
  }

  closedPromise(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  sendReport(report: Buffer): void {
    if (report.length !== REPORT) throw new Error('report must be 64 bytes');
    this.socket.write(report);
  }

  static initPacket(cid: number, cmd: number, bcnt: number, data: Buffer = Buffer.alloc(0)): Buffer {
    const r = Buffer.alloc(REPORT);
    r.writeUInt32BE(cid, 0);
    r[4] = 0x80 | cmd;
    r.writeUInt16BE(bcnt, 5);
    data.copy(r, 7, 0, Math.min(57, data.length));
    return r;
  }

  static contPacket(cid: number, seq: number, data: Buffer): Buffer {
    const r = Buffer.alloc(REPORT);
    r.writeUInt32BE(cid, 0);
    r[4] = seq;
    data.copy(r, 5, 0, Math.min(59, data.length));
    return r;
  }

  /** Splits a message into reports. */
  static frames(cid: number, cmd: number, payload: Buffer): Buffer[] {
    const out = [TestHidClient.initPacket(cid, cmd, payload.length, payload.subarray(0, 57))];
    for (let off = 57, seq = 0; off < payload.length; off += 59, seq++) out.push(TestHidClient.contPacket(cid, seq, payload.subarray(off, off + 59)));
    return out;
  }

  /** Next report, or undefined after `timeoutMs` / when the connection closed. */
  async nextReport(timeoutMs = 5000): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.queue.shift();
      if (r) return r;
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Reads one whole message (any command, keepalives included) from the authenticator. */
  async readMessage(timeoutMs = 5000): Promise<Message> {
    const first = await this.nextReport(timeoutMs);
    if (!first) throw new Error(this.closed ? 'connection closed' : 'timed out waiting for a report');
    if ((first[4]! & 0x80) === 0) throw new Error('expected an initialization packet');
    const cid = first.readUInt32BE(0);
    const cmd = first[4]! & 0x7f;
    const bcnt = first.readUInt16BE(5);
    const chunks = [first.subarray(7)];
    let have = 57;
    for (let seq = 0; have < bcnt; seq++) {
      const r = await this.nextReport(timeoutMs);
      if (!r) throw new Error('missing continuation packet');
      if (r.readUInt32BE(0) !== cid || r[4] !== seq) throw new Error(`bad continuation (seq ${r[4]}, want ${seq})`);
      chunks.push(r.subarray(5));
      have += 59;
    }
    return { cid, cmd, payload: Buffer.concat(chunks).subarray(0, bcnt) };
  }

  /** Reads messages until one that is not a KEEPALIVE (recording keepalive statuses). */
  async readResponse(timeoutMs = 5000): Promise<Message> {
    for (;;) {
      const m = await this.readMessage(timeoutMs);
      if (m.cmd === 0x3b) {
        this.keepalives.push(m.payload[0]!);
        continue;
      }
      return m;
    }
  }

  send(cmd: number, payload: Buffer = Buffer.alloc(0), cid = this.cid): void {
    for (const f of TestHidClient.frames(cid, cmd, payload)) this.sendReport(f);
  }

  async request(cmd: number, payload: Buffer = Buffer.alloc(0), timeoutMs = 5000): Promise<Message> {
    this.send(cmd, payload);
    return this.readResponse(timeoutMs);
  }

  async init(): Promise<Buffer> {
    const nonce = randomBytes(8);
    this.send(0x06, nonce, BROADCAST);
    const m = await this.readResponse();
    if (m.cmd !== 0x06 || !m.payload.subarray(0, 8).equals(nonce)) throw new Error('bad INIT response');
    this.cid = m.payload.readUInt32BE(8);
    this.capabilities = m.payload[16]!;
    return m.payload;
  }

  /** A CTAP2 command; returns the status byte and the decoded response map (if any). */
  async ctap(command: number, params?: Map<number, unknown>, timeoutMs = 5000): Promise<{ status: number; body: any; raw: Buffer }> {
    const payload = params ? Buffer.concat([Buffer.from([command]), cborEncode(params)]) : Buffer.from([command]);
    const m = await this.request(0x10, payload, timeoutMs);
    if (m.cmd === 0x3f) throw new Error(`CTAPHID error 0x${m.payload[0]!.toString(16)}`);
    if (m.cmd !== 0x10) throw new Error(`unexpected response command 0x${m.cmd.toString(16)}`);
    const status = m.payload[0]!;
    const raw = m.payload.subarray(1);
    return { status, body: raw.length ? cborDecode(raw) : undefined, raw };
  }
}

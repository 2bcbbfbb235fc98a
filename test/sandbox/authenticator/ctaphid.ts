/**
 * CTAPHID over a UNIX stream socket: every connection carries raw 64-byte reports both ways (no
 * report-ID byte). Channels belong to the authenticator, not to a connection; a response goes to the
 * connection that sent the request. One transaction at a time across all channels, as on a real key.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { AuthenticatorCore } from './ctap2.ts';
import { FIRMWARE } from './ctap2.ts';
import { CTAP2_ERR_KEEPALIVE_CANCEL, TouchError, type TouchController } from './touch.ts';

export const REPORT_SIZE = 64;
export const BROADCAST_CID = 0xffffffff;
const INIT_DATA = REPORT_SIZE - 7; // 57
const CONT_DATA = REPORT_SIZE - 5; // 59
export const MAX_MESSAGE = INIT_DATA + 128 * CONT_DATA; // 7609
const CONTINUATION_TIMEOUT_MS = 500;
const KEEPALIVE_INTERVAL_MS = 100;

export const HID_CMD = {
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

export const HID_ERR = {
  INVALID_CMD: 0x01,
  INVALID_PAR: 0x02,
  INVALID_LEN: 0x03,
  INVALID_SEQ: 0x04,
  MSG_TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  INVALID_CHANNEL: 0x0b,
} as const;

const STATUS_PROCESSING = 0x01;
const STATUS_UPNEEDED = 0x02;

const CAP_WINK = 0x01;
const CAP_CBOR = 0x04;
const CAP_NMSG = 0x08;

interface Connection {
  socket: Socket;
  pending: Buffer;
  open: boolean;
}

interface Transaction {
  cid: number;
  conn: Connection;
  cmd: number;
  bcnt: number;
  chunks: Buffer[];
  received: number;
  nextSeq: number;
  phase: 'receiving' | 'processing';
  timer?: NodeJS.Timeout;
  keepalive?: NodeJS.Timeout;
  status: number;
  controller?: AbortController;
}

/** Abort reasons that end a request without any response (the host is gone or resynchronised). */
class SilentAbort extends Error {}

export interface HidOptions {
  u2fOnly: boolean;
}

export class CtapHidServer {
  readonly stats = { cancels: 0, keepalivesSent: 0 };
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly channels = new Set<number>();
  private tx: Transaction | undefined;
  private lock: { cid: number; until: number } | undefined;

  constructor(
    private readonly core: AuthenticatorCore,
    private readonly touch: TouchController,
    private readonly options: HidOptions,
    private readonly onUnplug: () => void,
  ) {
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The key is pulled out: every connection closes, channels and the pending request vanish. */
  unplug(): void {
    this.dropAll();
    this.channels.clear();
    this.lock = undefined;
    this.onUnplug();
  }

  private dropAll(): void {
    this.abortTransaction(new SilentAbort('device gone'));
    this.touch.abortAll(new SilentAbort('device gone'));
    for (const c of this.connections) {
      c.open = false;
      c.socket.destroy();
    }
    this.connections.clear();
  }

  private accept(socket: Socket): void {
    const conn: Connection = { socket, pending: Buffer.alloc(0), open: true };
    this.connections.add(conn);
    socket.on('data', (data: Buffer) => {
      conn.pending = conn.pending.length ? Buffer.concat([conn.pending, data]) : data;
      while (conn.open && conn.pending.length >= REPORT_SIZE) {
        const report = conn.pending.subarray(0, REPORT_SIZE);
        conn.pending = conn.pending.subarray(REPORT_SIZE);
        this.onReport(conn, Buffer.from(report));
      }
    });
    const gone = (): void => {
      if (!conn.open) return;
      conn.open = false;
      this.connections.delete(conn);
      if (this.tx?.conn === conn) this.abortTransaction(new SilentAbort('connection closed'));
    };
    socket.on('close', gone);
    socket.on('error', gone);
  }

  // --- output -------------------------------------------------------------------------------

  private send(conn: Connection, cid: number, cmd: number, payload: Buffer): void {
    if (!conn.open) return;
    const frames: Buffer[] = [];
    const first = Buffer.alloc(REPORT_SIZE);
    first.writeUInt32BE(cid, 0);
    first[4] = 0x80 | cmd;
    first.writeUInt16BE(payload.length, 5);
    payload.copy(first, 7, 0, Math.min(INIT_DATA, payload.length));
    frames.push(first);
    for (let off = INIT_DATA, seq = 0; off < payload.length; off += CONT_DATA, seq++) {
      const f = Buffer.alloc(REPORT_SIZE);
      f.writeUInt32BE(cid, 0);
      f[4] = seq;
      payload.copy(f, 5, off, Math.min(off + CONT_DATA, payload.length));
      frames.push(f);
    }
    conn.socket.write(Buffer.concat(frames));
  }

  private error(conn: Connection, cid: number, code: number): void {
    this.send(conn, cid, HID_CMD.ERROR, Buffer.from([code]));
  }

  // --- input --------------------------------------------------------------------------------

  private onReport(conn: Connection, report: Buffer): void {
    const cid = report.readUInt32BE(0);
    const isInit = (report[4]! & 0x80) !== 0;
    if (cid === 0) {
      if (isInit) this.error(conn, cid, HID_ERR.INVALID_CHANNEL);
      return;
    }
    if (!isInit) {
      this.onContinuation(conn, cid, report);
      return;
    }
    const cmd = report[4]! & 0x7f;
    const bcnt = report.readUInt16BE(5);

    if (cmd === HID_CMD.INIT) {
      this.onInit(conn, cid, bcnt, report.subarray(7, 7 + Math.min(bcnt, INIT_DATA)));
      return;
    }
    if (cid === BROADCAST_CID || !this.channels.has(cid)) {
      this.error(conn, cid, HID_ERR.INVALID_CHANNEL);
      return;
    }
    if (cmd === HID_CMD.CANCEL) {
      this.stats.cancels++;
      const tx = this.tx;
      if (tx && tx.cid === cid && tx.phase === 'processing' && tx.controller) {
        tx.controller.abort(new TouchError(CTAP2_ERR_KEEPALIVE_CANCEL));
      }
      return; // CANCEL never gets a response
    }
    if (this.tx) {
      if (this.tx.cid === cid && this.tx.phase === 'receiving') {
        // A new request on a channel that was mid-message: the old one is garbage.
        this.abortTransaction(new SilentAbort('resync'));
        this.error(conn, cid, HID_ERR.INVALID_SEQ);
      } else {
        this.error(conn, cid, HID_ERR.CHANNEL_BUSY);
      }
      return;
    }
    if (this.lock && this.lock.cid !== cid && Date.now() < this.lock.until) {
      this.error(conn, cid, HID_ERR.CHANNEL_BUSY);
      return;
    }
    if (bcnt > MAX_MESSAGE) {
      this.error(conn, cid, HID_ERR.INVALID_LEN);
      return;
    }
    const first = report.subarray(7, 7 + Math.min(bcnt, INIT_DATA));
    const tx: Transaction = {
      cid,
      conn,
      cmd,
      bcnt,
      chunks: [Buffer.from(first)],
      received: first.length,
      nextSeq: 0,
      phase: 'receiving',
      status: STATUS_PROCESSING,
    };
    this.tx = tx;
    if (tx.received >= bcnt) this.dispatch(tx);
    else this.armContinuationTimer(tx);
  }

  private armContinuationTimer(tx: Transaction): void {
    if (tx.timer) clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      if (this.tx !== tx) return;
      this.tx = undefined;
      this.error(tx.conn, tx.cid, HID_ERR.MSG_TIMEOUT);
    }, CONTINUATION_TIMEOUT_MS);
  }

  private onContinuation(conn: Connection, cid: number, report: Buffer): void {
    const tx = this.tx;
    // Spurious continuation packets (no message being received on this channel) are ignored.
    if (!tx || tx.cid !== cid || tx.phase !== 'receiving') return;
    const seq = report[4]!;
    if (seq !== tx.nextSeq || conn !== tx.conn) {
      this.abortTransaction(new SilentAbort('bad sequence'));
      this.error(conn, cid, HID_ERR.INVALID_SEQ);
      return;
    }
    tx.nextSeq++;
    const take = Math.min(CONT_DATA, tx.bcnt - tx.received);
    tx.chunks.push(Buffer.from(report.subarray(5, 5 + take)));
    tx.received += take;
    if (tx.received >= tx.bcnt) this.dispatch(tx);
    else this.armContinuationTimer(tx);
  }

  private onInit(conn: Connection, cid: number, bcnt: number, nonce: Buffer): void {
    if (bcnt !== 8) {
      this.error(conn, cid, HID_ERR.INVALID_LEN);
      return;
    }
    let channel: number;
    if (cid === BROADCAST_CID) {
      do channel = randomBytes(4).readUInt32BE(0);
      while (channel === 0 || channel === BROADCAST_CID || this.channels.has(channel));
      this.channels.add(channel);
    } else if (this.channels.has(cid)) {
      channel = cid;
      if (this.tx?.cid === cid) this.abortTransaction(new SilentAbort('resync'));
    } else {
      this.error(conn, cid, HID_ERR.INVALID_CHANNEL);
      return;
    }
    const caps = CAP_WINK | (this.options.u2fOnly ? 0 : CAP_CBOR) | (this.core.u2f ? 0 : CAP_NMSG);
    const payload = Buffer.alloc(17);
    nonce.copy(payload, 0, 0, 8);
    payload.writeUInt32BE(channel, 8);
    payload[12] = 2; // CTAPHID protocol version
    payload[13] = FIRMWARE[0];
    payload[14] = FIRMWARE[1];
    payload[15] = FIRMWARE[2];
    payload[16] = caps;
    this.send(conn, cid, HID_CMD.INIT, payload);
  }

  private abortTransaction(reason: Error): void {
    const tx = this.tx;
    if (!tx) return;
    this.tx = undefined;
    if (tx.timer) clearTimeout(tx.timer);
    if (tx.keepalive) clearInterval(tx.keepalive);
    tx.controller?.abort(reason);
  }

  private finish(tx: Transaction, cmd: number, payload: Buffer): void {
    if (this.tx !== tx) return; // aborted meanwhile
    this.tx = undefined;
    if (tx.timer) clearTimeout(tx.timer);
    if (tx.keepalive) clearInterval(tx.keepalive);
    this.send(tx.conn, tx.cid, cmd, payload);
  }

  private finishError(tx: Transaction, code: number): void {
    if (this.tx !== tx) return;
    this.tx = undefined;
    if (tx.timer) clearTimeout(tx.timer);
    this.error(tx.conn, tx.cid, code);
  }

  private dispatch(tx: Transaction): void {
    if (tx.timer) clearTimeout(tx.timer);
    tx.timer = undefined;
    tx.phase = 'processing';
    const data = Buffer.concat(tx.chunks).subarray(0, tx.bcnt);
    switch (tx.cmd) {
      case HID_CMD.PING:
        this.finish(tx, HID_CMD.PING, data);
        return;
      case HID_CMD.WINK:
        if (data.length !== 0) this.finishError(tx, HID_ERR.INVALID_LEN);
        else this.finish(tx, HID_CMD.WINK, Buffer.alloc(0));
        return;
      case HID_CMD.LOCK: {
        if (data.length !== 1) {
          this.finishError(tx, HID_ERR.INVALID_LEN);
          return;
        }
        const seconds = data[0]!;
        if (seconds > 10) {
          this.finishError(tx, HID_ERR.INVALID_PAR);
          return;
        }
        this.lock = seconds === 0 ? undefined : { cid: tx.cid, until: Date.now() + seconds * 1000 };
        this.finish(tx, HID_CMD.LOCK, Buffer.alloc(0));
        return;
      }
      case HID_CMD.MSG:
        if (!this.core.u2f) this.finishError(tx, HID_ERR.INVALID_CMD);
        else this.finish(tx, HID_CMD.MSG, this.core.handleU2f(data, this.touch));
        return;
      case HID_CMD.CBOR:
        if (this.options.u2fOnly) this.finishError(tx, HID_ERR.INVALID_CMD);
        else if (data.length === 0) this.finishError(tx, HID_ERR.INVALID_LEN);
        else this.processCbor(tx, data);
        return;
      default:
        this.finishError(tx, HID_ERR.INVALID_CMD);
    }
  }

  private sendKeepalive(tx: Transaction): void {
    if (this.tx !== tx || !tx.conn.open) return;
    this.stats.keepalivesSent++;
    this.send(tx.conn, tx.cid, HID_CMD.KEEPALIVE, Buffer.from([tx.status]));
  }

  private processCbor(tx: Transaction, data: Buffer): void {
    const controller = new AbortController();
    tx.controller = controller;
    tx.keepalive = setInterval(() => this.sendKeepalive(tx), KEEPALIVE_INTERVAL_MS);
    const ctx = {
      cid: tx.cid,
      signal: controller.signal,
      waitForTouch: async (): Promise<void> => {
        tx.status = STATUS_UPNEEDED;
        this.sendKeepalive(tx);
        try {
          await this.touch.wait(controller.signal);
        } finally {
          tx.status = STATUS_PROCESSING;
        }
      },
    };
    this.core.handleCbor(data, ctx).then(
      (response) => this.finish(tx, HID_CMD.CBOR, response),
      (err: unknown) => {
        if (err instanceof SilentAbort || this.tx !== tx) return;
        // A bug in the sandbox: answer like a device with an internal error rather than hanging.
        console.error('virtual authenticator: internal error', err);
        this.finish(tx, HID_CMD.CBOR, Buffer.from([0x7f]));
      },
    );
  }
}

/**
 * CTAPHID channel over any 64-byte report device: INIT / channel allocation, one transaction at a time,
 * KEEPALIVE notifications, CANCEL on abort, CHANNEL_BUSY retries, per-call timeouts.
 */
import { randomBytes } from 'node:crypto';
import { TngError } from '../../errors.ts';
import { fidoError, hintFor, interruptedError, protocolError } from '../errors.ts';
import { bytesEqual, concatBytes, sleep as defaultSleep } from '../util.ts';
import {
  BROADCAST_CID,
  CAPABILITY,
  CTAPHID,
  CTAPHID_ERROR,
  type FrameEvent,
  MessageAssembler,
  encodeMessage,
} from './framing.ts';

/** One HID-like device: 64-byte reports in and out, no report-ID byte. */
export interface ReportDevice {
  write(report: Uint8Array): Promise<void>;
  /** The next report; rejects with an AbortError when the signal fires (no report is lost). */
  read(signal?: AbortSignal): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Called when the KEEPALIVE status changes (PROCESSING 0x01, UPNEEDED 0x02). */
  onKeepalive?: (status: number) => void;
  /** Give up (after CANCEL) when no answer came within this time. */
  timeoutMs?: number;
}

export interface ChannelOptions {
  /** Shown in error messages. */
  name?: string;
  signal?: AbortSignal;
  /** Timeout of the INIT exchange (default 3 s). */
  initTimeoutMs?: number;
  /** Default per-call timeout (default 10 s). */
  timeoutMs?: number;
  /** Pause between CHANNEL_BUSY retries (default 100 ms) and how many retries (default 30). */
  busyRetryMs?: number;
  maxBusyRetries?: number;
  /** How long to wait for the cancelled request's answer after CTAPHID_CANCEL (default 1 s). */
  cancelGraceMs?: number;
  random?: (size: number) => Uint8Array;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const HID_ERROR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(CTAPHID_ERROR).map(([name, value]) => [value, name]),
);

/** A CTAPHID_ERROR frame from the authenticator. */
export class CtapHidError extends TngError {
  readonly hidCode: number;
  readonly hidName: string;

  constructor(hidCode: number, cause?: unknown) {
    const hidName = HID_ERROR_NAMES[hidCode] ?? `0x${hidCode.toString(16).padStart(2, '0')}`;
    const code =
      hidCode === CTAPHID_ERROR.CHANNEL_BUSY
        ? 'fido2.busy'
        : hidCode === CTAPHID_ERROR.INVALID_CMD
          ? 'fido2.not-supported'
          : hidCode === CTAPHID_ERROR.MSG_TIMEOUT
            ? 'fido2.timeout'
            : 'fido2.protocol';
    const message =
      hidCode === CTAPHID_ERROR.CHANNEL_BUSY
        ? 'The authenticator is busy with another program.'
        : `The authenticator reported the CTAPHID error ${hidName}.`;
    super('authenticator', code, message, { hint: hintFor(code), cause });
    this.hidCode = hidCode;
    this.hidName = hidName;
  }
}

export interface InitResponse {
  cid: number;
  protocolVersion: number;
  deviceVersion: [number, number, number];
  capabilities: number;
}

type Outcome = { kind: 'user' } | { kind: 'timeout'; ms: number };

export class CtapHidChannel {
  private queue: Promise<unknown> = Promise.resolve();
  private dirty = false;
  private closed = false;
  private readonly random: (size: number) => Uint8Array;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  private constructor(
    readonly device: ReportDevice,
    private initResponse: InitResponse,
    private readonly options: ChannelOptions,
  ) {
    this.random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Allocates a channel with CTAPHID_INIT on the broadcast CID. */
  static async open(device: ReportDevice, options: ChannelOptions = {}): Promise<CtapHidChannel> {
    const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
    const init = await exchangeInit(device, BROADCAST_CID, random(8), options.initTimeoutMs ?? 3000, options.signal);
    if (init.cid === 0 || init.cid === BROADCAST_CID) throw protocolError(`an allocated channel id 0x${init.cid.toString(16)}`);
    return new CtapHidChannel(device, init, options);
  }

  /** The INIT answer: allocated CID, CTAPHID protocol version, device version, capability flags. */
  get init(): InitResponse {
    return this.initResponse;
  }

  get cid(): number {
    return this.initResponse.cid;
  }

  get name(): string {
    return this.options.name ?? 'authenticator';
  }

  get capabilities(): number {
    return this.init.capabilities;
  }

  /** CTAP2 over CTAPHID_CBOR is available. */
  get supportsCbor(): boolean {
    return (this.init.capabilities & CAPABILITY.CBOR) !== 0;
  }

  get supportsWink(): boolean {
    return (this.init.capabilities & CAPABILITY.WINK) !== 0;
  }

  /** CTAPHID_MSG (U2F) is implemented: the NMSG flag is clear. */
  get supportsMsg(): boolean {
    return (this.init.capabilities & CAPABILITY.NMSG) === 0;
  }

  /** One request/response transaction; calls on the same channel run one at a time. */
  call(cmd: number, payload: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    const run = this.queue.then(
      () => this.transact(cmd, payload, options),
      () => this.transact(cmd, payload, options),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** CTAPHID_CBOR: `cmdByte || params` in, `status || map` out. */
  cbor(request: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return this.call(CTAPHID.CBOR, request, options);
  }

  async ping(data: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return this.call(CTAPHID.PING, data, options);
  }

  async wink(options: CallOptions = {}): Promise<void> {
    await this.call(CTAPHID.WINK, new Uint8Array(0), options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.device.close();
  }

  private async transact(cmd: number, payload: Uint8Array, options: CallOptions): Promise<Uint8Array> {
    if (this.closed) throw fidoError('fido2.unplugged', `The channel to ${this.name} is closed.`);
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 10_000;
    const controller = new AbortController();
    let outcome: Outcome | undefined;
    const onUserAbort = () => {
      outcome ??= { kind: 'user' };
      controller.abort();
    };
    const timer = setTimeout(() => {
      outcome ??= { kind: 'timeout', ms: timeoutMs };
      controller.abort();
    }, timeoutMs);
    const userSignal = options.signal;
    if (userSignal?.aborted) onUserAbort();
    else userSignal?.addEventListener('abort', onUserAbort, { once: true });
    const signal = controller.signal;
    try {
      if (this.dirty) {
        try {
          await this.resync(signal);
        } catch (error) {
          if (outcome) throw this.stopped(outcome, error);
          throw error;
        }
      }
      const reports = encodeMessage(this.cid, cmd, payload);
      const maxBusy = this.options.maxBusyRetries ?? 30;
      for (let attempt = 0; ; attempt++) {
        if (outcome) throw this.stopped(outcome);
        for (const report of reports) await this.device.write(report);
        const assembler = new MessageAssembler(this.cid, cmd);
        let lastStatus = -1;
        let event: Exclude<FrameEvent, { type: 'keepalive' }>;
        try {
          event = await this.receive(assembler, signal, (status) => {
            if (status !== lastStatus) {
              lastStatus = status;
              options.onKeepalive?.(status);
            }
          });
        } catch (error) {
          if (!outcome) {
            if (error instanceof TngError && error.code === 'fido2.protocol') this.dirty = true;
            throw error;
          }
          await this.abandon(cmd, assembler);
          throw this.stopped(outcome, error);
        }
        if (event.type === 'message') return event.payload;
        if (event.code === CTAPHID_ERROR.CHANNEL_BUSY && attempt < maxBusy) {
          try {
            await this.sleep(this.options.busyRetryMs ?? 100, signal);
          } catch (error) {
            throw this.stopped(outcome ?? { kind: 'user' }, error);
          }
          continue;
        }
        if (event.code === CTAPHID_ERROR.INVALID_SEQ || event.code === CTAPHID_ERROR.INVALID_CHANNEL) this.dirty = true;
        throw new CtapHidError(event.code);
      }
    } finally {
      clearTimeout(timer);
      userSignal?.removeEventListener('abort', onUserAbort);
    }
  }

  private stopped(outcome: Outcome, cause?: unknown): TngError {
    if (outcome.kind === 'user') return interruptedError(cause);
    return fidoError(
      'fido2.timeout',
      `${this.name} did not answer within ${Math.round(outcome.ms / 100) / 10} s.`,
      cause,
    );
  }

  private async receive(
    assembler: MessageAssembler,
    signal: AbortSignal,
    onKeepalive: (status: number) => void,
  ): Promise<Exclude<FrameEvent, { type: 'keepalive' }>> {
    for (;;) {
      const report = await this.device.read(signal);
      const event = assembler.push(report);
      if (event === undefined) continue;
      if (event.type === 'keepalive') {
        onKeepalive(event.status);
        continue;
      }
      return event;
    }
  }

  /**
   * After an abort or timeout: tell the authenticator (CTAPHID_CANCEL, which has no answer of its own) and
   * wait briefly for the cancelled request's answer so it does not leak into the next call. If it never
   * comes, the next call resynchronises the channel with INIT first.
   */
  private async abandon(cmd: number, assembler: MessageAssembler): Promise<void> {
    this.dirty = true;
    if (cmd !== CTAPHID.CBOR && cmd !== CTAPHID.MSG) return;
    const grace = new AbortController();
    const timer = setTimeout(() => grace.abort(), this.options.cancelGraceMs ?? 1000);
    try {
      for (const report of encodeMessage(this.cid, CTAPHID.CANCEL, new Uint8Array(0))) await this.device.write(report);
      await this.receive(assembler, grace.signal, () => undefined);
      this.dirty = false;
    } catch {
      // Nothing more to do: the channel stays dirty and is resynchronised before the next call.
    } finally {
      clearTimeout(timer);
    }
  }

  /** INIT on our own CID aborts whatever the channel was doing and skips stale answers. */
  private async resync(signal: AbortSignal): Promise<void> {
    const init = await exchangeInit(this.device, this.cid, this.random(8), this.options.initTimeoutMs ?? 3000, signal);
    // Some authenticators hand out a new CID on resync; keep talking on the one they gave us.
    if (init.cid !== 0 && init.cid !== BROADCAST_CID) this.initResponse = init;
    this.dirty = false;
  }
}

/**
 * Sends CTAPHID_INIT with `nonce` on `cid` and waits for the answer carrying the same nonce, ignoring
 * answers meant for others (other nonces, other channels) and stale packets.
 */
async function exchangeInit(
  device: ReportDevice,
  cid: number,
  nonce: Uint8Array,
  timeoutMs: number,
  outer?: AbortSignal,
): Promise<InitResponse> {
  if (nonce.length !== 8) throw new RangeError('INIT nonce must be 8 bytes');
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort();
  if (outer?.aborted) controller.abort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  try {
    for (const report of encodeMessage(cid, CTAPHID.INIT, nonce)) await device.write(report);
    const assembler = new MessageAssembler(cid);
    for (;;) {
      let event: FrameEvent | undefined;
      try {
        event = assembler.push(await device.read(controller.signal));
      } catch (error) {
        if (controller.signal.aborted) {
          if (timedOut) {
            throw fidoError('fido2.timeout', `The device did not answer CTAPHID_INIT within ${timeoutMs / 1000} s.`, error);
          }
          throw interruptedError(error);
        }
        if (error instanceof TngError && error.code === 'fido2.protocol') {
          assembler.reset();
          continue; // garbage or a stale fragment on this channel: keep waiting for our answer
        }
        throw error;
      }
      if (event === undefined || event.type === 'keepalive') continue;
      if (event.type === 'error') {
        if (cid === BROADCAST_CID) throw new CtapHidError(event.code);
        continue; // resync on our own channel: possibly the stale error answer of the abandoned request
      }
      if (event.cmd !== CTAPHID.INIT) continue; // a stale answer to an abandoned request
      const payload = event.payload;
      if (payload.length < 17) {
        if (payload.length >= 8 && bytesEqual(payload.subarray(0, 8), nonce)) {
          throw protocolError(`a ${payload.length}-byte INIT answer`);
        }
        continue;
      }
      if (!bytesEqual(payload.subarray(0, 8), nonce)) continue; // another program's INIT
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      return {
        cid: view.getUint32(8),
        protocolVersion: payload[12] as number,
        deviceVersion: [payload[13] as number, payload[14] as number, payload[15] as number],
        capabilities: payload[16] as number,
      };
    }
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

/** For tests and tools: the 17-byte INIT answer payload. */
export function initAnswer(nonce: Uint8Array, cid: number, capabilities: number, version: [number, number, number] = [5, 4, 3]): Uint8Array {
  const tail = new Uint8Array(9);
  new DataView(tail.buffer).setUint32(0, cid >>> 0);
  tail[4] = 2;
  tail.set(version, 5);
  tail[8] = capabilities;
  return concatBytes(nonce, tail);
}

/**
 * A ReportDevice over a UNIX stream socket (`TNG_FIDO2_DEVICE=unix:PATH`): raw 64-byte CTAPHID reports in
 * both directions, no report-ID byte. The stream may split or merge reports; reads are buffered to
 * 64-byte boundaries.
 */
import { type Socket, createConnection } from 'node:net';
import type { TngError } from '../../errors.ts';
import { fidoError, interruptedError, unpluggedError } from '../errors.ts';
import { abortReason } from '../util.ts';
import { REPORT_SIZE } from './framing.ts';
import { ReportQueue } from './queue.ts';
import type { ReportDevice } from './transport.ts';

export interface UnixDeviceOptions {
  signal?: AbortSignal;
  /** Give up connecting after this long (default 3 s). */
  connectTimeoutMs?: number;
}

export class UnixReportDevice implements ReportDevice {
  private readonly queue: ReportQueue;
  private partial: Buffer = Buffer.alloc(0);
  private failure: TngError | undefined;

  constructor(
    private readonly socket: Socket,
    readonly name: string,
  ) {
    this.queue = new ReportQueue();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail());
    socket.on('end', () => this.fail());
  }

  private onData(chunk: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    while (data.length >= REPORT_SIZE) {
      this.queue.push(new Uint8Array(data.subarray(0, REPORT_SIZE)));
      data = data.subarray(REPORT_SIZE);
    }
    this.partial = Buffer.from(data);
  }

  private fail(cause?: unknown): void {
    if (this.failure) return;
    this.failure = unpluggedError(this.name, cause);
    this.queue.fail(this.failure);
    this.socket.destroy();
  }

  write(report: Uint8Array): Promise<void> {
    if (report.length !== REPORT_SIZE) {
      return Promise.reject(new RangeError(`a report must be ${REPORT_SIZE} bytes, not ${report.length}`));
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.socket.write(report, (error) => {
        if (error) {
          this.fail(error);
          reject(this.failure);
        } else resolve();
      });
    });
  }

  read(signal?: AbortSignal): Promise<Uint8Array> {
    return this.queue.shift(signal);
  }

  async close(): Promise<void> {
    if (!this.failure) {
      this.failure = fidoError('fido2.unplugged', `The connection to ${this.name} is closed.`);
      this.queue.fail(this.failure);
    }
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}

/** Connects to `path`; a missing or refusing socket is `fido2.none-found`. */
export async function openUnixDevice(path: string, options: UnixDeviceOptions = {}): Promise<UnixReportDevice> {
  const name = `unix:${path}`;
  const { signal } = options;
  if (signal?.aborted) throw interruptedError(abortReason(signal));
  const socket = createConnection({ path });
  return new Promise<UnixReportDevice>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('connect', onConnect);
    };
    const onConnect = () => {
      cleanup();
      resolve(new UnixReportDevice(socket, name));
    };
    const onError = (error: NodeJS.ErrnoException) => {
      cleanup();
      socket.destroy();
      reject(
        fidoError('fido2.none-found', `No authenticator answers at ${name} (${error.code ?? error.message}).`, error),
      );
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(interruptedError(abortReason(signal as AbortSignal)));
    };
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(fidoError('fido2.none-found', `Connecting to ${name} timed out.`));
    }, options.connectTimeoutMs ?? 3000);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

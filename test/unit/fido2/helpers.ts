/** Test helpers for the FIDO2 unit tests: hex, a scripted in-memory report device. Not an authenticator. */
import { TngError } from '../../../src/errors.ts';
import type { ReportDevice } from '../../../src/fido2/hid/transport.ts';

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * A report device whose answers come from a script: `onWrite` sees every report the host writes and may
 * `push` reports back. `end()` makes further reads fail like an unplugged device.
 */
export class ScriptedDevice implements ReportDevice {
  readonly written: Uint8Array[] = [];
  private readonly inbox: Uint8Array[] = [];
  private waiters: { resolve: (r: Uint8Array) => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];
  private ended: unknown;
  closed = false;
  reads = 0;

  /** Reports pushed but not yet read. */
  get pending(): number {
    return this.inbox.length;
  }

  constructor(public onWrite: (report: Uint8Array, device: ScriptedDevice) => void = () => undefined) {}

  push(report: Uint8Array): void {
    if (report.length !== 64) throw new Error(`test bug: report of ${report.length} bytes`);
    const waiter = this.waiters.shift();
    if (waiter) {
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(report);
    } else this.inbox.push(report);
  }

  end(error: unknown = new TngError('authenticator', 'fido2.unplugged', 'unplugged', { hint: '' })): void {
    this.ended = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  async write(report: Uint8Array): Promise<void> {
    if (this.ended) throw this.ended;
    this.written.push(new Uint8Array(report));
    this.onWrite(new Uint8Array(report), this);
  }

  read(signal?: AbortSignal): Promise<Uint8Array> {
    this.reads++;
    const ready = this.inbox.shift();
    if (ready) return Promise.resolve(ready);
    if (this.ended) return Promise.reject(this.ended);
    if (signal?.aborted) return Promise.reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    return new Promise((resolve, reject) => {
      const waiter: (typeof this.waiters)[number] = { resolve, reject, ...(signal ? { signal } : {}) };
      if (signal) {
        waiter.onAbort = () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.end();
  }
}

/** Asserts `promise` rejects with a TngError of this code (and kind, when given); returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: string, kind?: string): Promise<TngError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof TngError)) throw new Error(`expected TngError ${code}, got ${String(error)}`, { cause: error });
    if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`, { cause: error });
    if (kind !== undefined && error.kind !== kind) throw new Error(`expected kind ${kind}, got ${error.kind}`);
    return error;
  }
  throw new Error(`expected rejection with ${code}`);
}

export function throwsWith(fn: () => unknown, code: string): TngError {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof TngError)) throw new Error(`expected TngError ${code}, got ${String(error)}`, { cause: error });
    if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`, { cause: error });
    return error;
  }
  throw new Error(`expected a throw with ${code}`);
}

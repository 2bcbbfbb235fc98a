/**
 * Reports received but not yet read, and readers waiting for one. A reader whose signal fires leaves
 * the queue without taking a report, so nothing is lost. After `fail`, queued reports are still handed
 * out; then every read rejects with the failure.
 */
import { abortReason } from '../util.ts';

interface Waiter {
  resolve(report: Uint8Array): void;
  reject(error: unknown): void;
}

/** Beyond this many unread reports the oldest are dropped (a flooding device cannot exhaust memory). */
const MAX_QUEUED = 4096;

export class ReportQueue {
  private readonly reports: Uint8Array[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: unknown;
  private failed = false;

  push(report: Uint8Array): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(report);
      return;
    }
    this.reports.push(report);
    if (this.reports.length > MAX_QUEUED) this.reports.shift();
  }

  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  get size(): number {
    return this.reports.length;
  }

  shift(signal?: AbortSignal): Promise<Uint8Array> {
    const ready = this.reports.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failed) return Promise.reject(this.failure);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortReason(signal as AbortSignal));
      };
      const waiter: Waiter = {
        resolve: (report) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(report);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

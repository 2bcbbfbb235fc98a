/**
 * The virtual authenticator's button. A request that needs user presence waits here; what happens is
 * decided by the current TouchMode, and changing the mode re-arms requests already waiting (so a test
 * can start in `never` and "touch" later with `setTouch({ kind: 'auto', delayMs: 0 })`).
 */

export type TouchMode =
  | { kind: 'auto'; delayMs: number }
  | { kind: 'deny'; delayMs: number }
  | { kind: 'never' }
  | { kind: 'unplug'; afterMs: number };

/** A wait that ended without a touch; `status` is the CTAP2 status to answer with. */
export class TouchError extends Error {
  constructor(readonly status: number) {
    super(`user presence not given (0x${status.toString(16)})`);
  }
}

export const CTAP2_ERR_OPERATION_DENIED = 0x27;
export const CTAP2_ERR_KEEPALIVE_CANCEL = 0x2d;
export const CTAP2_ERR_USER_ACTION_TIMEOUT = 0x2f;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer?: NodeJS.Timeout;
}

/** How long a U2F touch stays "latched" for the host's next polling request. */
const U2F_LATCH_MS = 3000;

export class TouchController {
  touches = 0;
  private readonly waiters = new Set<Waiter>();
  private u2fTimer: NodeJS.Timeout | undefined;
  private u2fLatchedUntil = 0;

  constructor(
    private mode: TouchMode,
    private readonly userActionTimeoutMs: number,
    private readonly unplug: () => void,
  ) {}

  get current(): TouchMode {
    return this.mode;
  }

  setMode(mode: TouchMode): void {
    this.mode = mode;
    for (const w of this.waiters) this.arm(w);
    if (this.u2fTimer) clearTimeout(this.u2fTimer);
    this.u2fTimer = undefined;
    this.u2fLatchedUntil = 0;
  }

  /** Resolves on a touch; rejects with TouchError (denied / timed out) or with `signal.reason` when aborted. */
  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const timeout = setTimeout(() => finish(new TouchError(CTAP2_ERR_USER_ACTION_TIMEOUT)), this.userActionTimeoutMs);
      const onAbort = (): void => finish(signal.reason);
      const finish = (err?: unknown): void => {
        if (!this.waiters.has(waiter)) return;
        this.waiters.delete(waiter);
        clearTimeout(timeout);
        if (waiter.timer) clearTimeout(waiter.timer);
        signal.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const waiter: Waiter = {
        resolve: () => {
          this.touches++;
          finish();
        },
        reject: (err) => finish(err),
      };
      this.waiters.add(waiter);
      signal.addEventListener('abort', onAbort);
      this.arm(waiter);
    });
  }

  private arm(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    const m = this.mode;
    if (m.kind === 'auto') w.timer = setTimeout(() => w.resolve(), m.delayMs);
    else if (m.kind === 'deny') w.timer = setTimeout(() => w.reject(new TouchError(CTAP2_ERR_OPERATION_DENIED)), m.delayMs);
    else if (m.kind === 'unplug') w.timer = setTimeout(() => this.unplug(), m.afterMs);
  }

  /**
   * U2F has no keepalive: the host polls and gets "conditions not satisfied" until the button has been
   * pressed. Returns true (and consumes the touch) when one is latched; otherwise starts the button
   * per the mode and returns false.
   */
  u2fPresence(): boolean {
    if (Date.now() < this.u2fLatchedUntil) {
      this.u2fLatchedUntil = 0;
      return true;
    }
    if (this.u2fTimer) return false;
    const m = this.mode;
    if (m.kind === 'auto') {
      this.u2fTimer = setTimeout(() => {
        this.u2fTimer = undefined;
        this.touches++;
        this.u2fLatchedUntil = Date.now() + U2F_LATCH_MS;
      }, m.delayMs);
    } else if (m.kind === 'unplug') {
      this.u2fTimer = setTimeout(() => {
        this.u2fTimer = undefined;
        this.unplug();
      }, m.afterMs);
    }
    return false;
  }

  /** Rejects every waiter (used when the device goes away) and stops the U2F button. */
  abortAll(reason: unknown): void {
    for (const w of [...this.waiters]) w.reject(reason);
    if (this.u2fTimer) clearTimeout(this.u2fTimer);
    this.u2fTimer = undefined;
    this.u2fLatchedUntil = 0;
  }
}

/**
 * Lock files in the state dir. The file calls are synchronous: each is small and costs less than a round
 * trip through Node's thread pool, on the path every exec's audit append takes; only waiting is asynchronous.
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { reportTiming, timingStart } from '../debug/timing.ts';
import { TngError, describe } from '../errors.ts';
import { nodeCrypto } from '../platform/lazy-crypto.ts';
import { removeFile } from './atomic.ts';
import { makeDirectory } from './make-dir.ts';

export interface LockOptions {
  /** How long to wait for another holder before giving up. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** A lock older than this is stale whatever its holder (guards against PID reuse and other hosts). */
  staleAfterMs?: number;
  /** Told once, when this process has waited `afterMs` for a live holder: a wait a person should hear about. */
  onWait?: { afterMs: number; notify: (holderPid: number | undefined) => void };
}

export interface WaitingLockOptions<T> extends LockOptions {
  /**
   * Runs instead of taking the lock each time another holder has just released it; a result ends the wait
   * with it. What the holder did may leave nothing to do (a cache it filled), and many waiters can then
   * finish at once instead of taking the lock one after another.
   */
  afterRelease?: () => Promise<T | undefined>;
}

interface Holder {
  pid: number;
  host: string;
  token: string;
  since: number;
}

/**
 * Waiting polls with exponential backoff and jitter: most holds last a millisecond or two (an audit append,
 * a session write), so the first retries come within milliseconds; a long hold (an issuance at Vault, a
 * touch) backs off to a poll every ~64 ms.
 */
const POLL_FIRST_MS = 2;
const POLL_MAX_MS = 64;

/** The pauses between tries, in milliseconds: each drawn from [p/2, 3p/2) while p doubles from 2 up to 64. */
export function* pollPauses(random: () => number = Math.random): Generator<number, never> {
  for (let pause = POLL_FIRST_MS; ; pause = Math.min(pause * 2, POLL_MAX_MS)) yield pause / 2 + random() * pause;
}
const GUARD_STALE_MS = 5_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined | 'garbled' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const holder = JSON.parse(text) as Holder;
    return typeof holder.pid === 'number' && typeof holder.token === 'string' ? holder : 'garbled';
  } catch {
    return 'garbled';
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function stateDirError(error: unknown, dir: string): TngError {
  const code = (error as NodeJS.ErrnoException).code;
  return new TngError('usage', 'state.unwritable', `Cannot write to the state dir ${dir} (${code ?? describe(error)}).`, {
    hint: 'Make the state dir writable (it is $TNG_STATE_DIR, $XDG_STATE_HOME/tng or ~/.local/state/tng), or point TNG_STATE_DIR elsewhere.',
    cause: error,
  });
}

/**
 * A lock file in the state dir, held while `fn` runs. Crash-safe: a holder that died (its PID is gone
 * on this host) or a lock older than `staleAfterMs` is cleared; of several waiters only the one holding
 * the short-lived steal guard clears it, so a fresh lock is never removed by mistake.
 */
export async function withLock<T>(stateDir: string, name: string, options: WaitingLockOptions<T>, fn: () => Promise<T>): Promise<T> {
  const dir = join(stateDir, 'locks');
  const path = join(dir, `${name}.lock`);
  const me: Holder = { pid: process.pid, host: hostname(), token: nodeCrypto().randomBytes(12).toString('hex'), since: Date.now() };
  const staleAfter = options.staleAfterMs ?? 10 * 60_000;
  const deadline = Date.now() + options.timeoutMs;
  let waited = false;
  const pauses = pollPauses();
  const startedAt = timingStart();
  let waitingSince: number | undefined;
  let notified = false;

  for (;;) {
    if (options.signal?.aborted) {
      throw new TngError('interrupted', 'lock.interrupted', 'Interrupted while waiting for another tng process.', { hint: 'Run the command again.' });
    }
    if (waited && options.afterRelease !== undefined && !existsSync(path)) {
      const done = await options.afterRelease();
      if (done !== undefined) {
        reportTiming(`lock ${name}: waited, then took the holder's result`, startedAt);
        return done;
      }
    }
    try {
      if (tryAcquire(dir, path, me)) {
        if (waited) reportTiming(`lock ${name}: waited`, startedAt);
        break;
      }
    } catch (error) {
      throw stateDirError(error, stateDir);
    }
    const holder = readHolder(path);
    const stale =
      holder === 'garbled'
        ? ageMs(path) > 2_000
        : holder !== undefined && ((holder.host === me.host && !isAlive(holder.pid)) || Date.now() - holder.since > staleAfter);
    if (stale) {
      clearStale(path, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new TngError('unavailable', 'lock.timeout', `Another tng process (PID ${holder && holder !== 'garbled' ? holder.pid : '?'}) has held the ${name} lock for too long.`, {
        hint: `Wait for it to finish, or end it; the lock is ${path}.`,
      });
    }
    waitingSince ??= Date.now();
    if (options.onWait !== undefined && !notified && Date.now() - waitingSince >= options.onWait.afterMs) {
      notified = true;
      options.onWait.notify(holder === undefined || holder === 'garbled' ? undefined : holder.pid);
    }
    await new Promise((resolve) => setTimeout(resolve, pauses.next().value));
    waited = true;
  }

  try {
    return await fn();
  } finally {
    release(path, me);
  }
}

/** One attempt to create the lock file: true when it is now ours, false when another holds it. */
function tryAcquire(dir: string, path: string, me: Holder): boolean {
  const create = () => openSync(path, 'wx', 0o600);
  let fd: number;
  try {
    fd = create();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw error;
    // The first lock in this state dir: make its locks/ dir and try once more.
    makeDirectory(dir);
    try {
      fd = create();
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw again;
    }
  }
  try {
    writeSync(fd, JSON.stringify(me));
    closeSync(fd);
  } catch (error) {
    // A full disk: leave no empty lock file behind for the next run to wait on.
    try {
      closeSync(fd);
    } catch {
      // already closed, or nothing more to do
    }
    removeFile(path);
    throw error;
  }
  return true;
}

/** Removes the lock file if it is still ours (a stale-lock clearer may have replaced it). */
function release(path: string, me: Holder): void {
  let holder: ReturnType<typeof readHolder>;
  try {
    holder = readHolder(path);
  } catch {
    return; // unreadable: not ours to remove
  }
  if (holder !== undefined && holder !== 'garbled' && holder.token === me.token) removeFile(path);
}

function clearStale(path: string, seen: Holder | 'garbled' | undefined): void {
  const guard = `${path}.steal`;
  try {
    closeSync(openSync(guard, 'wx', 0o600));
  } catch {
    if (ageMs(guard) > GUARD_STALE_MS) removeFile(guard);
    return;
  }
  try {
    const now = readHolder(path);
    const same = seen === 'garbled' ? now === 'garbled' : now !== undefined && now !== 'garbled' && seen !== undefined && now.token === seen.token;
    if (same) removeFile(path);
  } finally {
    removeFile(guard);
  }
}

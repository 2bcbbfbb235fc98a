import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TngError, describe } from '../errors.ts';

export interface LockOptions {
  /** How long to wait for another holder before giving up. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** A lock older than this is stale whatever its holder (guards against PID reuse and other hosts). */
  staleAfterMs?: number;
}

interface Holder {
  pid: number;
  host: string;
  token: string;
  since: number;
}

const POLL_MS = 40;
const GUARD_STALE_MS = 5_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<Holder | undefined | 'garbled'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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

async function ageMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
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
export async function withLock<T>(stateDir: string, name: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const dir = join(stateDir, 'locks');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw stateDirError(error, stateDir);
  }
  const path = join(dir, `${name}.lock`);
  const me: Holder = { pid: process.pid, host: hostname(), token: randomBytes(12).toString('hex'), since: Date.now() };
  const staleAfter = options.staleAfterMs ?? 10 * 60_000;
  const deadline = Date.now() + options.timeoutMs;

  for (;;) {
    if (options.signal?.aborted) {
      throw new TngError('interrupted', 'lock.interrupted', 'Interrupted while waiting for another tng process.', { hint: 'Run the command again.' });
    }
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(me));
        await handle.close();
      } catch (error) {
        // A full disk: leave no empty lock file behind for the next run to wait on.
        await handle.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
        throw error;
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw stateDirError(error, stateDir);
    }
    const holder = await readHolder(path);
    const stale =
      holder === 'garbled'
        ? (await ageMs(path)) > 2_000
        : holder !== undefined && ((holder.host === me.host && !isAlive(holder.pid)) || Date.now() - holder.since > staleAfter);
    if (stale) {
      await clearStale(path, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new TngError('unavailable', 'lock.timeout', `Another tng process (PID ${holder && holder !== 'garbled' ? holder.pid : '?'}) has held the ${name} lock for too long.`, {
        hint: `Wait for it to finish, or end it; the lock is ${path}.`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS + Math.random() * POLL_MS));
  }

  try {
    return await fn();
  } finally {
    const holder = await readHolder(path).catch(() => undefined);
    if (holder && holder !== 'garbled' && holder.token === me.token) await unlink(path).catch(() => undefined);
  }
}

async function clearStale(path: string, seen: Holder | 'garbled' | undefined): Promise<void> {
  const guard = `${path}.steal`;
  try {
    const handle = await open(guard, 'wx', 0o600);
    await handle.close();
  } catch {
    if ((await ageMs(guard)) > GUARD_STALE_MS) await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    const now = await readHolder(path);
    const same = seen === 'garbled' ? now === 'garbled' : now !== undefined && now !== 'garbled' && seen !== undefined && now.token === seen.token;
    if (same) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

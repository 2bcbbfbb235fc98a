import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { pollPauses, withLock } from '../../../src/state/lock.ts';
import { tempDirs } from '../../temp-dirs.ts';

const newDir = tempDirs('lock');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('close', r));
  return child.pid as number;
}

describe('withLock', () => {
  it('retries within milliseconds of a short hold, backing off to about 64 ms for a long one', () => {
    const take = (random: () => number, count: number) => {
      const pauses = pollPauses(random);
      return Array.from({ length: count }, () => pauses.next().value);
    };
    assert.deepEqual(take(() => 0, 9), [1, 2, 4, 8, 16, 32, 32, 32, 32]);
    assert.deepEqual(take(() => 0.5, 8), [2, 4, 8, 16, 32, 64, 64, 64]);
    const top = take(() => 0.999999, 8);
    for (const [i, pause] of top.entries()) assert.ok(pause < 3 * Math.min(2 ** i, 32), `pause ${i}: ${pause}`);
    const sum = take(Math.random, 6).reduce((a, b) => a + b, 0);
    assert.ok(sum >= 63 && sum < 189, `the first six pauses add up to ${sum} ms`);
  });

  it('runs holders one at a time and removes the lock afterwards', async () => {
    const dir = await newDir();
    const events: string[] = [];
    const holder = (name: string) =>
      withLock(dir, 'x', { timeoutMs: 5000 }, async () => {
        events.push(`${name}+`);
        await sleep(60);
        events.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([holder('a'), holder('b'), holder('c')]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    for (let i = 0; i < events.length; i += 2) assert.equal(events[i]?.slice(0, 1), events[i + 1]?.slice(0, 1), events.join(' '));
    assert.deepEqual(await readdir(join(dir, 'locks')), []);
  });

  it('onWait: told once, with the holder\'s PID, after waiting its time; never when the lock was free or freed sooner', async () => {
    const dir = await newDir();
    const told: Array<number | undefined> = [];
    const notice = (afterMs: number) => ({ afterMs, notify: (pid: number | undefined) => told.push(pid) });
    await withLock(dir, 'x', { timeoutMs: 5000, onWait: notice(0) }, async () => undefined);
    assert.deepEqual(told, [], 'a free lock is taken without a notice');

    let release: () => void = () => undefined;
    const holding = withLock(dir, 'x', { timeoutMs: 5000 }, () => new Promise<void>((resolve) => (release = resolve)));
    const patient = withLock(dir, 'x', { timeoutMs: 5000, onWait: notice(10_000) }, async () => 'patient');
    const waiter = withLock(dir, 'x', { timeoutMs: 5000, onWait: notice(200) }, async () => 'waited');
    await sleep(100);
    assert.deepEqual(told, [], 'not before its time');
    await sleep(400);
    assert.deepEqual(told, [process.pid], 'once, naming the holder');
    release();
    assert.deepEqual(await Promise.all([holding, patient, waiter]), [undefined, 'patient', 'waited']);
    assert.deepEqual(told, [process.pid], 'only the waiter that waited its time was told');
  });

  it('afterRelease: waiters finish with its result once the holder releases, without taking the lock; undefined takes it', async () => {
    const dir = await newDir();
    let cache: string | undefined;
    const ran: string[] = [];
    const waiter = (name: string) =>
      withLock(dir, 'x', { timeoutMs: 5000, afterRelease: async () => cache }, async () => {
        ran.push(name);
        return `${name} issued`;
      });
    let waiters: Array<Promise<string>> = [];
    const first = withLock(dir, 'x', { timeoutMs: 5000 }, async () => {
      waiters = ['b', 'c', 'd'].map(waiter);
      await sleep(150);
      cache = 'from the cache';
      return 'a issued';
    });
    assert.equal(await first, 'a issued');
    assert.deepEqual(await Promise.all(waiters), ['from the cache', 'from the cache', 'from the cache']);
    assert.deepEqual(ran, [], 'no waiter took the lock');

    cache = undefined;
    const holding = withLock(dir, 'x', { timeoutMs: 5000 }, () => sleep(100).then(() => 'held'));
    await sleep(10);
    assert.equal(await waiter('e'), 'e issued', 'with nothing from afterRelease the waiter takes the lock');
    assert.equal(await holding, 'held');
    assert.deepEqual(ran, ['e']);
  });

  it('recovers a lock whose holder died, and one that is garbled and old', async () => {
    const dir = await newDir();
    await mkdir(join(dir, 'locks'));
    const path = join(dir, 'locks', 'x.lock');
    await writeFile(path, JSON.stringify({ pid: await deadPid(), host: hostname(), token: 't', since: Date.now() }));
    assert.equal(await withLock(dir, 'x', { timeoutMs: 2000 }, async () => 'ok'), 'ok');

    await writeFile(path, '{"pid":');
    const old = new Date(Date.now() - 10_000);
    await utimes(path, old, old);
    assert.equal(await withLock(dir, 'x', { timeoutMs: 2000 }, async () => 'ok'), 'ok');
  });

  it('treats a very old lock as stale even if its PID is alive (PID reuse)', async () => {
    const dir = await newDir();
    await mkdir(join(dir, 'locks'));
    await writeFile(join(dir, 'locks', 'x.lock'), JSON.stringify({ pid: process.pid, host: hostname(), token: 't', since: Date.now() - 3_600_000 }));
    assert.equal(await withLock(dir, 'x', { timeoutMs: 2000 }, async () => 'ok'), 'ok');
  });

  it('gives up after the timeout with exit 6 while a live holder keeps it, leaving its lock alone', async () => {
    const dir = await newDir();
    await mkdir(join(dir, 'locks'));
    const held = JSON.stringify({ pid: process.pid, host: hostname(), token: 'live', since: Date.now() });
    await writeFile(join(dir, 'locks', 'x.lock'), held);
    await assert.rejects(withLock(dir, 'x', { timeoutMs: 200 }, async () => 'never'), (error: unknown) => error instanceof TngError && error.exitCode === 6);
    assert.equal(await readFile(join(dir, 'locks', 'x.lock'), 'utf8'), held);
  });

  it('stops waiting on abort (exit 130) and releases after a throwing holder', async () => {
    const dir = await newDir();
    const controller = new AbortController();
    const holding = withLock(dir, 'x', { timeoutMs: 5000 }, () => sleep(300));
    const waiting = withLock(dir, 'x', { timeoutMs: 5000, signal: controller.signal }, async () => 'never');
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(waiting, (error: unknown) => error instanceof TngError && error.exitCode === 130);
    await holding;
    await assert.rejects(withLock(dir, 'x', { timeoutMs: 1000 }, async () => Promise.reject(new Error('boom'))), /boom/);
    assert.deepEqual(await readdir(join(dir, 'locks')), []);
  });

  it('a state dir that cannot be created is a clear error', async () => {
    const dir = await newDir();
    const notADir = join(dir, 'file');
    await writeFile(notADir, '');
    await assert.rejects(withLock(notADir, 'x', { timeoutMs: 100 }, async () => 1), (error: unknown) => error instanceof TngError && /Cannot write to the state dir .*ENOTDIR/.test(error.message));
  });
});

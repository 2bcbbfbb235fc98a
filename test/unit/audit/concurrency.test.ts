import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, it } from 'node:test';
import { appendEntry, newNonce, readTrail, type Trail } from '../../../src/audit/chain.ts';
import { verifyTrail } from '../../../src/audit/verify.ts';
import { tempStateDir } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./append-child.ts', import.meta.url));

/**
 * Starts `processes` children appending `each` entries, releases them together, and returns the ids they
 * wrote. The child is bundled to plain JS first (as the CLI is), so fifty of them start in seconds.
 */
async function appendFromProcesses(dir: string, processes: number, each: number): Promise<string[]> {
  const script = join(dir, 'append-child.mjs'); // removed with the state dir
  await build({ entryPoints: [CHILD], outfile: script, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
  const children = Array.from({ length: processes }, (_, i) => {
    const child = spawn(process.execPath, [script, dir, String(each), `c${i}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.startsWith('ready\n')) resolve();
      });
    });
    const exited = new Promise<string[]>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length)) as string[]) : reject(new Error(`child ${i} exited ${code}`))));
    });
    return { child, ready, exited };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const { child } of children) child.stdin.end('go\n');
  return (await Promise.all(children.map((c) => c.exited))).flat();
}

function assertWellChained(trail: Trail, count: number, ids: string[]): void {
  assert.equal(trail.entries.length, count);
  assert.equal(trail.torn, undefined);
  assert.deepEqual(trail.faults, []);
  assert.deepEqual(trail.entries.map((e) => e.seq), Array.from({ length: count }, (_, i) => i + 1));
  assert.equal(trail.entries[0]?.prev, null);
  for (let i = 1; i < count; i++) assert.equal(trail.entries[i]?.prev, trail.entries[i - 1]?.hash);
  assert.deepEqual(trail.entries.map((e) => e.id).sort(), [...ids].sort());
  const report = verifyTrail(trail);
  assert.equal(report.ok, true, report.firstBad?.reason);
  assert.equal(report.entries, count);
}

describe('reading while another process appends', () => {
  it('a line caught half-written is read again once the write is done: the trail verifies', async () => {
    const state = await tempStateDir();
    try {
      for (let i = 0; i < 2; i++) await appendEntry(state.dir, { event: 'login', profile: `p${i}`, credential_id: null, nonce: newNonce() });
      const whole = await readFile(state.file);
      await truncate(state.file, whole.length - 40);
      const reading = readTrail(state.dir);
      await writeFile(state.file, whole);
      const trail = await reading;
      assert.equal(trail.entries.length, 2);
      assert.deepEqual(trail.faults, []);
      assert.equal(verifyTrail(trail).ok, true);
    } finally {
      await state.dispose();
    }
  });

  it('a tail that stays incomplete is reported as torn', async () => {
    const state = await tempStateDir();
    try {
      for (let i = 0; i < 2; i++) await appendEntry(state.dir, { event: 'login', profile: `p${i}`, credential_id: null, nonce: newNonce() });
      await truncate(state.file, (await readFile(state.file)).length - 40);
      const trail = await readTrail(state.dir);
      assert.equal(trail.entries.length, 1);
      assert.equal(verifyTrail(trail).ok, false);
    } finally {
      await state.dispose();
    }
  });
});

describe('concurrent appends', () => {
  it('50 at once in one process leave 50 well-chained entries', async () => {
    const state = await tempStateDir();
    try {
      const written = await Promise.all(Array.from({ length: 50 }, (_, i) => appendEntry(state.dir, { event: 'login', profile: `p${i}`, credential_id: null, nonce: newNonce() })));
      assertWellChained(await readTrail(state.dir), 50, written.map((e) => e.id));
    } finally {
      await state.dispose();
    }
  });

  for (const [processes, each] of [[10, 5], [50, 1]] as const) {
    it(`${processes} processes appending ${each} each at the same moment leave 50 well-chained entries`, { timeout: 180_000 }, async () => {
      const state = await tempStateDir();
      try {
        const ids = await appendFromProcesses(state.dir, processes, each);
        assert.equal(ids.length, 50);
        const trail = await readTrail(state.dir);
        assertWellChained(trail, 50, ids);
        assert.equal(new Set(trail.entries.map((e) => String(e.profile).split('-')[0])).size, processes, 'every process got its turn');
      } finally {
        await state.dispose();
      }
    });
  }
});

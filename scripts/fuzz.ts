/**
 * The long fuzz run: every property of test/unit/fuzz/properties.ts (CTAPHID frames, CTAP2 CBOR answers,
 * ID tokens, Vault and STS answers, config.toml, audit lines) with ≥ 100,000 generated cases in all,
 * shared out by each property's weight.
 *
 *   npm run fuzz                              # 100,000 cases
 *   npm run fuzz -- --cases 1000000 --seed 42 --jobs 2 --only Vault
 *
 * Each property runs in a worker thread watched from here: a case that takes longer than --case-ms fails
 * through fast-check's timeout, and a worker whose case counter stops moving for --stall-ms (a synchronous
 * hang no in-thread timer can see) is terminated and reported with its seed and case number. Exits 1 on the
 * first counterexample, error or hang of any property.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    jobs: { type: 'string', default: String(Math.min(2, cpus().length)) },
    only: { type: 'string' },
    'case-ms': { type: 'string', default: '10000' },
    'stall-ms': { type: 'string', default: '30000' },
  },
});

const total = Number(args.cases);
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
const jobs = Math.max(1, Number(args.jobs));
const caseMs = Number(args['case-ms']);
const stallMs = Number(args['stall-ms']);
if (!Number.isInteger(total) || total < 1 || !Number.isFinite(seed)) {
  console.error('usage: npm run fuzz -- [--cases N] [--seed S] [--jobs J] [--only PATTERN] [--case-ms MS] [--stall-ms MS]');
  process.exit(2);
}

export interface WorkerTask {
  index: number;
  runs: number;
  seed: number;
  caseMs: number;
  counter: SharedArrayBuffer;
}

export interface WorkerResult {
  name: string;
  ok: boolean;
  numRuns: number;
  report?: string;
  outcomes: Record<string, number>;
}

const workerUrl = new URL('./fuzz-worker.mjs', import.meta.url);

/** The properties' names and weights, read by a worker so this thread loads none of tng. */
async function catalogue(): Promise<Array<{ name: string; weight: number }>> {
  const worker = new Worker(workerUrl, { workerData: { list: true } });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

interface Outcome extends WorkerResult {
  seconds: number;
  hang?: string;
}

function runOne(index: number, name: string, runs: number): Promise<Outcome> {
  const counter = new SharedArrayBuffer(4);
  const cases = new Int32Array(counter);
  const started = Date.now();
  const worker = new Worker(workerUrl, { workerData: { index, runs, seed: seed + index, caseMs, counter } satisfies WorkerTask });
  return new Promise((resolve) => {
    let last = -1;
    let lastMoved = Date.now();
    const watch = setInterval(() => {
      const now = Atomics.load(cases, 0);
      if (now !== last) {
        last = now;
        lastMoved = Date.now();
        return;
      }
      if (Date.now() - lastMoved > stallMs) {
        clearInterval(watch);
        void worker.terminate();
        resolve({
          name,
          ok: false,
          numRuns: now,
          outcomes: {},
          seconds: (Date.now() - started) / 1000,
          hang: `case ${now} (seed ${seed + index}) made no progress for ${stallMs} ms: a hang`,
        });
      }
    }, 250);
    worker.once('message', (result: WorkerResult) => {
      clearInterval(watch);
      resolve({ ...result, seconds: (Date.now() - started) / 1000 });
    });
    worker.once('error', (error) => {
      clearInterval(watch);
      resolve({ name, ok: false, numRuns: Atomics.load(cases, 0), outcomes: {}, seconds: (Date.now() - started) / 1000, report: error.stack ?? String(error) });
    });
  });
}

const all = await catalogue();
const chosen = all.map((p, index) => ({ ...p, index })).filter((p) => args.only === undefined || p.name.includes(args.only));
const weights = chosen.reduce((sum, p) => sum + p.weight, 0);
const plan = chosen.map((p) => ({ ...p, runs: Math.max(100, Math.round((total * p.weight) / weights)) }));
console.log(`fuzz: ${plan.reduce((s, p) => s + p.runs, 0)} cases over ${plan.length} properties, seed ${seed}, ${jobs} at a time`);

const started = Date.now();
const results: Outcome[] = [];
const queue = [...plan];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const result = await runOne(next.index, next.name, next.runs);
      results.push(result);
      const seen = Object.entries(result.outcomes)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${String(result.numRuns).padStart(7)} cases ${result.seconds.toFixed(1).padStart(6)} s  ${result.name}${seen ? `  [${seen}]` : ''}`);
      if (!result.ok) console.log(result.hang ?? result.report ?? 'failed');
    }
  }),
);

const cases = results.reduce((sum, r) => sum + r.numRuns, 0);
const failed = results.filter((r) => !r.ok);
console.log(`fuzz: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failed.length === 0 ? 'no failures' : `${failed.length} failing properties`} (seed ${seed})`);
process.exit(failed.length === 0 ? 0 : 1);

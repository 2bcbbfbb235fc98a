/**
 * One property of the long fuzz run (scripts/fuzz.ts), in a worker thread: counts each case into the
 * shared counter the main thread watches, and posts back the result. With `{ list: true }` it posts the
 * properties' names and weights instead.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { fuzzSuite, outcomes } from '../test/unit/fuzz/properties.ts';
import type { WorkerResult, WorkerTask } from './fuzz.ts';

const suite = await fuzzSuite();
try {
  if ((workerData as { list?: boolean }).list) {
    parentPort?.postMessage(suite.properties.map((p) => ({ name: p.name, weight: p.weight })));
  } else {
    const task = workerData as WorkerTask;
    const cases = new Int32Array(task.counter);
    const { name, property } = suite.properties[task.index] as (typeof suite.properties)[number];
    const details = await fc.check(property, {
      numRuns: task.runs,
      seed: task.seed,
      plugins: [fc.beforeEach(() => void Atomics.add(cases, 0, 1)), fc.timeout(task.caseMs)],
    });
    const error = details.errorInstance as Error | undefined;
    const result: WorkerResult = {
      name,
      ok: !details.failed,
      numRuns: details.numRuns,
      report: details.failed ? `${fc.defaultReportMessage(details) ?? ''}\n${error?.stack ?? String(error)}` : undefined,
      outcomes: Object.fromEntries(outcomes.get(name) ?? []),
    };
    parentPort?.postMessage(result);
  }
} finally {
  await suite.close();
}

/**
 * The FIDO2 fuzz properties, run as long as asked:
 *   node --import tsx test/unit/fido2/fuzz-long.ts [RUNS=100000] [SEED]
 * Exits 1 on the first counterexample (fast-check prints it with the seed to replay).
 */
import fc from 'fast-check';
import { fido2Properties } from './properties.ts';

const runs = Number(process.argv[2] ?? 100_000);
const seed = process.argv[3] === undefined ? undefined : Number(process.argv[3]);

let failed = false;
for (const { name, property } of fido2Properties()) {
  const started = Date.now();
  try {
    await fc.assert(property, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
    console.log(`ok   ${name}: ${runs} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    console.log(`FAIL ${name}\n${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exit(failed ? 1 : 0);

/**
 * The short fuzz pass CI runs: every property of test/unit/fuzz/properties.ts (the FIDO2 ones included) a
 * few hundred times. `npm run fuzz` runs the same properties ≥ 100,000 times in all (scripts/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzSuite, outcomes, type FuzzSuite } from './fuzz/properties.ts';

const RUNS = Number(process.env.TNG_FUZZ_RUNS ?? 300);

describe('fuzz pass (fast-check): malformed input ends in a value or tng\'s own error', () => {
  let suite: FuzzSuite;
  before(async () => {
    suite = await fuzzSuite();
  });
  after(async () => {
    await suite.close();
  });

  it('covers CTAPHID, CTAP2, ID tokens, Vault, STS, config.toml and audit lines', async () => {
    const names = suite.properties.map((p) => p.name).join('\n');
    for (const target of [/CTAPHID/, /CTAP2 responses/, /ID tokens/, /Vault answers/, /STS answers/, /config\.toml/, /audit lines/]) assert.match(names, target);
  });

  it(`every property holds for ${RUNS} cases each, with a time limit per case`, { timeout: 600_000 }, async () => {
    for (const { name, property, weight } of suite.properties) {
      const runs = Math.max(50, Math.round((RUNS * weight) / 8));
      const details = await fc.check(property, { numRuns: runs, plugins: [fc.timeout(10_000)] });
      assert.equal(details.failed, false, `${name}\n${fc.defaultReportMessage(details) ?? 'failed'}\n${String((details.errorInstance as Error | undefined)?.stack ?? details.errorInstance)}`);
      assert.equal(details.numRuns, runs, name);
    }
  });

  it('the cases reached both sides: accepted values and tng\'s refusals, for each target', () => {
    for (const [name, seen] of outcomes) {
      const kinds = [...seen.keys()];
      assert.ok(kinds.length >= 2, `${name} only ever ended as ${kinds.join(', ')}`);
    }
    for (const target of ['ID tokens', 'Vault answers', 'config.toml']) {
      const seen = [...outcomes].find(([name]) => name.startsWith(target))?.[1];
      assert.ok((seen?.get('value') ?? 0) > 0, `${target}: no case was accepted, so the valid path was never exercised`);
    }
  });
});

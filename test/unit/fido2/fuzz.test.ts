import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { channelOutcomes, fido2Properties } from './properties.ts';

const RUNS = 2000;

describe('FIDO2 fuzz pass (fast-check)', () => {
  const properties = fido2Properties();

  it('covers frames, the channel, CBOR and CTAP2 answers', () => {
    assert.equal(properties.length, 8);
  });

  for (const { name, property } of properties) {
    it(`${name} (${RUNS} cases)`, { timeout: 240_000 }, async () => {
      const details = await fc.check(property, { numRuns: RUNS });
      assert.equal(details.failed, false, fc.defaultReportMessage(details) ?? 'failed');
      assert.equal(details.numRuns, RUNS);
    });
  }

  it('the channel fuzzing reached answers, protocol errors, CTAPHID errors, busy and unplugging', () => {
    for (const outcome of ['value', 'fido2.protocol', 'fido2.unplugged', 'fido2.busy', 'fido2.not-supported']) {
      assert.ok((channelOutcomes.get(outcome) ?? 0) > 0, `never saw ${outcome}: ${JSON.stringify([...channelOutcomes])}`);
    }
  });
});

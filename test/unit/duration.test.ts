import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../src/duration.ts';

describe('parseDuration', () => {
  it('reads seconds and Go-style durations', () => {
    assert.equal(parseDuration('900'), 900);
    assert.equal(parseDuration('15m'), 900);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('2d'), 172800);
  });
  it('refuses what is longer than ten years, which would no longer be an exact number of seconds', () => {
    assert.equal(parseDuration('3650d'), 315_360_000);
    for (const long of ['3651d', '99999999999999999999d', '99999999999999999999']) assert.throws(() => parseDuration(long, 'aws_ttl'), /The aws_ttl ".*" is longer than ten years/, long);
  });
  it('rejects anything else', () => {
    for (const bad of ['', '15 minutes', 'm15', '1.5h', '-5m', '15m junk']) assert.throws(() => parseDuration(bad), /Invalid duration/, bad);
  });
});

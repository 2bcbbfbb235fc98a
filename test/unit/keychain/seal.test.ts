import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { isSealed, keyFromHmacOutput, newDataKey, seal, unseal, unsealBytes } from '../../../src/keychain/seal.ts';

describe('sealing with the hardware key', () => {
  it('round-trips and binds the context', () => {
    const key = newDataKey();
    const sealed = seal(key, 'refresh-token-value', 'profile:work:refresh-token');
    assert.ok(isSealed(sealed));
    assert.doesNotMatch(sealed, /refresh-token-value/);
    assert.equal(unseal(key, sealed, 'profile:work:refresh-token'), 'refresh-token-value');
    assert.throws(() => unseal(key, sealed, 'profile:other:refresh-token'), (e: unknown) => e instanceof TngError && e.exitCode === 7);
    assert.notEqual(seal(key, 'x', 'c'), seal(key, 'x', 'c'), 'a fresh nonce each time');
  });

  it('detects tampering and the wrong key', () => {
    const key = newDataKey();
    const sealed = seal(key, 'secret', 'ctx');
    const body = sealed.split('.');
    // One character of the middle part changed (its second-to-last: all six of its bits are data, unlike the last's).
    const middle = body[1] as string;
    const at = middle.length - 2;
    const flipped = [body[0], `${middle.slice(0, at)}${middle[at] === 'A' ? 'B' : 'A'}${middle.slice(at + 1)}`, body[2]].join('.');
    assert.notEqual(flipped, sealed);
    assert.throws(() => unseal(key, flipped, 'ctx'), /does not open/);
    assert.throws(() => unseal(newDataKey(), sealed, 'ctx'), /does not open/);
    assert.throws(() => unseal(key, 'tng-sealed:v1:garbage', 'ctx'), /malformed/);
  });

  it('derives a distinct wrapping key per credential from its hmac-secret output', () => {
    const output = randomBytes(32);
    const a = keyFromHmacOutput(output, 'cred-a');
    assert.equal(a.length, 32);
    assert.deepEqual(keyFromHmacOutput(output, 'cred-a'), a);
    assert.notDeepEqual(keyFromHmacOutput(output, 'cred-b'), a);
    assert.throws(() => keyFromHmacOutput(randomBytes(16), 'x'));
    const dataKey = newDataKey();
    assert.deepEqual(unsealBytes(a, seal(a, dataKey, 'data key'), 'data key'), dataKey);
  });
});

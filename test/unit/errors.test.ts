// The hot-path bundle (dist/cli.cjs) and the full program are built separately, each with its own copy of
// src/errors.ts; an error made by one copy must still be a TngError to the other.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError, isTngError } from '../../src/errors.ts';
import { CtapError } from '../../src/fido2/ctap2/status.ts';

/** A second, separate instance of the module, as a separately bundled copy is. */
async function otherCopy(): Promise<typeof import('../../src/errors.ts')> {
  const url = new URL('../../src/errors.ts', import.meta.url);
  url.searchParams.set('copy', 'other');
  return (await import(url.href)) as typeof import('../../src/errors.ts');
}

describe('TngError across separately bundled copies', () => {
  it('an error from the other copy is a TngError here, with its kind, code and exit code', async () => {
    const other = await otherCopy();
    assert.notEqual(other.TngError, TngError, 'the test really has two copies');
    const foreign = new other.TngError('keychain', 'keychain.locked', 'The OS keychain is locked.', { hint: 'Unlock it.' });
    assert.ok(foreign instanceof TngError);
    assert.ok(isTngError(foreign, 'keychain'));
    assert.equal(foreign.exitCode, 7);
    assert.ok(new TngError('usage', 'x', 'm', { hint: 'h' }) instanceof other.TngError, 'and the other way round');
  });

  it('anything else is not a TngError', () => {
    for (const value of [new Error('plain'), { kind: 'usage', code: 'x', message: 'm', hint: 'h' }, null, undefined, 'TngError', 7]) {
      assert.equal(value instanceof TngError, false, String(value));
    }
  });

  it('subclasses keep the ordinary check', () => {
    const plain = new TngError('authenticator', 'x', 'm', { hint: 'h' });
    assert.equal(plain instanceof CtapError, false);
    const ctap = new CtapError(0x31);
    assert.ok(ctap instanceof CtapError);
    assert.ok(ctap instanceof TngError);
  });
});

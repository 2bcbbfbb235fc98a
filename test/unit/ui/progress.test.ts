import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import type { IO } from '../../../src/ui/io.ts';
import { deviceCode, formatDuration, formatTimeLeft, step, touchPrompt, type Progress } from '../../../src/ui/progress.ts';

function recordingIO(progress?: Progress): IO & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    colour: false,
    canPrompt: () => false,
    out: () => undefined,
    info: (line) => lines.push(line),
    warn: (line) => lines.push(`warning: ${line}`),
    readStdin: async () => '',
    flush: async () => undefined,
    ask: async () => '',
    askSecret: async () => '',
    ...(progress ? { progress } : {}),
  };
}

describe('progress without the live UI: the plain lines scripts see', () => {
  it('a step just runs, silently, and passes on its value or its error', async () => {
    const io = recordingIO();
    assert.equal(await step(io, 'vault', async () => 42, () => 'summary'), 42);
    const error = new TngError('denied', 'x', 'no', { hint: 'h' });
    await assert.rejects(step(io, 'vault', async () => Promise.reject(error)), (e) => e === error);
    assert.deepEqual(io.lines, []);
  });

  it('the touch prompt is one line naming the key', () => {
    const io = recordingIO();
    touchPrompt(io, 'Touch your security key to log in.', 'YubiKey 5 Series');
    assert.deepEqual(io.lines, ['Touch your security key to log in. (YubiKey 5 Series is blinking)']);
  });

  it('the device code: the URL, the code on a line of its own, the complete URL, and what happens next', () => {
    const io = recordingIO();
    deviceCode(io, { uri: 'https://dex/device', code: 'ABCD-EFGH', complete: 'https://dex/device?user_code=ABCD-EFGH' });
    assert.deepEqual(io.lines, [
      'To log in, visit https://dex/device and enter the code:\n\n  ABCD-EFGH\n',
      'Or open: https://dex/device?user_code=ABCD-EFGH',
      'Waiting for the login to be approved…',
    ]);
  });

  it('with the live UI everything goes to it instead', async () => {
    const calls: string[] = [];
    const io = recordingIO({
      step: async (name, work, summary) => {
        const value = await work();
        calls.push(`step ${name} ${summary?.(value) ?? ''}`);
        return value;
      },
      touchPrompt: (purpose, device) => calls.push(`touch ${purpose} ${device}`),
      deviceCode: (panel) => calls.push(`code ${panel.code}`),
    });
    await step(io, 'touch', async () => 'key', (v) => v);
    touchPrompt(io, 'Touch.', 'Key');
    deviceCode(io, { uri: 'u', code: 'C' });
    assert.deepEqual(calls, ['step touch key', 'touch Touch. Key', 'code C']);
    assert.deepEqual(io.lines, []);
  });
});

describe('times for people', () => {
  it('durations', () => {
    assert.equal(formatDuration(0), '0.0s');
    assert.equal(formatDuration(431), '0.4s');
    assert.equal(formatDuration(9_949), '9.9s');
    assert.equal(formatDuration(12_400), '12s');
    assert.equal(formatDuration(125_000), '2m05s');
  });

  it('time left', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(formatTimeLeft(null, now), 'unknown');
    assert.equal(formatTimeLeft('2024-12-31T23:59:00Z', now), 'expired');
    assert.equal(formatTimeLeft('2025-01-01T00:00:42Z', now), '42s');
    assert.equal(formatTimeLeft('2025-01-01T00:14:59Z', now), '14m');
    assert.equal(formatTimeLeft('2025-01-01T01:05:00Z', now), '1h05m');
  });
});

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createIO, isCi } from '../../../src/ui/io.ts';

function streams(options: { tty?: boolean; stdinTty?: boolean; columns?: number; env?: NodeJS.ProcessEnv }) {
  const stderr = Object.assign(new PassThrough(), { isTTY: options.tty ?? true, columns: options.columns ?? 120 }) as unknown as NodeJS.WriteStream;
  const stdin = Object.assign(new PassThrough(), { isTTY: options.stdinTty ?? options.tty ?? true }) as unknown as NodeJS.ReadStream;
  const stdout = new PassThrough() as unknown as NodeJS.WriteStream;
  return { stdin, stdout, stderr, env: options.env ?? { TERM: 'xterm' } };
}

describe('createIO: plain lines or the live UI, colour or not', () => {
  it('a terminal (stdin and stderr), with a size, outside CI: live and coloured', () => {
    const io = createIO(streams({}));
    assert.equal(io.live, true);
    assert.equal(io.colour, true);
    assert.equal(io.canPrompt(), true);
  });

  it('NO_COLOR removes colour only', () => {
    const io = createIO(streams({ env: { TERM: 'xterm', NO_COLOR: '1' } }));
    assert.equal(io.live, true);
    assert.equal(io.colour, false);
  });

  it('CI, TERM=dumb, a pipe, no stdin terminal, or a terminal without a size: plain lines, no colour', () => {
    for (const [what, io] of [
      ['CI', createIO(streams({ env: { TERM: 'xterm', CI: 'true' } }))],
      ['CONTINUOUS_INTEGRATION', createIO(streams({ env: { TERM: 'xterm', CONTINUOUS_INTEGRATION: '1' } }))],
      ['TERM=dumb', createIO(streams({ env: { TERM: 'dumb' } }))],
      ['stderr a pipe', createIO(streams({ tty: false, stdinTty: true }))],
      ['stdin a pipe', createIO(streams({ stdinTty: false }))],
      ['no size', createIO(streams({ columns: 0 }))],
    ] as const) {
      assert.equal(io.live, false, what);
      if (what !== 'stdin a pipe' && what !== 'no size') assert.equal(io.colour, false, what);
    }
  });

  it('CI=false and CI=0 are not CI', () => {
    assert.equal(isCi({ CI: 'false' }), false);
    assert.equal(isCi({ CI: '0' }), false);
    assert.equal(isCi({ CI: '' }), true);
    assert.equal(isCi({}), false);
  });

  it('warnings are yellow only with colour', () => {
    const coloured = streams({});
    let text = '';
    coloured.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    createIO(coloured).warn('careful');
    assert.equal(text, '\u001b[33mwarning:\u001b[39m careful\n');
    const plain = streams({ env: { TERM: 'xterm', NO_COLOR: '' } });
    let plainText = '';
    plain.stderr.on('data', (chunk: Buffer) => (plainText += chunk.toString()));
    createIO(plain).warn('careful');
    assert.equal(plainText, 'warning: careful\n');
  });
});

describe('askSecret on a plain terminal', () => {
  it('turns echo off before the question shows, reads up to Enter, and turns echo back on', async () => {
    const s = streams({ columns: 0 });
    const events: string[] = [];
    Object.assign(s.stdin, { setRawMode: (on: boolean) => events.push(`raw ${on}`) });
    s.stderr.on('data', (chunk: Buffer) => events.push(`shown ${JSON.stringify(chunk.toString())}`));
    const answer = createIO(s).askSecret('PIN for key: ');
    s.stdin.write('12x\u007f34\r');
    assert.equal(await answer, '1234');
    assert.deepEqual(events, ['raw true', 'shown "PIN for key: "', 'raw false', 'shown "\\n"']);
  });
});

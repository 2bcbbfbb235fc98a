import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { describeProgram } from '../../../src/commands/completion.ts';
import { createDeps } from '../../../src/deps.ts';
import { buildProgram } from '../../../src/main.ts';
import { SHELLS, completionScript } from '../../../src/ui/completion.ts';

const program = buildProgram(createDeps({}, new AbortController().signal), () => undefined);
const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];

describe('completion scripts are generated from the program', () => {
  const spec = describeProgram(program);

  it('every shell names every command and every visible flag', () => {
    for (const shell of SHELLS) {
      const script = completionScript(shell, spec);
      for (const command of all(program)) {
        if (command !== program) assert.ok(script.includes(command.name()), `${shell}: ${command.name()}`);
        for (const option of command.options.filter((o) => !o.hidden)) {
          const long = option.long as string;
          const fishName = `-l ${long.slice(2)}`;
          assert.ok(script.includes(long) || script.includes(fishName), `${shell}: ${command.name()} ${long}`);
        }
      }
      assert.ok(!script.replaceAll('tng completion --profiles', '').includes('--profiles'), `${shell}: the hidden --profiles flag is not offered`);
      assert.ok(script.includes('tng completion --profiles'), `${shell}: profile names come from the config at completion time`);
    }
  });

  it('knows which flags take values and which values they accept', () => {
    const find = (path: string[]) => path.reduce((c, name) => c.commands.find((x) => x.name === name) ?? assert.fail(name), spec);
    const option = (path: string[], flag: string) => find(path).options.find((o) => o.flags.includes(flag));
    assert.equal(option(['login'], '--profile')?.value, 'profiles');
    assert.equal(option(['login'], '--device-code')?.value, undefined);
    assert.deepEqual(option(['enroll'], '--uv')?.value, ['required', 'discouraged']);
    assert.deepEqual(option(['init'], '--touch')?.value, ['login', 'exec', 'never']);
    assert.equal(option(['init'], '--vault-cacert')?.value, 'free');
    assert.deepEqual(find(['token-helper']).args[0]?.choices, ['get', 'store', 'erase']);
    assert.equal(find(['exec']).args[0]?.program, true);
    assert.deepEqual(find(['lambda']).commands.map((c) => c.name), ['verify']);
  });
});

describe('help', () => {
  it('every command, and the program, ends its --help with examples', () => {
    for (const command of all(program)) {
      if (command.commands.length > 0 && command !== program) continue; // a group (`tng lambda`) lists its commands
      let text = '';
      command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      command.outputHelp();
      assert.match(text, /\nExamples:\n( {2}\S.*\n?)+/, `tng ${command.name()} --help has no examples`);
    }
  });
});

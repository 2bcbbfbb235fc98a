// The command line itself: shell completions that load and complete in bash, zsh and fish, help with
// examples, the version, and commander's errors as tng's two lines.
import assert from 'node:assert/strict';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VERSION } from '../../src/version.ts';
import { ROOT, createWorld, runProcess, type World } from './harness.ts';

let world: World;
let env: Record<string, string>;
before(async () => {
  world = await createWorld();
  // Two profiles in the config, for --profile completion.
  for (const name of ['work', 'staging']) {
    const init = await world.run(['init', '--profile', name, '--issuer', 'https://dex.example.com/dex', '--client-id', 'tng', '--vault-addr', 'https://vault.example.com', '--vault-role', 'engineer']);
    assert.equal(init.code, 0, init.stderr);
  }
  env = { ...world.env, PATH: `${join(ROOT, 'bin')}${delimiter}${process.env.PATH ?? ''}` };
});
after(async () => {
  await world.dispose();
});

/** What bash's completion function offers for a command line (the last word is the one being completed). */
async function bashComplete(line: string): Promise<string[]> {
  const script = `source <(tng completion bash) || exit 9
COMP_WORDS=(${line}); [[ "${line}" == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
_tng
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = await runProcess('bash', ['--norc', '--noprofile', '-c', script], env);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

describe('tng completion', () => {
  it('bash: the script loads and registers a completion function for tng', async () => {
    const result = await runProcess('bash', ['--norc', '--noprofile', '-c', 'source <(tng completion bash); complete -p tng'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'complete -o default -F _tng tng');
  });

  it('bash: completes commands, subcommands, flags, flag values, arguments and profile names from the config', async () => {
    assert.deepEqual(await bashComplete('tng lo'), ['login', 'logout']);
    assert.ok((await bashComplete('tng ')).includes('credential-process'));
    assert.deepEqual(await bashComplete('tng lambda '), ['verify']);
    assert.deepEqual(await bashComplete('tng login --'), ['--profile', '--device-code', '--no-browser', '--help']);
    assert.deepEqual((await bashComplete('tng whoami --profile ')).sort(), ['staging', 'work']);
    assert.deepEqual(await bashComplete('tng exec --profile w'), ['work']);
    assert.deepEqual(await bashComplete('tng enroll --uv '), ['required', 'discouraged']);
    assert.deepEqual(await bashComplete('tng init --vault-auth '), ['jwt', 'oidc']);
    assert.deepEqual(await bashComplete('tng token-helper '), ['get', 'store', 'erase']);
    assert.deepEqual(await bashComplete('tng completion '), ['bash', 'zsh', 'fish']);
    assert.ok((await bashComplete('tng exec -- ba')).includes('bash'), 'after -- comes a program to run');
    assert.ok(!(await bashComplete('tng ')).includes('--profiles'), 'hidden flags stay hidden');
  });

  it('zsh: the script loads and registers _tng', async () => {
    const result = await runProcess('zsh', ['-f', '-c', 'autoload -U compinit && compinit -u -D && source <(tng completion zsh) && print -r -- $_comps[tng]'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), '_tng');
  });

  it('fish: the script loads and completes commands and profile names', async () => {
    const script = 'tng completion fish | source; complete -C "tng lo"; complete -C "tng login --profile "';
    const result = await runProcess('fish', ['--no-config', '-c', script], env);
    assert.equal(result.code, 0, result.stderr);
    const words = result.stdout.split('\n').map((l) => l.split('\t')[0]);
    assert.ok(words.includes('login') && words.includes('logout') && words.includes('work') && words.includes('staging'), result.stdout);
  });

  it('without a shell, or an unknown one: exit 2 with a hint', async () => {
    const none = await world.run(['completion']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^tng: .*bash, zsh or fish.*\nhint: /);
    const tcsh = await world.run(['completion', 'tcsh']);
    assert.equal(tcsh.code, 2);
    assert.match(tcsh.stderr, /^tng: .*tcsh.*\nhint: /);
  });
});

describe('help, version and usage errors', () => {
  it('--version prints the version on stdout', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await world.run([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `${VERSION}\n`);
    }
  });

  it('--help goes to stderr, with examples, for the program and every command', async () => {
    for (const args of [[], ['login'], ['exec'], ['credential-process'], ['token-helper'], ['lambda', 'verify'], ['completion']]) {
      const result = await world.run([...args, '--help']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /\nExamples:\n {2}\S/, `tng ${args.join(' ')} --help`);
    }
  });

  it('a mistyped command is two lines: what failed, and the suggestion in the hint', async () => {
    const result = await world.run(['logni']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, "tng: unknown command 'logni'\nhint: Did you mean login? Run `tng --help` (or `tng COMMAND --help`) for usage.\n");
  });

  it('a missing command is a usage error (exit 2) that shows the commands to choose from; help asked for is exit 0', async () => {
    for (const args of [[], ['lambda'], ['help', 'frob']]) {
      const result = await world.run(args);
      assert.equal(result.code, 2, `tng ${args.join(' ')}`);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^Usage: tng /, `tng ${args.join(' ')}`);
    }
    assert.equal((await world.run(['lambda', '--help'])).code, 0);
    assert.equal((await world.run(['help', 'exec'])).code, 0);
  });

  it('an empty --role or --role-arn is refused by name (exit 2), not read as the flag left out', async () => {
    for (const [args, flag] of [
      [['exec', '--role', '', '--', 'true'], '--role'],
      [['exec', '--role=', '--', 'true'], '--role'],
      [['exec', '--role-arn', ' ', '--', 'true'], '--role-arn'],
      [['credential-process', '--role', ''], '--role'],
    ] as const) {
      const result = await world.run([...args]);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stderr, `tng: ${flag} was given an empty value.\nhint: Pass ${flag} with a value, or leave ${flag} out to use the profile's setting.\n`);
    }
  });

  it('a reader that stops early (`| true`) ends the output quietly: no EPIPE, no stack trace, the command\'s own status', async () => {
    // doctor takes long enough (it tries the unreachable example servers) that `true` has gone before it writes.
    const script = 'tng doctor --profile work --json | true; echo "status ${PIPESTATUS[0]}" >&2; tng --help 2>&1 | true; echo "status ${PIPESTATUS[0]}" >&2';
    const result = await runProcess('bash', ['--norc', '--noprofile', '-c', script], env, { timeoutMs: 60_000 });
    assert.doesNotMatch(result.stderr, /EPIPE|\n\s+at /, result.stderr);
    const statuses = [...result.stderr.matchAll(/^status (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(statuses.length, 2, result.stderr);
    assert.ok(statuses[0] !== 1, `doctor reported an internal error: ${result.stderr}`);
    assert.equal(statuses[1], 0);
  });
});

// The hot path's parser must read every invocation it accepts exactly as the full program (commander)
// does, and hand everything else to the full program.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { parseHot } from '../../../src/cli/hot.ts';
import { credentialProcessCommand } from '../../../src/commands/credential-process.ts';
import { execCommand } from '../../../src/commands/exec.ts';
import { loginCommand } from '../../../src/commands/login.ts';
import type { Deps } from '../../../src/deps.ts';

/** What commander makes of argv, through the real command builders, or undefined when it refuses it. */
async function viaCommander(argv: string[]): Promise<Record<string, unknown> | undefined> {
  let seen: Record<string, unknown> | undefined;
  const program = new Command('tng').enablePositionalOptions().exitOverride();
  const capture = async (options: object) => {
    seen = { ...options };
    return 0;
  };
  program.addCommand(execCommand({} as Deps, () => undefined, capture as never));
  program.addCommand(credentialProcessCommand({} as Deps, () => undefined, capture as never));
  program.addCommand(loginCommand({} as Deps, () => undefined, capture as never));
  for (const command of program.commands) command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch {
    return undefined;
  }
  return seen;
}

function fromHot(argv: string[]): Record<string, unknown> | undefined {
  const hot = parseHot(argv);
  if (hot === undefined) return undefined;
  if (hot.command === 'credential-process') return { profile: hot.profile, role: hot.role };
  if (hot.command === 'login') return { profile: hot.profile, deviceCode: hot.deviceCode, noBrowser: hot.noBrowser };
  return {
    profile: hot.profile,
    command: hot.program,
    args: hot.args,
    role: hot.role,
    roleArn: hot.roleArn,
    ttlSeconds: hot.ttl === undefined ? undefined : hot.ttl === '1h' ? 3600 : hot.ttl === '20m' ? 1200 : Number.NaN,
    noAws: !hot.aws,
    noVault: !hot.vault,
    noServer: !hot.server,
  };
}

const ACCEPTED = [
  ['exec', '--', 'terraform', 'apply'],
  ['exec', 'terraform', 'apply', '-auto-approve'],
  ['exec', '--profile', 'work', '--', 'aws', 's3', 'ls'],
  ['exec', '--profile=work', '--role', 'readonly', '--', 'aws', '--profile', 'x'],
  ['exec', '--role-arn', 'arn:aws:iam::1:role/r', '--ttl', '1h', '--no-server', '--', 'sh', '-c', 'echo $X'],
  ['exec', '--no-aws', '--no-vault', 'env'],
  ['exec', '--ttl=20m', 'sh', '--', '--help'],
  ['exec', '--', '--role'],
  ['credential-process'],
  ['credential-process', '--profile', 'work'],
  ['credential-process', '--role=deploy', '--profile', 'p'],
  ['login'],
  ['login', '--profile', 'work'],
  ['login', '--device-code'],
  ['login', '--no-browser', '--profile=work'],
  ['login', '--device-code', '--no-browser', '--'],
];

const DECLINED = [
  ['exec'],
  ['exec', '--'],
  ['exec', '--help'],
  ['exec', '-h', '--', 'true'],
  ['exec', '--bogus', '--', 'true'],
  ['exec', '--profile'],
  ['exec', '--profile', '--', 'true'],
  ['exec', '--profile', 'a', '--profile', 'b', '--', 'true'],
  ['credential-process', 'extra'],
  ['credential-process', '--no-aws'],
  ['credential-process', '--help'],
  ['login', 'extra'],
  ['login', '--help'],
  ['login', '--browser'],
  ['login', '--profile'],
  ['login', '--role', 'x'],
  ['--version'],
  [],
];

describe('the hot path parser', () => {
  for (const argv of ACCEPTED) {
    it(`reads ${JSON.stringify(argv)} as commander does`, async () => {
      const expected = await viaCommander(argv);
      assert.ok(expected, 'commander accepts it');
      assert.deepEqual(fromHot(argv), { profile: undefined, ...expected });
    });
  }
  for (const argv of DECLINED) {
    it(`leaves ${JSON.stringify(argv)} to the full program`, () => {
      assert.equal(parseHot(argv), undefined);
    });
  }
});

/**
 * The `tng` executable's entry: a plain `exec`, `credential-process` or `login` takes the hot path (no
 * commander, only what that command loads); everything else loads the full command-line program (../main.ts).
 */
import { parseDuration } from '../duration.ts';
import { parseHot, type HotInvocation } from './hot.ts';
import { exitWith, runCommand } from './runtime.ts';

async function runHot(invocation: HotInvocation): Promise<number> {
  return runCommand(process.env, async (deps) => {
    if (invocation.command === 'login') {
      const { runLogin } = await import('../commands/login-run.ts');
      return runLogin({ profile: invocation.profile, deviceCode: invocation.deviceCode, noBrowser: invocation.noBrowser }, deps);
    }
    if (invocation.command === 'credential-process') {
      const { runCredentialProcess } = await import('../aws/credential-process.ts');
      return runCredentialProcess({ profile: invocation.profile, role: invocation.role }, deps);
    }
    const { runExec } = await import('../exec/command.ts');
    return runExec(
      {
        profile: invocation.profile,
        command: invocation.program,
        args: invocation.args,
        role: invocation.role,
        roleArn: invocation.roleArn,
        ttlSeconds: invocation.ttl === undefined ? undefined : parseDuration(invocation.ttl, '--ttl'),
        noAws: !invocation.aws,
        noVault: !invocation.vault,
        noServer: !invocation.server,
      },
      deps,
    );
  });
}

/** Runs tng with this process's arguments and exits with its status. */
export async function run(): Promise<void> {
  const hot = parseHot(process.argv.slice(2));
  if (hot !== undefined) {
    // exec and credential-process write to stdout only through runCommand's IO (a login may also draw the live UI).
    exitWith(await runHot(hot), { stdoutFlushed: hot.command !== 'login' });
    return;
  }
  const main = await import('../main.ts');
  await main.run();
}

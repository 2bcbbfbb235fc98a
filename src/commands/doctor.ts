import { Command } from 'commander';
import type { Deps } from '../deps.ts';
import type { DoctorDeps } from '../doctor/doctor.ts';
import { withProfile, type Done } from './shared.ts';

export interface DoctorOptions {
  profile?: string;
  json: boolean;
}

export function doctorCommand(deps: Deps, done: Done, run = runDoctor): Command {
  return withProfile(new Command('doctor'))
    .description('check config, issuer and JWKS, Vault health, clock skew, keychain, session and plaintext credentials')
    .option('--json', 'print one JSON object on stdout', false)
    .addHelpText(
      'after',
      `
Each check reports ok, a warning (!) or a failure (✘) with a hint. The exit status is 0 unless a check
failed; then it is the exit code of the first failure (config 2, a server 6, the keychain 7).

Examples:
  tng doctor
  tng doctor --json | jq '.checks[] | select(.status != "ok")'`,
    )
    .action(async (flags: { profile?: string; json: boolean }) => {
      done(await run({ profile: flags.profile, json: flags.json }, deps));
    });
}

/** What doctor can reach: no browser, no authenticator, and the keychain only to read. */
export type DoctorCommandDeps = DoctorDeps & Pick<Deps, 'io'>;

export async function runDoctor(options: DoctorOptions, deps: DoctorCommandDeps): Promise<number> {
  const { diagnose } = await import('../doctor/doctor.ts');
  const { exitCodeOf, formatHuman, toJson } = await import('../doctor/report.ts');
  const report = await diagnose({ profile: options.profile }, deps);
  if (options.json) {
    deps.io.out(`${JSON.stringify(toJson(report))}\n`);
  } else {
    for (const line of formatHuman(report, deps.io.colour)) deps.io.info(line);
  }
  return exitCodeOf(report.checks);
}

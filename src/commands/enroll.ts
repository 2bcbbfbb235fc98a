import { Command } from 'commander';
import { loadProfile, readConfigFile, writeConfigFile } from '../config/file.ts';
import type { UvPolicy } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { usageError } from '../errors.ts';
import { withScreen } from '../ui/screen.ts';
import { withProfile, type Done } from './shared.ts';

export interface EnrollCommandOptions {
  profile?: string;
  add: boolean;
  uv?: UvPolicy;
}

export function enrollCommand(deps: Deps, done: Done, run = runEnroll): Command {
  return withProfile(new Command('enroll'))
    .description('enrol a FIDO2 security key (hmac-secret) for the profile; --add enrols a backup key')
    .option('--add', 'enrol a further (backup) key beside the enrolled ones', false)
    .option('--uv <policy>', 'required: ask the key\'s PIN at every touch; discouraged: touch only (asked on a terminal when the key has a PIN)')
    .addHelpText('after', '\nExamples:\n  tng enroll\n  tng enroll --add          # with the enrolled key and the backup key both plugged in\n  tng enroll --uv required  # PIN and touch')
    .action(async (flags: { profile?: string; add: boolean; uv?: string }) => {
      if (flags.uv !== undefined && flags.uv !== 'required' && flags.uv !== 'discouraged') {
        throw usageError('enroll.uv', `--uv must be "required" or "discouraged", got "${flags.uv}".`, 'Pass --uv required or --uv discouraged.');
      }
      done(await run({ profile: flags.profile, add: flags.add, uv: flags.uv as UvPolicy | undefined }, deps));
    });
}

export async function runEnroll(options: EnrollCommandOptions, deps: Deps): Promise<number> {
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const { enroll } = await import('../hardware/enroll.ts');
  // On a terminal: the blinking touch prompt and the masked PIN field of the live UI.
  const entry = await withScreen(deps.io, (io) => enroll(profile, { add: options.add, uv: options.uv }, { ...deps, io }));
  // Re-read the file: only this profile's fido2 entries change.
  const config = await readConfigFile(deps.paths.config);
  const table = config.profiles[profile.name] ?? {};
  table.fido2 = options.add ? [...(table.fido2 ?? []), entry] : [entry];
  config.profiles[profile.name] = table;
  await writeConfigFile(deps.paths.config, config);
  // The trail keeps the public key, so signatures stay verifiable after re-enrolment or with a backup key.
  const { appendEntry } = await import('../audit/chain.ts');
  await appendEntry(deps.paths.state, {
    event: 'enroll',
    profile: profile.name,
    credential_id: entry.credential_id,
    public_key: entry.public_key,
    aaguid: entry.aaguid,
    rp_id: entry.rp_id,
    uv: entry.uv,
  });
  const count = table.fido2.length;
  deps.io.info(`Profile "${profile.name}": ${count} key${count === 1 ? '' : 's'} enrolled (credential ${entry.credential_id.slice(0, 12)}…, PIN ${entry.uv === 'required' ? 'required' : 'not required'}); every login now needs a touch.`);
  return 0;
}

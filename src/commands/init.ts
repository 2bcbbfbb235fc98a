import { Command } from 'commander';
import { checkProfileName, readConfigFile, writeConfigFile } from '../config/file.ts';
import { PROFILE_KEYS, REQUIRED_KEYS, checkProfileValue, validateProfile, type ProfileTable } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { usageError } from '../errors.ts';
import { itemKey } from '../keychain/store.ts';
import { withProfile, type Done } from './shared.ts';

export interface InitOptions {
  profile?: string;
  /** Profile keys given on the command line, in config-file form. */
  values: ProfileTable;
  clientSecretStdin: boolean;
  makeDefault: boolean;
}

type SettableKey = Exclude<keyof ProfileTable, 'fido2'>;
const SETTABLE_KEYS = (Object.keys(PROFILE_KEYS) as (keyof ProfileTable)[]).filter((k): k is SettableKey => k !== 'fido2');

const flagOf = (key: string) => key.replace(/_/g, '-');
const camelOf = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Converts a flag's text into the config value it stands for. */
export function parseFlagValue(key: SettableKey, text: string): unknown {
  const spec = PROFILE_KEYS[key];
  if (spec.kind === 'port') {
    return /^\d+$/.test(text) ? Number(text) : text;
  }
  if (spec.kind === 'string[]') return text.split(/[\s,]+/).filter(Boolean);
  return text;
}

export function initCommand(deps: Deps, done: Done, run = runInit): Command {
  const command = withProfile(new Command('init'))
    .description('write or update a profile in the config file')
    .option('--client-secret-stdin', 'read a confidential client secret from stdin and keep it in the keychain', false)
    .option('--make-default', 'make this profile the default_profile', false)
    .addHelpText(
      'after',
      `
Examples:
  tng init --issuer https://dex.example.com/dex --client-id tng \\
           --vault-addr https://vault.example.com --vault-role engineer --aws-role deploy
  tng init --profile staging --aws-region eu-west-1
  printf '%s' "$SECRET" | tng init --client-secret-stdin`,
    );
  for (const key of SETTABLE_KEYS) {
    command.option(`--${flagOf(key)} <value>`, PROFILE_KEYS[key].description);
  }
  return command.action(async (flags: Record<string, unknown>) => {
    const values: ProfileTable = {};
    for (const key of SETTABLE_KEYS) {
      const text = flags[camelOf(key)];
      if (typeof text === 'string') (values as Record<string, unknown>)[key] = parseFlagValue(key, text);
    }
    done(
      await run(
        {
          profile: flags.profile as string | undefined,
          values,
          clientSecretStdin: Boolean(flags.clientSecretStdin),
          makeDefault: Boolean(flags.makeDefault),
        },
        deps,
      ),
    );
  });
}

export async function runInit(options: InitOptions, deps: Pick<Deps, 'env' | 'io' | 'paths' | 'keychain'>): Promise<number> {
  const config = await readConfigFile(deps.paths.config);
  const existingNames = Object.keys(config.profiles);
  const name = checkProfileName(
    options.profile ??
      (deps.env.TNG_PROFILE || undefined) ??
      config.default_profile ??
      (existingNames.length === 1 ? (existingNames[0] as string) : 'default'),
  );
  const table: ProfileTable = { ...config.profiles[name] };
  for (const [key, value] of Object.entries(options.values)) {
    (table as Record<string, unknown>)[key] = checkProfileValue(name, key as SettableKey, value);
  }

  const missing = REQUIRED_KEYS.filter((key) => table[key] === undefined);
  if (missing.length > 0 && deps.io.canPrompt()) {
    deps.io.info(`Profile "${name}" needs a few values.`);
    for (const key of missing) {
      const answer = await deps.io.ask(`${key} (${PROFILE_KEYS[key].description}): `);
      if (answer !== '') (table as Record<string, unknown>)[key] = checkProfileValue(name, key as SettableKey, parseFlagValue(key as SettableKey, answer));
    }
  }
  const stillMissing = REQUIRED_KEYS.filter((key) => table[key] === undefined);
  if (stillMissing.length > 0) {
    throw usageError(
      'init.missing',
      `Profile "${name}" lacks ${stillMissing.join(', ')}.`,
      `Pass ${stillMissing.map((k) => `--${flagOf(k)} VALUE`).join(' ')} (or run tng init on a terminal to be asked).`,
    );
  }
  validateProfile(name, table);

  let secret: string | undefined;
  if (options.clientSecretStdin) {
    secret = (await deps.io.readStdin()).replace(/\r?\n$/, '');
    if (secret === '') {
      throw usageError('init.secret-empty', 'No client secret arrived on stdin.', "Pipe the secret in, e.g. `printf '%s' \"$SECRET\" | tng init --client-secret-stdin`.");
    }
  }

  config.profiles[name] = table;
  if (options.makeDefault || config.default_profile === undefined) config.default_profile = name;
  if (secret !== undefined) {
    const store = await deps.keychain();
    await store.set(itemKey(name, 'client-secret'), secret);
  }
  await writeConfigFile(deps.paths.config, config);
  deps.io.info(`Profile "${name}" written to ${deps.paths.config}${secret !== undefined ? ' (client secret kept in the keychain)' : ''}.`);
  return 0;
}

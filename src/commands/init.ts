import { Command } from 'commander';
import { resolve } from 'node:path';
import { readConfigFile, selectProfileName, writeConfigFile } from '../config/file.ts';
import { PROFILE_KEYS, REQUIRED_KEYS, checkProfileValue, validateProfile, type ProfileTable } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { isTngError, usageError } from '../errors.ts';
import { removeIfEmpty, updateProfileKeys } from '../keychain/profile-keys.ts';
import { requireSecureUrl } from '../net/url.ts';
import { withScreen } from '../ui/screen.ts';
import { withProfile, type Done } from './shared.ts';

export interface InitOptions {
  profile?: string;
  /** Profile keys given on the command line, in config-file form. */
  values: ProfileTable;
  clientSecretStdin: boolean;
  /** Drop the stored client secret (the client is public after all). */
  forgetClientSecret?: boolean;
  makeDefault: boolean;
}

/** `tng init --list-templates` and `tng init --template NAME DIR`. */
export interface InitTemplateOptions {
  action: 'list' | 'write';
  template?: string;
  dir?: string;
  force: boolean;
  json: boolean;
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

export function initCommand(deps: Deps, done: Done, run = runInit, runTemplate = runInitTemplate): Command {
  const command = withProfile(new Command('init'))
    .description('write or update a profile in the config file, or write a template (--template NAME DIR)')
    .argument('[dir]', 'with --template: the directory to write the template into')
    .option('--client-secret-stdin', 'read a confidential client secret from stdin and keep it in the keychain', false)
    .option('--no-client-secret', 'forget the client secret kept in the keychain (a public client)')
    .option('--make-default', 'make this profile the default_profile', false)
    .option('--template <name>', 'write this template (dex, vault, lambda) into DIR instead of touching the config')
    .option('--list-templates', 'list the templates', false)
    .option('--force', 'with --template: overwrite files that already exist in DIR', false)
    .option('--json', 'with --template or --list-templates: print the result as JSON on stdout', false)
    .addHelpText(
      'after',
      `
Examples:
  tng init --issuer https://dex.example.com/dex --client-id tng \\
           --vault-addr https://vault.example.com --vault-role engineer --aws-role deploy
  tng init --profile staging --aws-region eu-west-1
  printf '%s' "$SECRET" | tng init --client-secret-stdin
  tng init --list-templates
  tng init --template lambda ./webhook`,
    );
  for (const key of SETTABLE_KEYS) {
    command.option(`--${flagOf(key)} <value>`, PROFILE_KEYS[key].description);
  }
  return command.action(async (dir: string | undefined, flags: Record<string, unknown>) => {
    const values: ProfileTable = {};
    for (const key of SETTABLE_KEYS) {
      const text = flags[camelOf(key)];
      if (typeof text === 'string') (values as Record<string, unknown>)[key] = parseFlagValue(key, text);
    }
    const template = flags.template as string | undefined;
    const listing = Boolean(flags.listTemplates);
    if (template !== undefined || listing) {
      done(await runTemplate(templateOptions(template, listing, dir, flags, values), deps));
      return;
    }
    if (dir !== undefined) {
      throw usageError('init.argument', `Unexpected argument "${dir}".`, 'A directory is only given with --template NAME DIR; profile values are --kebab-case flags.');
    }
    if (flags.force || flags.json) {
      throw usageError('init.template-flag', `--${flags.force ? 'force' : 'json'} only applies to --template and --list-templates.`, 'Run `tng init --help` for the flags that set profile values.');
    }
    done(
      await run(
        {
          profile: flags.profile as string | undefined,
          values,
          clientSecretStdin: Boolean(flags.clientSecretStdin),
          forgetClientSecret: flags.clientSecret === false,
          makeDefault: Boolean(flags.makeDefault),
        },
        deps,
      ),
    );
  });
}

function templateOptions(template: string | undefined, listing: boolean, dir: string | undefined, flags: Record<string, unknown>, values: ProfileTable): InitTemplateOptions {
  if (template !== undefined && listing) {
    throw usageError('init.template-flag', '--template and --list-templates do not go together.', 'Run `tng init --list-templates`, then `tng init --template NAME DIR`.');
  }
  if (Object.keys(values).length > 0 || flags.clientSecretStdin || flags.clientSecret === false || flags.makeDefault) {
    throw usageError('init.template-flag', `--${listing ? 'list-templates' : 'template'} does not touch the config, so profile flags make no sense with it.`, 'Run the two as separate `tng init` commands.');
  }
  if (listing) {
    if (dir !== undefined) throw usageError('init.argument', `Unexpected argument "${dir}".`, 'Run `tng init --list-templates` on its own.');
    if (flags.force) throw usageError('init.template-flag', '--force only applies to --template.', 'Run `tng init --list-templates` without it.');
    return { action: 'list', force: false, json: Boolean(flags.json) };
  }
  if (dir === undefined || dir.trim() === '') {
    throw usageError('init.template-dir', `--template ${template} needs a directory to write into.`, `Run \`tng init --template ${template} DIR\` (DIR is created when missing).`);
  }
  return { action: 'write', template, dir, force: Boolean(flags.force), json: Boolean(flags.json) };
}

/** Lists the templates, or writes one into a directory; never reads or writes the config. */
export async function runInitTemplate(options: InitTemplateOptions, deps: Pick<Deps, 'io'>): Promise<number> {
  const { findTemplate, listTemplates } = await import('../templates/catalogue.ts');
  if (options.action === 'list') {
    const templates = await listTemplates();
    if (options.json) {
      deps.io.out(`${JSON.stringify(templates.map(({ name, description, files }) => ({ name, description, files })))}\n`);
      return 0;
    }
    const width = Math.max(...templates.map((t) => t.name.length));
    for (const t of templates) deps.io.info(`${t.name.padEnd(width)}  ${t.description}`);
    deps.io.info('');
    deps.io.info('Write one with: tng init --template NAME DIR');
    return 0;
  }

  const template = await findTemplate(options.template ?? '');
  const { writeTemplate } = await import('../templates/write.ts');
  const dir = options.dir ?? '';
  const result = await writeTemplate(template, dir, { force: options.force });
  if (options.json) {
    deps.io.out(`${JSON.stringify({ template: template.name, dir: result.dir, files: result.files, replaced: result.replaced })}\n`);
    return 0;
  }
  const replaced = result.replaced.length > 0 ? `, ${result.replaced.length} of them replaced` : '';
  deps.io.info(`Wrote the ${template.name} template to ${result.dir} (${result.files.length} files${replaced}):`);
  for (const file of result.files) deps.io.info(`  ${file}`);
  deps.io.info('Next:');
  template.next(dir).forEach((step, i) => deps.io.info(`  ${i + 1}. ${step}`));
  return 0;
}

export async function runInit(options: InitOptions, deps: Pick<Deps, 'env' | 'io' | 'paths' | 'keychain'>): Promise<number> {
  const config = await readConfigFile(deps.paths.config);
  // As every command picks it; with no profile at all, init makes the first one, "default".
  const name = selectProfileName(config, options.profile, deps.env, 'default');
  if (options.clientSecretStdin && options.forgetClientSecret) {
    throw usageError('init.secret-flags', '--client-secret-stdin and --no-client-secret do not go together.', 'Give the new secret with --client-secret-stdin alone, or drop the stored one with --no-client-secret.');
  }
  const table: ProfileTable = { ...config.profiles[name] };
  for (const [key, value] of Object.entries(options.values)) {
    (table as Record<string, unknown>)[key] = checkProfileValue(name, key as SettableKey, value);
  }

  const missing = REQUIRED_KEYS.filter((key) => table[key] === undefined);
  if (missing.length > 0 && deps.io.canPrompt()) {
    // A short wizard: one question per missing value, asked again while the answer is not valid.
    await withScreen(deps.io, async (io) => {
      io.info(`Profile "${name}" needs ${missing.length} value${missing.length === 1 ? '' : 's'} (Enter leaves one unset):`);
      for (const [i, key] of missing.entries()) {
        for (;;) {
          const answer = await io.ask(`[${i + 1}/${missing.length}] ${key} (${PROFILE_KEYS[key].description}): `);
          if (answer === '') break;
          try {
            const value = checkProfileValue(name, key as SettableKey, parseFlagValue(key as SettableKey, answer));
            if (key === 'issuer' || key === 'vault_addr') requireSecureUrl(answer, key);
            (table as Record<string, unknown>)[key] = value;
            break;
          } catch (error) {
            if (!isTngError(error, 'usage')) throw error;
            io.warn(`${error.message} ${error.hint}`);
          }
        }
      }
    });
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
  if (options.values.vault_cacert !== undefined) {
    // Kept absolute: a path relative to where init ran would name another file, or none, from anywhere else.
    table.vault_cacert = resolve(table.vault_cacert as string);
    const { readCaFile } = await import('../net/cacert.ts');
    await readCaFile(table.vault_cacert);
  }

  let secret: string | undefined;
  if (options.clientSecretStdin) {
    // Typed at a terminal rather than piped in, the secret is asked for without echo, as a password would be.
    secret = deps.io.canPrompt() ? await deps.io.askSecret('Client secret (not shown): ') : (await deps.io.readStdin()).replace(/\r?\n$/, '');
    if (secret === '') {
      throw usageError('init.secret-empty', 'No client secret arrived on stdin.', "Pipe the secret in, e.g. `printf '%s' \"$SECRET\" | tng init --client-secret-stdin`.");
    }
  }

  config.profiles[name] = table;
  if (options.makeDefault || config.default_profile === undefined) config.default_profile = name;
  if (secret !== undefined) {
    const clientSecret = secret;
    const store = await deps.keychain();
    await updateProfileKeys(store, name, (keys) => ({ ...keys, clientSecret }));
  }
  if (options.forgetClientSecret) {
    const store = await deps.keychain();
    await updateProfileKeys(store, name, ({ dataKeys }) => ({ dataKeys }));
    await removeIfEmpty(store, name);
  }
  await writeConfigFile(deps.paths.config, config);
  const secretNote = secret !== undefined ? ' (client secret kept in the keychain)' : options.forgetClientSecret ? ' (no client secret kept)' : '';
  deps.io.info(`Profile "${name}" written to ${deps.paths.config}${secretNote}.`);
  if (table.touch !== undefined && table.touch !== 'never' && (table.fido2 ?? []).length === 0) {
    // Valid now, as enrolling needs the profile first; said here so that the next login's refusal is no surprise.
    deps.io.info(`touch = "${table.touch}" needs an enrolled security key: run \`tng enroll --profile ${name}\` before \`tng login\`.`);
  }
  return 0;
}

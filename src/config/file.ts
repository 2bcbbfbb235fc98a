import { readFileSync, realpathSync } from 'node:fs';
import { parse, stringify } from 'smol-toml';
import { describe, usageError, type TngError } from '../errors.ts';
import { editConfigText } from './edit.ts';
import { writeFileAtomic } from '../state/atomic.ts';
import { checkProfileValue, validateProfile, type Fido2Entry, type Profile, type ProfileTable } from './profile.ts';

/** config.toml as stored: `default_profile` and one table per profile. */
export interface ConfigFile {
  default_profile?: string;
  profiles: Record<string, ProfileTable>;
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) {
    throw usageError(
      'profile.name-invalid',
      `"${name}" is not a valid profile name.`,
      'Use letters, digits, ".", "_" or "-" (at most 64 characters), starting with a letter or digit.',
    );
  }
  return name;
}

/** Reads config.toml; a missing file is an empty config. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string | undefined;
  try {
    text = currentText(path);
  } catch (error) {
    throw usageError('config.unreadable', `Cannot read the config file ${path}: ${describe(error)}.`, 'Check the file and its permissions.', error);
  }
  if (text === undefined) return { profiles: {} };
  let data: Record<string, unknown>;
  try {
    data = parse(text);
  } catch (error) {
    const firstLine = describe(error).split('\n')[0];
    const { line, column } = error as { line?: unknown; column?: unknown };
    const where = typeof line === 'number' && typeof column === 'number' ? ` (line ${line}, column ${column})` : '';
    throw usageError('config.syntax', `The config file ${path} is not valid TOML${where}: ${firstLine}`, 'Fix the syntax, or move the file away and run `tng init`.', error);
  }
  for (const key of Object.keys(data)) {
    if (key !== 'default_profile' && key !== 'profiles') {
      throw usageError('config.invalid', `Invalid config: unknown top-level key "${key}" in ${path}.`, 'Only default_profile and [profiles.NAME] tables belong at the top level.');
    }
  }
  const profiles = data.profiles ?? {};
  if (typeof profiles !== 'object' || Array.isArray(profiles)) {
    throw usageError('config.invalid', `Invalid config: "profiles" in ${path} must be a table.`, 'Write each profile as a [profiles.NAME] table.');
  }
  const defaultProfile = data.default_profile;
  if (defaultProfile !== undefined && typeof defaultProfile !== 'string') {
    throw usageError('config.invalid', 'Invalid config: default_profile must be a string.', 'Set default_profile = "NAME".');
  }
  return { default_profile: defaultProfile, profiles: profiles as Record<string, ProfileTable> };
}

/** Writes config.toml atomically: directory 0700, file 0600, rename over the old file. */
export async function writeConfigFile(path: string, config: ConfigFile): Promise<void> {
  const body: Record<string, unknown> = {};
  if (config.default_profile !== undefined) body.default_profile = config.default_profile;
  body.profiles = config.profiles;
  // A config kept as a symlink (a dotfiles repo) is written where it points, not replaced by a plain file.
  const target = linkTarget(path);
  try {
    const kept = currentText(target); // edited in place, so that its comments stay
    const text = (kept ? editConfigText(kept, body) : undefined) ?? `# tng configuration: public values only, never a secret.\n${stringify(body)}\n`;
    await writeFileAtomic(target, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw usageError(
      'config.unwritable',
      `Cannot write the config file ${path} (${code ?? describe(error)}).`,
      'Make its directory writable, or point TNG_CONFIG (or XDG_CONFIG_HOME) at a place you can write.',
      error,
    );
  }
}

/** The file's text; undefined when there is none yet. */
function currentText(path: string): string | undefined {
  try {
    // Synchronous: one small file, read before anything else can run (and a thread-pool round trip less).
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function linkTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path; // not there yet (or a dangling link): written as named
  }
}

/**
 * Which profile a command uses: --profile, else TNG_PROFILE, else default_profile, else the only one; with
 * no profile at all, `whenNone` (init's first profile) or a usage error.
 */
export function selectProfileName(config: ConfigFile, flag: string | undefined, env: NodeJS.ProcessEnv, whenNone?: string): string {
  const chosen = flag ?? (env.TNG_PROFILE || undefined) ?? config.default_profile;
  if (chosen !== undefined) return checkProfileName(chosen);
  const names = Object.keys(config.profiles);
  if (names.length === 1) return names[0] as string;
  if (names.length === 0 && whenNone !== undefined) return whenNone;
  if (names.length === 0) {
    throw usageError('config.missing', 'No profile is configured.', 'Run `tng init --issuer URL --client-id ID --vault-addr URL --vault-role ROLE` first.');
  }
  throw usageError('profile.ambiguous', `Several profiles exist (${names.join(', ')}) and none is the default.`, 'Pass --profile NAME, set TNG_PROFILE, or set default_profile in the config.');
}

/** Loads and validates the profile a command runs with. */
export async function loadProfile(path: string, flag: string | undefined, env: NodeJS.ProcessEnv): Promise<Profile> {
  const config = await readConfigFile(path);
  const name = selectProfileName(config, flag, env);
  const table = config.profiles[name];
  if (table === undefined) throw unknownProfile(config, name);
  return validateProfile(name, table);
}

export function unknownProfile(config: ConfigFile, name: string): TngError {
  const known = Object.keys(config.profiles);
  return usageError(
    'profile.unknown',
    `Unknown profile "${name}"${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}.`,
    `Run \`tng init --profile ${name} ...\` to create it, or pick another with --profile.`,
  );
}

/** Every profile's enrolled credentials; a profile whose entries are broken offers none (its own commands say why). */
export function enrolledCredentials(config: ConfigFile): Array<{ profile: string; entry: Fido2Entry }> {
  const found: Array<{ profile: string; entry: Fido2Entry }> = [];
  for (const [profile, table] of Object.entries(config.profiles)) {
    if (table?.fido2 === undefined) continue;
    try {
      for (const entry of checkProfileValue(profile, 'fido2', table.fido2) as Fido2Entry[]) found.push({ profile, entry });
    } catch {
      // reported by the profile's own commands
    }
  }
  return found;
}

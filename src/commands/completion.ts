import { Argument, Command, Option } from 'commander';
import { readConfigFile } from '../config/file.ts';
import { PROFILE_KEYS } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { usageError } from '../errors.ts';
import { SHELLS, completionScript, type CompletionCommand, type CompletionOption, type Shell } from '../ui/completion.ts';
import { withProfile, type Done } from './shared.ts';

export interface CompletionOptions {
  shell?: string;
  /** Print the config's profile names, one a line (what the scripts call to complete --profile). */
  profiles: boolean;
}

/** Values a flag or argument accepts where commander does not know them (the commands check them themselves). */
const FLAG_CHOICES: Record<string, string[]> = {
  '--uv': ['required', 'discouraged'],
  ...Object.fromEntries(
    Object.entries(PROFILE_KEYS)
      .filter(([, spec]) => spec.kind === 'enum' && spec.values)
      .map(([key, spec]) => [`--${key.replace(/_/g, '-')}`, spec.values as string[]]),
  ),
};
const ARGUMENT_CHOICES: Record<string, string[]> = {
  'token-helper operation': ['get', 'store', 'erase'],
  'audit action': ['export'],
};

function optionSpec(option: Option): CompletionOption {
  const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
  const takesValue = option.required || option.optional;
  const value = !takesValue
    ? undefined
    : option.long === '--profile'
      ? 'profiles'
      : (option.argChoices ?? FLAG_CHOICES[option.long ?? '']) || 'free';
  return { flags, description: option.description, ...(value !== undefined ? { value } : {}) };
}

/** The program as the completion generators see it: visible commands, flags and arguments. */
export function describeProgram(command: Command): CompletionCommand {
  const options = command.options.filter((o) => !o.hidden).map(optionSpec);
  options.push({ flags: ['-h', '--help'], description: 'show help' });
  return {
    name: command.name(),
    description: command.description(),
    options,
    args: command.registeredArguments.map((arg) => ({
      name: arg.name(),
      required: arg.required,
      variadic: arg.variadic,
      ...(command.name() === 'exec' && arg.name() === 'command' ? { program: true } : {}),
      ...((arg.argChoices ?? ARGUMENT_CHOICES[`${command.name()} ${arg.name()}`]) ? { choices: arg.argChoices ?? ARGUMENT_CHOICES[`${command.name()} ${arg.name()}`] } : {}),
    })),
    commands: command.commands.map((c) => describeProgram(c)),
  };
}

export function completionCommand(deps: Deps, done: Done, run = runCompletion): Command {
  // --profile is accepted like on every command; the script is the same for every profile.
  const command: Command = withProfile(new Command('completion'))
    .description('print a shell completion script (commands, flags, profile names) for bash, zsh or fish')
    .addArgument(new Argument('[shell]', 'bash, zsh or fish').choices(SHELLS))
    .addOption(new Option('--profiles', 'print the profile names (used by the scripts)').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  source <(tng completion bash)                      # in ~/.bashrc
  source <(tng completion zsh)                       # in ~/.zshrc (after compinit)
  tng completion fish > ~/.config/fish/completions/tng.fish`,
    )
    .action(async (shell: string | undefined, flags: { profiles?: boolean }) => {
      const root = command.parent ?? command;
      done(await run({ shell, profiles: Boolean(flags.profiles) }, deps, () => describeProgram(root)));
    });
  return command;
}

export async function runCompletion(options: CompletionOptions, deps: Pick<Deps, 'io' | 'paths'>, program: () => CompletionCommand): Promise<number> {
  if (options.profiles) {
    // Completion must never print an error into the person's command line: a broken config lists nothing.
    const names = await readConfigFile(deps.paths.config).then((c) => Object.keys(c.profiles), () => []);
    deps.io.out(names.map((n) => `${n}\n`).join(''));
    return 0;
  }
  if (options.shell === undefined) {
    throw usageError('completion.shell', 'Which shell? `tng completion` needs bash, zsh or fish.', 'Run `tng completion bash` (or zsh, or fish); see `tng completion --help`.');
  }
  deps.io.out(completionScript(options.shell as Shell, program()));
  return 0;
}

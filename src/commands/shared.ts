import type { Command } from 'commander';

/** Reports a command's exit status to main. */
export type Done = (code: number) => void;

/** Every command takes --profile NAME. */
export function withProfile(command: Command): Command {
  return command.option('--profile <name>', 'profile to use (default: $TNG_PROFILE, default_profile, or the only profile)');
}

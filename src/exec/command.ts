import { loadProfile } from '../config/file.ts';
import { prepareKeychain, type Deps } from '../deps.ts';
import { usageError } from '../errors.ts';
import type { ExecPlan } from './run.ts';

export interface ExecOptions extends ExecPlan {
  profile?: string;
}

export async function runExec(options: ExecOptions, deps: Deps): Promise<number> {
  const parent = deps.env.TNG_AUDIT_ID;
  if (parent) {
    throw usageError(
      'exec.nested',
      `Already inside \`tng exec\` (audit id ${parent}).`,
      'Use the parent\'s credentials, which are already in this environment, instead of nesting tng exec.',
    );
  }
  prepareKeychain(deps);
  const profile = await loadProfile(deps.paths.config, options.profile, deps.env);
  const { execute } = await import('../exec/run.ts');
  return execute(profile, options, deps);
}

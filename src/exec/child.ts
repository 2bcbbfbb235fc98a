import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { reportTiming, timingStart } from '../debug/timing.ts';
import { TngError } from '../errors.ts';

export interface ChildOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** A person at a terminal: the child already receives the terminal's SIGINT and SIGQUIT itself. */
  terminal: boolean;
  /** Runs once the child has started (e.g. the audit append, off the start-up path). */
  onStart?: (pid: number) => Promise<void> | void;
}

/**
 * Runs the command with inherited stdio and returns its exit status, or 128+N when signal N ended it.
 * SIGTERM and SIGHUP are forwarded; SIGINT and SIGQUIT only without a terminal, because on a terminal the
 * child gets them already and a second interrupt makes terraform abort mid-apply.
 */
export function runChild(options: ChildOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const spawnedAt = timingStart();
    const child = spawn(options.command, options.args, { stdio: 'inherit', env: options.env });
    const forwarded: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', ...(options.terminal ? [] : (['SIGINT', 'SIGQUIT'] as NodeJS.Signals[]))];
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const signal of forwarded) handlers.set(signal, () => child.kill(signal));
    if (options.terminal) {
      // tng waits for the child to act on the interrupt and reports its status.
      for (const signal of ['SIGINT', 'SIGQUIT'] as NodeJS.Signals[]) handlers.set(signal, () => undefined);
    }
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const cleanup = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };

    child.once('spawn', () => {
      reportTiming('spawn', spawnedAt);
      void Promise.resolve(options.onStart?.(child.pid as number)).catch(() => undefined);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup();
      const notFound = error.code === 'ENOENT';
      const reason = notFound ? 'command not found' : error.code === 'EACCES' ? 'permission denied (not an executable file)' : (error.code ?? error.message);
      reject(
        new TngError('usage', notFound ? 'exec.not-found' : 'exec.cannot-run', `Cannot run ${options.command}: ${reason}.`, {
          hint: notFound ? 'Check the command name and your PATH.' : 'Check that the command is executable.',
          cause: error,
        }),
      );
    });
    child.once('exit', (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/**
 * What every tng invocation shares, whichever way its arguments were parsed: the Ctrl-C signal, the deps,
 * and turning an error into the contract's two lines and exit code. Free of commander, so the hot path
 * (hot.ts) can use it without loading the full command-line program.
 */
import { writeSync } from 'node:fs';
import { reportTiming } from '../debug/timing.ts';
import { createDeps, type Deps } from '../deps.ts';
import { ExitCode, TngError, describe } from '../errors.ts';
import { createIO, outputFailure, writeTo, type IO } from '../ui/io.ts';
import { oneLine } from '../ui/text.ts';

/** The contract's two lines: what failed, and what to do; a wrapped foreign message never adds a third. */
export function reportError(io: IO, error: TngError, debug: boolean): void {
  io.info(`tng: ${oneLine(error.message)}`);
  io.info(`hint: ${oneLine(error.hint)}`);
  if (debug) io.info(error.stack ?? '');
  if (debug && error.cause !== undefined) io.info(`cause: ${error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : String(error.cause)}`);
}

/** A failure that is not the command line's own: its lines on stderr and its exit code. */
export function exitCodeOf(io: IO, error: unknown, debug: boolean): number {
  if (error instanceof TngError) {
    reportError(io, error, debug);
    return error.exitCode;
  }
  io.info(`tng: unexpected internal error: ${oneLine(describe(error))}`);
  io.info('hint: This is a bug in tng; rerun with TNG_DEBUG=1 and report the output.');
  if (debug && error instanceof Error) io.info(error.stack ?? '');
  return ExitCode.internal;
}

/**
 * Runs one command with the deps and the signal handling (Ctrl-C, SIGTERM, SIGHUP) every command gets; `handle` may claim errors of its
 * own (the command line's) before the common reporting.
 */
export async function runCommand(
  env: NodeJS.ProcessEnv,
  body: (deps: Deps) => Promise<number>,
  handle?: (error: unknown, io: IO) => number | undefined,
): Promise<number> {
  const io = createIO();
  const debug = env.TNG_DEBUG === '1';
  reportTiming('start-up: Node and tng loaded', 0);
  const interrupt = new AbortController();
  // SIGTERM and SIGHUP (a closed terminal) stop tng's own waits as Ctrl-C does: a touch is cancelled at the
  // key, locks are released, the terminal is restored. The exit status is still the signal's.
  let terminated: number | undefined;
  const stop = (code: number) => {
    interrupt.abort();
    // Whatever is not listening for the abort still ends promptly.
    setTimeout(() => process.exit(code), 1000).unref();
  };
  const onSigint = () => stop(ExitCode.interrupted);
  const onTerminate = (signal: NodeJS.Signals) => {
    terminated ??= 128 + (signal === 'SIGHUP' ? 1 : 15);
    stop(terminated);
  };
  const listen = (on: boolean) => {
    const method = on ? 'on' : 'off';
    process[method]('SIGINT', onSigint);
    process[method]('SIGTERM', onTerminate);
    process[method]('SIGHUP', onTerminate);
  };
  listen(true);
  const deps = createDeps(env, interrupt.signal, io, () => listen(false));
  let code: number;
  try {
    code = await body(deps);
  } catch (error) {
    code = handle?.(error, io) ?? exitCodeOf(io, error, debug);
  } finally {
    listen(false);
    await io.flush();
  }
  return terminated ?? code;
}

/**
 * Ends the process with `code` (nothing left behind can keep tng alive), once stdout has drained: output
 * that did not go through the IO of {@link runCommand} (commander's help, the live UI) may still be
 * pending. `stdoutFlushed`: all of it went through that IO, which has flushed it already.
 */
export function exitWith(code: number, options: { stdoutFlushed?: boolean } = {}): void {
  reportTiming('total', 0);
  process.exitCode = code;
  const exit = () => {
    const failure = outputFailure();
    if (failure === undefined) process.exit(code);
    // The output did not reach its file (a full disk, say): the command's work is done, but what it printed is not.
    try {
      writeSync(2, `tng: Could not write the output (${failure}).\nhint: Send the output somewhere it can be written (check free space), then run the command again.\n`);
    } catch {
      // stderr itself is what failed: the exit status alone tells
    }
    process.exit(code === 0 ? ExitCode.usage : code);
  };
  if (options.stdoutFlushed) exit();
  else writeTo(process.stdout, '', () => writeTo(process.stderr, '', exit));
}

import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.ts';
import { credentialProcessCommand } from './commands/credential-process.ts';
import { doctorCommand } from './commands/doctor.ts';
import { enrollCommand } from './commands/enroll.ts';
import { execCommand } from './commands/exec.ts';
import { initCommand } from './commands/init.ts';
import { loginCommand } from './commands/login.ts';
import { logoutCommand } from './commands/logout.ts';
import { tokenHelperCommand } from './commands/token-helper.ts';
import { whoamiCommand } from './commands/whoami.ts';
import { createDeps, type Deps } from './deps.ts';
import { reportTiming } from './debug/timing.ts';
import { ExitCode, TngError, describe } from './errors.ts';
import { createIO, type IO } from './ui/io.ts';
import { VERSION } from './version.ts';

export function buildProgram(deps: Deps, done: (code: number) => void): Command {
  // Help and errors are for people (stderr); only the version string is machine output (stdout).
  const output = {
    writeOut: (text: string) => (/^\d+\.\d+\.\d+/.test(text) ? deps.io.out(text) : process.stderr.write(text)),
    writeErr: (text: string) => process.stderr.write(text),
    outputError: () => undefined,
  };
  const program = new Command('tng')
    .description('touch-and-go: short-lived cloud credentials from a hardware-key-backed login (Dex → Vault → AWS)')
    .version(VERSION, '-V, --version', 'print the version')
    .showSuggestionAfterError(true)
    .enablePositionalOptions();
  program.addCommand(initCommand(deps, done));
  program.addCommand(enrollCommand(deps, done));
  program.addCommand(loginCommand(deps, done));
  program.addCommand(whoamiCommand(deps, done));
  program.addCommand(logoutCommand(deps, done));
  program.addCommand(execCommand(deps, done));
  program.addCommand(credentialProcessCommand(deps, done));
  program.addCommand(tokenHelperCommand(deps, done));
  program.addCommand(doctorCommand(deps, done));
  program.addCommand(auditCommand(deps, done));
  for (const command of [program, ...program.commands]) command.exitOverride().configureOutput(output);
  return program;
}

function report(io: IO, error: TngError, debug: boolean): void {
  io.info(`tng: ${error.message}`);
  io.info(`hint: ${error.hint}`);
  if (debug) io.info(error.stack ?? '');
  if (debug && error.cause !== undefined) io.info(`cause: ${error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : String(error.cause)}`);
}

function fromCommander(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
    return ExitCode.ok;
  }
  return ExitCode.usage;
}

/** Runs tng with the given arguments (without `node` and the script) and returns the exit status. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const io = createIO();
  const debug = env.TNG_DEBUG === '1';
  reportTiming('start-up: Node and tng loaded', 0);
  const interrupt = new AbortController();
  const onSigint = () => {
    interrupt.abort();
    // Whatever is not listening for the abort still ends promptly, as Ctrl-C should.
    setTimeout(() => process.exit(ExitCode.interrupted), 1000).unref();
  };
  process.on('SIGINT', onSigint);
  let exitCode: number = ExitCode.ok;
  const deps = createDeps(env, interrupt.signal, io, () => process.off('SIGINT', onSigint));
  const program = buildProgram(deps, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const code = fromCommander(error);
      if (code !== ExitCode.ok) {
        io.info(`tng: ${error.message.replace(/^error: /, '')}`);
        io.info('hint: Run `tng --help` (or `tng COMMAND --help`) for usage.');
      }
      return code;
    }
    if (error instanceof TngError) {
      report(io, error, debug);
      return error.exitCode;
    }
    io.info(`tng: unexpected internal error: ${describe(error)}`);
    io.info('hint: This is a bug in tng; rerun with TNG_DEBUG=1 and report the output.');
    if (debug && error instanceof Error) io.info(error.stack ?? '');
    return ExitCode.internal;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The bin entry: runs main, lets stdout drain, then exits (nothing left behind can keep tng alive). */
export async function run(): Promise<void> {
  const code = await main(process.argv.slice(2));
  reportTiming('total', 0);
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
}

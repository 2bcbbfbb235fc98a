import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.ts';
import { completionCommand } from './commands/completion.ts';
import { credentialProcessCommand } from './commands/credential-process.ts';
import { doctorCommand } from './commands/doctor.ts';
import { enrollCommand } from './commands/enroll.ts';
import { execCommand } from './commands/exec.ts';
import { initCommand } from './commands/init.ts';
import { lambdaCommand } from './commands/lambda.ts';
import { loginCommand } from './commands/login.ts';
import { logoutCommand } from './commands/logout.ts';
import { tokenHelperCommand } from './commands/token-helper.ts';
import { whoamiCommand } from './commands/whoami.ts';
import { exitWith, runCommand } from './cli/runtime.ts';
import type { Deps } from './deps.ts';
import { ExitCode } from './errors.ts';
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
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Examples:
  tng init --issuer https://dex.example.com/dex --client-id tng --vault-addr https://vault.example.com --vault-role engineer
  tng enroll                      # bind a FIDO2 security key to the profile
  tng login                       # touch → Dex → Vault → keychain
  tng whoami
  tng exec -- terraform apply     # short-lived Vault and AWS credentials for one command
  source <(tng completion bash)

Run \`tng COMMAND --help\` for a command's flags and examples.`,
    );
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
  program.addCommand(lambdaCommand(deps, done));
  program.addCommand(completionCommand(deps, done));
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  for (const command of all(program)) command.exitOverride().configureOutput(output);
  return program;
}

/** Help asked for is success; help shown because a command was missing (`tng`, `tng lambda`) is a usage error. */
function fromCommander(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
  if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  return ExitCode.usage;
}

/** Runs tng with the given arguments (without `node` and the script) and returns the exit status. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCommand(
    env,
    async (deps) => {
      let exitCode: number = ExitCode.ok;
      const program = buildProgram(deps, (code) => {
        exitCode = code;
      });
      await program.parseAsync(argv, { from: 'user' });
      return exitCode;
    },
    (error, io) => {
      if (!(error instanceof CommanderError)) return undefined;
      const code = fromCommander(error);
      if (code !== ExitCode.ok) {
        // commander adds "(Did you mean login?)" on a line of its own: that belongs to the hint.
        const [message = '', ...rest] = error.message.replace(/^error: /, '').split('\n');
        const suggestion = rest.join(' ').match(/Did you mean (.+)\?/)?.[1];
        io.info(`tng: ${message.trim()}`);
        io.info(`hint: ${suggestion ? `Did you mean ${suggestion}? ` : ''}Run \`tng --help\` (or \`tng COMMAND --help\`) for usage.`);
      }
      return code;
    },
  );
}

/** Runs tng with this process's arguments (the full program) and exits with its status. */
export async function run(): Promise<void> {
  exitWith(await main(process.argv.slice(2)));
}

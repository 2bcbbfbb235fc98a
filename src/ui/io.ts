import { TngError } from '../errors.ts';
import type { Progress } from './progress.ts';
import { createStyle } from './style.ts';

/**
 * The one place that knows about the terminal. Commands ask `io.canPrompt()`; they never look at
 * `process.stdout.isTTY` themselves. Human-readable text goes to stderr, machine output to stdout.
 */
export interface IO {
  /** A person is at a terminal: stdin and stderr are both TTYs (the contract's definition of "a TTY"). */
  canPrompt(): boolean;
  /** Machine output (JSON, credentials, tokens) for stdout. */
  out(text: string): void;
  /** A line for the person, on stderr. */
  info(line: string): void;
  /** A warning line on stderr. */
  warn(line: string): void;
  /** Reads all of stdin (for --client-secret-stdin, token-helper store). */
  readStdin(): Promise<string>;
  /** Asks a question on the terminal and returns the answer (only when canPrompt()). */
  ask(question: string): Promise<string>;
  /** Asks for a secret (a PIN) without echoing it; Ctrl-C rejects with an interruption (exit 130). */
  askSecret(question: string): Promise<string>;
  /** Colour on stderr: a terminal, not NO_COLOR, not TERM=dumb, not CI. */
  colour: boolean;
  /**
   * The live terminal UI may run (spinners, redrawn lines, ink): a TTY that is not CI, not TERM=dumb and
   * reports a size. Otherwise output is plain lines. Commands still choose plain lines for --json.
   */
  live?: boolean;
  /** Set by the live terminal UI (src/ui/ink); without it src/ui/progress.ts prints plain lines. */
  progress?: Progress;
}

export interface ProcessStreams {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export function createIO(streams: ProcessStreams = process): IO {
  const { stdin, stdout, stderr, env } = streams;
  const plainTerminal = env.TERM === 'dumb' || isCi(env);
  const colour = Boolean(stderr.isTTY) && env.NO_COLOR === undefined && !plainTerminal;
  const style = createStyle(colour);
  const canPrompt = () => Boolean(stdin.isTTY) && Boolean(stderr.isTTY);
  return {
    colour,
    // A pseudo-terminal that reports no size (e.g. `script` without a terminal around it) gets plain lines.
    live: canPrompt() && !plainTerminal && (stderr.columns ?? 0) > 0,
    canPrompt,
    out: (text) => {
      stdout.write(text);
    },
    info: (line) => {
      stderr.write(`${line}\n`);
    },
    warn: (line) => {
      stderr.write(`${style.yellow('warning:')} ${line}\n`);
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return Buffer.concat(chunks).toString('utf8');
    },
    askSecret: (question) =>
      new Promise((resolve, reject) => {
        if (!stdin.isTTY) {
          reject(new TngError('usage', 'io.no-tty', 'A secret can only be asked for on a terminal.', { hint: 'Run the command on a terminal.' }));
          return;
        }
        stderr.write(question);
        let value = '';
        const finish = () => {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          stderr.write('\n');
        };
        const onData = (chunk: Buffer | string) => {
          for (const ch of chunk.toString()) {
            if (ch === '\r' || ch === '\n' || ch === '\u0004') {
              finish();
              resolve(value);
              return;
            }
            if (ch === '\u0003') {
              finish();
              reject(new TngError('interrupted', 'io.interrupted', 'Interrupted.', { hint: 'Run the command again when ready.' }));
              return;
            }
            if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
            else if (ch >= ' ') value += ch;
          }
        };
        stdin.setRawMode(true);
        stdin.resume();
        stdin.on('data', onData);
      }),
    ask: async (question) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: stdin, output: stderr, terminal: true });
      try {
        return (await rl.question(question)).trim();
      } finally {
        rl.close();
      }
    },
  };
}

/** CI runners: plain output, as the is-in-ci convention has it (`CI` or `CONTINUOUS_INTEGRATION`, unless "0"/"false"). */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI ?? env.CONTINUOUS_INTEGRATION;
  return value !== undefined && value !== '0' && value.toLowerCase() !== 'false';
}

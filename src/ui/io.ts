import { isatty } from 'node:tty';
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
  /** Resolves once everything `out`, `info` and `warn` wrote has been handed to the OS (at once when nothing was written). */
  flush(): Promise<void>;
}

export interface ProcessStreams {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const readerMayLeave = new WeakSet<NodeJS.WritableStream>();

let failedWrite: string | undefined;

/**
 * Writes to stdout or stderr, where a reader that has gone away (`tng whoami --json | head -c 1`) only ends
 * the output: EPIPE is no error of tng's, as it is none of a Unix tool's that SIGPIPE would end quietly. Any
 * other failure (`> /dev/full`) is kept for {@link outputFailure}, which the exit reports.
 */
export function writeTo(stream: NodeJS.WritableStream, text: string, done?: () => void): void {
  if (!readerMayLeave.has(stream)) {
    readerMayLeave.add(stream);
    stream.on('error', () => undefined); // reported through the write's callback
  }
  stream.write(text, (error?: Error | null) => {
    const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
    if (error && code !== 'EPIPE') failedWrite ??= `${stream === process.stderr ? 'stderr' : 'stdout'}: ${code ?? error.message}`;
    done?.();
  });
}

/** The first write to stdout or stderr that failed for a reason other than a reader leaving, if any. */
export function outputFailure(): string | undefined {
  return failedWrite;
}

export function createIO(streams: ProcessStreams = process): IO {
  // process.stdin, stdout and stderr are each made on first use, and making one costs start-up time (Node's
  // stream modules, several ms): a stream is touched only when it is written or read, and whether it is a
  // terminal is asked of its file descriptor.
  const { env } = streams;
  const isTerminal = (fd: 0 | 2, stream: () => { isTTY?: boolean }) => (streams === process ? isatty(fd) : Boolean(stream().isTTY));
  const stdinIsTty = () => isTerminal(0, () => streams.stdin);
  const stderrIsTty = () => isTerminal(2, () => streams.stderr);
  const plainTerminal = env.TERM === 'dumb' || isCi(env);
  const colour = stderrIsTty() && env.NO_COLOR === undefined && !plainTerminal;
  const style = createStyle(colour);
  const canPrompt = () => stdinIsTty() && stderrIsTty();
  let wroteOut = false;
  let wroteErr = false;
  return {
    colour,
    // A pseudo-terminal that reports no size (e.g. `script` without a terminal around it) gets plain lines.
    live: canPrompt() && !plainTerminal && (streams.stderr.columns ?? 0) > 0,
    canPrompt,
    out: (text) => {
      wroteOut = true;
      writeTo(streams.stdout, text);
    },
    flush: async () => {
      // A pipe takes writes asynchronously: what is still queued would be lost at exit (`tng audit 2>&1 | less`).
      const drained = (stream: NodeJS.WritableStream) => new Promise<void>((resolve) => writeTo(stream, '', resolve));
      await Promise.all([wroteOut ? drained(streams.stdout) : undefined, wroteErr ? drained(streams.stderr) : undefined]);
    },
    info: (line) => {
      wroteErr = true;
      writeTo(streams.stderr, `${line}\n`);
    },
    warn: (line) => {
      wroteErr = true;
      writeTo(streams.stderr, `${style.yellow('warning:')} ${line}\n`);
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of streams.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return Buffer.concat(chunks).toString('utf8');
    },
    askSecret: (question) =>
      new Promise((resolve, reject) => {
        const { stdin, stderr } = streams;
        if (!stdin.isTTY) {
          reject(new TngError('usage', 'io.no-tty', 'A secret can only be asked for on a terminal.', { hint: 'Run the command on a terminal.' }));
          return;
        }
        // Echo goes off before the question shows: a PIN typed the moment the prompt appears is never echoed.
        stdin.setRawMode(true);
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
              reject(interrupted());
              return;
            }
            if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
            else if (ch >= ' ') value += ch;
          }
        };
        stdin.resume();
        stdin.on('data', onData);
      }),
    ask: async (question) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: streams.stdin, output: streams.stderr, terminal: true });
      try {
        return (await rl.question(question)).trim();
      } catch (error) {
        // readline's AbortError: Ctrl-C, or Ctrl-D (end of input) with nothing typed.
        if ((error as { code?: string }).code === 'ABORT_ERR') throw interrupted();
        throw error;
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

/** Ctrl-C (or Ctrl-D) at a prompt: exit 130. */
export function interrupted(): TngError {
  return new TngError('interrupted', 'io.interrupted', 'Interrupted.', { hint: 'Run the command again when ready.' });
}

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
  colour: boolean;
}

export interface ProcessStreams {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export function createIO(streams: ProcessStreams = process): IO {
  const { stdin, stdout, stderr, env } = streams;
  const colour = Boolean(stderr.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  return {
    colour,
    canPrompt: () => Boolean(stdin.isTTY) && Boolean(stderr.isTTY),
    out: (text) => {
      stdout.write(text);
    },
    info: (line) => {
      stderr.write(`${line}\n`);
    },
    warn: (line) => {
      stderr.write(`${paint('33', 'warning:')} ${line}\n`);
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return Buffer.concat(chunks).toString('utf8');
    },
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

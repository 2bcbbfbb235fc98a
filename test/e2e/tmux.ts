/**
 * Drives the built tng in a real terminal: a detached tmux session of its own (own socket, no user config),
 * 120×40, running a small script that runs tng, prints its exit status, saves `stty -a`, and then reads a
 * line — so a test can check, after tng has gone, that the terminal it leaves behind still works.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { quote } from 'shell-quote';
import { TNG, type World } from './harness.ts';

const run = promisify(execFile);

export interface Pane {
  /** What the pane shows now (plain text; with `escapes`, with its colour and style sequences). */
  screen(options?: { escapes?: boolean }): Promise<string>;
  /** Everything the pane printed, scrollback included. */
  history(): Promise<string>;
  /** Types keys as tmux names them (`Enter`, `C-c`), or literal text with `literal`. */
  send(keys: string[], options?: { literal?: boolean }): Promise<void>;
  /** Polls the screen until the pattern shows; returns the screen then. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** tng's exit status, once the script printed it. */
  exitCode(timeoutMs?: number): Promise<number>;
  cursorVisible(): Promise<boolean>;
  /** `stty -a` as it was right after tng ended. */
  stty(): Promise<string>;
  close(): Promise<void>;
}

export async function startInTmux(world: World, args: string[], options: { env?: Record<string, string | undefined>; name?: string } = {}): Promise<Pane> {
  const name = options.name ?? `t${Date.now().toString(36)}`;
  const socket = join(world.home, `${name}.sock`);
  const conf = join(world.home, `${name}.conf`);
  const script = join(world.home, `${name}.sh`);
  const sttyFile = join(world.home, `${name}.stty`);
  await writeFile(conf, 'set -g status off\nset -g remain-on-exit on\nset -g history-limit 5000\n');
  await writeFile(
    script,
    [
      // Ctrl-C reaches the whole foreground group: the script itself must outlive it to report tng's status.
      'trap : INT',
      quote([TNG, ...args]),
      'status=$?',
      `stty -a > ${quote([sttyFile])}`,
      'printf "\\n[exit %s]\\ntype here> " "$status"',
      'read -r line',
      'printf "typed: %s\\n" "$line"',
      'sleep 600',
    ].join('\n'),
  );
  // The live UI is what is under test here: no CI, a real TERM; the rest is the world's (keychain bus, config).
  const env = Object.fromEntries(Object.entries({ ...world.env, CI: undefined, TERM: 'xterm-256color', ...options.env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const tmux = (...argv: string[]) => run('tmux', ['-S', socket, '-f', conf, ...argv], { env });
  await tmux('new-session', '-d', '-x', '120', '-y', '40', `sh ${quote([script])}`);

  const screen = async (o: { escapes?: boolean } = {}) => (await tmux('capture-pane', '-p', ...(o.escapes ? ['-e'] : []))).stdout;
  const waitFor = async (pattern: RegExp, timeoutMs = 15_000) => {
    const started = Date.now();
    for (;;) {
      const text = await screen();
      if (pattern.test(text)) return text;
      if (Date.now() - started > timeoutMs) throw new Error(`${pattern} did not show within ${timeoutMs} ms; the screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    screen,
    history: async () => (await tmux('capture-pane', '-p', '-S', '-', '-E', '-')).stdout,
    send: async (keys, o = {}) => {
      await tmux('send-keys', ...(o.literal ? ['-l'] : []), ...keys);
    },
    waitFor,
    exitCode: async (timeoutMs = 30_000) => Number((await waitFor(/\[exit \d+\]/, timeoutMs)).match(/\[exit (\d+)\]/)?.[1]),
    cursorVisible: async () => (await tmux('display-message', '-p', '#{cursor_flag}')).stdout.trim() === '1',
    stty: () => readFile(sttyFile, 'utf8'),
    close: async () => {
      await tmux('kill-server').catch(() => undefined);
    },
  };
}

/**
 * The live terminal UI for interactive commands: the chain's steps with a spinner, then a tick and the
 * duration (or a cross and the remedy), the blinking touch prompt, a masked PIN field, questions, and the
 * device-code panel. Finished lines are written above the live area through ink's stderr writer, so the
 * terminal wraps them itself (a long URL stays one line when copied).
 */
import { Box, Text, render, useInput, useStderr } from 'ink';
import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { TngError } from '../../errors.ts';
import { interrupted, type IO } from '../io.ts';
import { STEP_LABELS, formatDuration, type DeviceCodePanel, type Progress, type StepName } from '../progress.ts';
import { createStyle, type Style } from '../style.ts';

interface Question {
  text: string;
  secret: boolean;
  answer(value: string): void;
  cancel(): void;
}

interface State {
  running?: { name: StepName; startedAt: number };
  touch?: { purpose: string; device: string };
  deviceCode?: DeviceCodePanel & { qr?: string };
  question?: Question & { id: number };
}

/** The live area's state; components read it with useSyncExternalStore. */
class Store {
  private state: State = {};
  private readonly listeners = new Set<() => void>();
  private ids = 0;
  get = (): State => this.state;
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  update(patch: Partial<State>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }
  nextId(): number {
    return this.ids++;
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function stepRow(style: Style, mark: string, name: StepName, ms: number, note?: string): string {
  return `${mark} ${STEP_LABELS[name].padEnd(9)}${style.dim(formatDuration(ms).padStart(6))}${note ? `  ${note}` : ''}`;
}

function RunningStep({ name, startedAt, style }: { name: StepName; startedAt: number; style: Style }) {
  const now = useNow(80);
  const frame = SPINNER[Math.floor((now - startedAt) / 80) % SPINNER.length] as string;
  return <Text>{stepRow(style, style.cyan(frame), name, now - startedAt)}</Text>;
}

function TouchPrompt({ purpose, device, style }: { purpose: string; device: string; style: Style }) {
  const on = Math.floor(useNow(500) / 500) % 2 === 0;
  return <Text>{`  ${on ? style.yellow('●') : ' '} ${on ? style.bold(purpose) : purpose} (${style.bold(device)} is blinking)`}</Text>;
}

function DeviceCode({ panel, style }: { panel: NonNullable<State['deviceCode']>; style: Style }) {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} alignSelf="flex-start">
      <Text>{`On any device with a browser, open ${style.bold(panel.uri)}`}</Text>
      <Text>{`and enter the code  ${style.bold(style.cyan(panel.code))}`}</Text>
      {panel.qr !== undefined && <Text>{style.dim('or scan this with a phone:')}</Text>}
      {panel.qr !== undefined && <Text>{panel.qr}</Text>}
      <Text>{style.dim('Waiting for the login to be approved…')}</Text>
    </Box>
  );
}

/** A one-line text field; secret answers show one bullet per character and are never echoed. */
function Ask({ question, style }: { question: Question; style: Style }) {
  // A ref as well as state: keys that arrive in one chunk ("4711\r") are handled before React re-renders.
  const value = useRef('');
  const [shown, setShown] = useState('');
  useInput((input, key) => {
    // Ctrl-C, or Ctrl-D on an empty answer (end of input), as a plain terminal's prompt takes them.
    if (key.ctrl && (input === 'c' || (input === 'd' && value.current === ''))) return question.cancel();
    if (key.return) return question.answer(value.current);
    if (key.backspace || key.delete) value.current = [...value.current].slice(0, -1).join('');
    else if (input && !key.ctrl && !key.meta && !key.escape && !key.tab && !key.upArrow && !key.downArrow && !key.leftArrow && !key.rightArrow) {
      // Text and Enter in one chunk (typed fast, or pasted) arrive as one input.
      const end = input.search(/[\r\n]/);
      value.current += end < 0 ? input : input.slice(0, end);
      if (end >= 0) return question.answer(value.current);
    } else return;
    setShown(value.current);
  });
  const text = question.secret ? '•'.repeat([...shown].length) : shown;
  return <Text>{`${question.text}${text}${style.dim('▏')}`}</Text>;
}

function Screen({ store, style, onWriter }: { store: Store; style: Style; onWriter: (write: (data: string) => void) => void }) {
  const { write } = useStderr();
  useLayoutEffect(() => onWriter(write), [write, onWriter]);
  const state = useSyncExternalStore(store.subscribe, store.get);
  return (
    <Box flexDirection="column">
      {state.running && <RunningStep key={state.running.startedAt} name={state.running.name} startedAt={state.running.startedAt} style={style} />}
      {state.touch && <TouchPrompt purpose={state.touch.purpose} device={state.touch.device} style={style} />}
      {state.deviceCode && <DeviceCode panel={state.deviceCode} style={style} />}
      {state.question && <Ask key={state.question.id} question={state.question} style={style} />}
    </Box>
  );
}

/**
 * The QR code of a URL as text (two modules per character cell), or undefined when the terminal is too
 * small for it. With colour it is drawn black on white whatever the terminal's theme; without, in block
 * characters only (inverted on a dark terminal, which phone scanners read as well).
 */
async function qrFor(url: string, rows: number | undefined, colour: boolean): Promise<string | undefined> {
  const { default: QRCode } = await import('qrcode');
  const options = colour ? ({ type: 'terminal', small: true } as const) : ({ type: 'utf8', margin: 2 } as const);
  const text = (await QRCode.toString(url, { ...options, errorCorrectionLevel: 'L' })).trimEnd();
  return text.split('\n').length + 12 <= (rows ?? 0) ? text : undefined;
}

export interface Screen {
  /** The IO to use while the screen is up: lines, questions and progress go through the live UI. */
  io: IO;
  /** Ends the live area: cursor shown, raw mode off, the last lines left on the terminal. */
  close(): Promise<void>;
}

export function openScreen(base: IO): Screen {
  const style = createStyle(base.colour);
  const store = new Store();
  let writer: ((data: string) => void) | undefined;
  let closed = false;
  const line = (text: string) => {
    if (closed || writer === undefined) base.info(text);
    else writer(`${text}\n`);
  };
  const instance = render(<Screen store={store} style={style} onWriter={(write) => (writer = write)} />, {
    stdout: process.stderr,
    stderr: process.stderr,
    stdin: process.stdin,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const exited = instance.waitUntilExit();

  const ask = (text: string, secret: boolean) =>
    new Promise<string>((resolve, reject) => {
      const question: Question = {
        text,
        secret,
        answer: (value) => {
          store.update({ question: undefined });
          if (!secret) line(`${text}${value}`);
          resolve(value);
        },
        cancel: () => {
          store.update({ question: undefined });
          reject(interrupted());
        },
      };
      // ink turns echo off only in an effect after the question is drawn; a PIN typed at once would be echoed.
      if (process.stdin.isTTY) process.stdin.setRawMode(true);
      store.update({ question: { ...question, id: store.nextId() } });
    });

  const progress: Progress = {
    step: async (name, work, summary) => {
      const startedAt = Date.now();
      store.update({ running: { name, startedAt } });
      const end = (row: string) => {
        store.update({ running: undefined, touch: undefined, deviceCode: undefined });
        line(row);
      };
      try {
        const value = await work();
        end(stepRow(style, style.green('✔'), name, Date.now() - startedAt, summary?.(value)));
        return value;
      } catch (error) {
        const remedy = error instanceof TngError ? (error.kind === 'interrupted' ? 'interrupted' : error.hint) : 'failed';
        end(stepRow(style, style.red('✘'), name, Date.now() - startedAt, remedy));
        throw error;
      }
    },
    touchPrompt: (purpose, device) => store.update({ touch: { purpose, device } }),
    deviceCode: (panel) => {
      store.update({ deviceCode: panel });
      const target = panel.complete ?? panel.uri;
      qrFor(target, process.stderr.rows, base.colour).then(
        (qr) => {
          if (qr !== undefined && store.get().deviceCode === panel) store.update({ deviceCode: { ...panel, qr } });
        },
        () => undefined, // the panel works without the QR code
      );
    },
  };

  const io: IO = {
    ...base,
    info: line,
    warn: (text) => line(`${style.yellow('warning:')} ${text}`),
    ask: async (question) => (await ask(question, false)).trim(),
    askSecret: (question) => ask(question, true),
    progress,
  };
  return {
    io,
    close: async () => {
      if (closed) return;
      store.update({ running: undefined, touch: undefined, deviceCode: undefined, question: undefined });
      closed = true;
      // Let React render the emptied live area first: ink's last frame stays on the terminal.
      await new Promise((resolve) => setImmediate(resolve));
      instance.unmount();
      await exited;
      // ink ends an empty live area with a newline; step back onto that blank line.
      process.stderr.write('\u001b[1A');
    },
  };
}

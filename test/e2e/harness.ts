/**
 * Runs the built `bin/tng` as a subprocess against the sandbox, the way a person or a script would:
 * with its own HOME, config and state dir, the sandbox's BROWSER helper, and (for logins, which the
 * contract allows only at a terminal) a pseudo-terminal from util-linux `script`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from 'shell-quote';
import { CLIENT_ID, ROLE, type Sandbox } from '../sandbox/index.ts';
import { describeLeaks, findLeaks, type CapturedRun } from './hygiene.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TNG = join(ROOT, 'bin', 'tng');
export const BROWSER_HELPER = join(ROOT, 'test', 'sandbox', 'browser.mjs');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Run on a pseudo-terminal (stdin and stderr are TTYs); stdout and stderr then arrive together in `stdout`. */
  tty?: boolean;
  input?: string;
  timeoutMs?: number;
}

/** A user's world: a HOME, a config file and a state dir of their own. */
export interface World {
  home: string;
  config: string;
  state: string;
  browserLog: string;
  /** A fresh profile name, so keychain items never collide between tests. */
  profile: string;
  env: Record<string, string>;
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts tng and lets the test watch its output while it runs. */
  start(args: string[], options?: RunOptions): Running;
  browserRuns(): Promise<Array<Record<string, unknown>>>;
  /** Every tng run in this world with its output, for the secret-hygiene scan at dispose(). */
  runs: CapturedRun[];
  /**
   * Logs out, checks that no secret the sandbox issued is in any file under HOME or in any captured output
   * (see hygiene.ts; it throws naming each leak), and removes HOME.
   */
  dispose(): Promise<void>;
}

/** The part of the caller's environment a child may see: no TNG_, AWS_ or VAULT_ settings leak in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(TNG_|AWS_|VAULT_|SANDBOX_|BROWSER$|SSH_|DISPLAY$|NODE_OPTIONS$|NODE_TEST)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

export interface Running {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolves with the first match of the pattern in the output so far (stdout + stderr). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<RunResult>;
}

export function startProcess(command: string, args: string[], env: Record<string, string | undefined>, options: RunOptions = {}): Running {
  const finalEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const [cmd, argv] = options.tty ? ['script', ['-qefc', quote([command, ...args]), '/dev/null']] : [command, args];
  const child = spawn(cmd as string, argv as string[], { env: finalEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const exited = new Promise<RunResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = options.tty ? stdout.replace(/\r\n/g, '\n') : stdout;
      resolvePromise({ code: code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : null), stdout: out, stderr });
    });
  });
  if (options.input !== undefined) child.stdin.end(options.input);
  else if (!options.tty) child.stdin.end();
  const output = () => stdout + stderr;
  return {
    child,
    output,
    exited,
    waitFor: async (pattern, timeoutMs = 10_000) => {
      const started = Date.now();
      for (;;) {
        const match = output().match(pattern);
        if (match) return match;
        if (Date.now() - started > timeoutMs || child.exitCode !== null) {
          throw new Error(`${pattern} did not appear; output so far:\n${output()}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

export function runProcess(command: string, args: string[], env: Record<string, string | undefined>, options: RunOptions = {}): Promise<RunResult> {
  const running = startProcess(command, args, env, options);
  if (options.tty && options.input === undefined) running.child.stdin.end();
  return running.exited;
}

export async function createWorld(): Promise<World> {
  const home = await mkdtemp(join(tmpdir(), 'tng-e2e-'));
  const config = join(home, '.config', 'tng', 'config.toml');
  const state = join(home, '.local', 'state', 'tng');
  const browserLog = join(home, 'browser.log');
  const env: Record<string, string> = {
    ...baseEnv(),
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    BROWSER: `${process.execPath} ${BROWSER_HELPER}`,
    SANDBOX_BROWSER_LOG: browserLog,
    // Plain line output on the pty too, as on a CI runner (the pty of `script` has no size anyway); the live
    // terminal UI is driven in a sized tmux pane by ui.test.ts, which removes this.
    CI: 'true',
  };
  const runs: CapturedRun[] = [];
  const capture = (args: string[], options: RunOptions, result: RunResult) => {
    runs.push({ args, stdout: result.stdout, stderr: result.stderr, tty: Boolean(options.tty) });
    return result;
  };
  const world: World = {
    home,
    config,
    state,
    browserLog,
    profile: `p${randomBytes(4).toString('hex')}`,
    env,
    runs,
    run: async (args, options = {}) => capture(args, options, await runProcess(TNG, args, { ...env, ...options.env }, options)),
    start: (args, options = {}) => {
      const running = startProcess(TNG, args, { ...env, ...options.env }, options);
      void running.exited.then((result) => capture(args, options, result), () => undefined);
      return running;
    },
    browserRuns: async () => {
      try {
        const text = await readFile(browserLog, 'utf8');
        return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      } catch {
        return [];
      }
    },
    dispose: async () => {
      await world.run(['logout', '--all']).catch(() => undefined);
      const leaks = await findLeaks({ home, runs });
      await rm(home, { recursive: true, force: true });
      if (leaks.length > 0) throw new Error(describeLeaks(leaks));
    },
  };
  return world;
}

/** `tng init` for the world's profile against the sandbox. */
export async function initProfile(world: World, sandbox: Sandbox, extra: string[] = []): Promise<RunResult> {
  const result = await world.run([
    'init',
    '--profile', world.profile,
    '--issuer', sandbox.issuer,
    '--client-id', CLIENT_ID,
    '--vault-addr', sandbox.vaultAddr,
    '--vault-role', ROLE,
    ...extra,
  ]);
  if (result.code !== 0) throw new Error(`tng init failed (${result.code}): ${result.stderr}`);
  return result;
}

/** `tng login` on a pseudo-terminal, the browser helper completing the login. */
export function login(world: World, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return world.run(['login', '--profile', world.profile, ...args], { tty: true, env });
}

export async function whoamiJson(world: World): Promise<{ result: RunResult; report: Record<string, any> | undefined }> {
  const result = await world.run(['whoami', '--json', '--profile', world.profile]);
  let report: Record<string, any> | undefined;
  try {
    report = JSON.parse(result.stdout) as Record<string, any>;
  } catch {
    report = undefined;
  }
  return { result, report };
}

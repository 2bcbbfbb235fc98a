/**
 * Secret hygiene: is any secret the sandbox issued (test/sandbox/secrets.ts) — or one a test registers,
 * such as tng's own credentials-endpoint token — anywhere it must not be? Looked at: every file under a
 * world's HOME (config, state, temp files, anything tng wrote), the stdout and stderr of every tng run, and
 * command lines. Exempt, because carrying a secret there is their documented job: the stdout of
 * `credential-process`, of `token-helper get` and of `exec` (the child's own output). The browser helper's
 * log (written by the test's stand-in for a person, not by tng) is skipped too.
 *
 * The harness runs this for every world when it is disposed, so the whole end-to-end suite is covered;
 * hygiene.test.ts adds the flows the rest of the suite does not reach (PINs, a client secret, debug output,
 * command lines sampled from /proc).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { issuedSecrets, type IssuedSecret } from '../sandbox/secrets.ts';

export interface CapturedRun {
  args: string[];
  stdout: string;
  stderr: string;
  tty: boolean;
}

export interface Leak {
  kind: string;
  where: string;
}

const MAX_FILE_BYTES = 10_000_000;

/** The tng subcommand of an argv, e.g. `exec` or `token-helper get`. */
function subcommand(args: string[]): string {
  const words = args.filter((a) => !a.startsWith('-'));
  // Options that take a value (--profile NAME, --role R, ...) leave their value among the words; the
  // subcommand is always the first word.
  const [first, second] = words;
  return first === 'token-helper' ? `token-helper ${second ?? ''}`.trim() : (first ?? '');
}

/** Whether this run's stdout may carry a secret by design. */
export function stdoutMayCarrySecrets(args: string[]): boolean {
  return ['exec', 'credential-process', 'token-helper get'].includes(subcommand(args));
}

/** A log written by test/sandbox/browser.mjs: one JSON object per line with its "mode" and "steps". */
function isBrowserLog(text: string): boolean {
  const lines = text.split('\n').filter(Boolean);
  if (lines.length === 0) return false;
  return lines.every((line) => {
    try {
      const value = JSON.parse(line) as { mode?: unknown; steps?: unknown };
      return typeof value.mode === 'string' && Array.isArray(value.steps);
    } catch {
      return false;
    }
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) found.push(child);
    }
  };
  await walk(dir);
  return found;
}

function hits(text: string, secrets: IssuedSecret[], where: string, leaks: Leak[]): void {
  for (const { kind, value } of secrets) if (text.includes(value)) leaks.push({ kind, where });
}

/**
 * Every place a secret turned up: files under `home`, captured output (outside the documented exemptions),
 * and the given command lines. `extra` adds secrets the sandbox did not issue (e.g. tng's endpoint token).
 */
export async function findLeaks(options: { home: string; runs: CapturedRun[]; commandLines?: string[]; extra?: IssuedSecret[] }): Promise<Leak[]> {
  const secrets = [...issuedSecrets(), ...(options.extra ?? [])];
  const leaks: Leak[] = [];
  for (const file of await filesUnder(options.home)) {
    if ((await stat(file)).size > MAX_FILE_BYTES) continue;
    const text = (await readFile(file)).toString('latin1');
    if (isBrowserLog(text)) continue;
    hits(text, secrets, `the file ~/${relative(options.home, file)}`, leaks);
  }
  for (const run of options.runs) {
    const name = `tng ${subcommand(run.args)}`;
    const exempt = stdoutMayCarrySecrets(run.args);
    if (run.tty) {
      if (!exempt) hits(run.stdout + run.stderr, secrets, `the terminal output of ${name}`, leaks);
    } else {
      if (!exempt) hits(run.stdout, secrets, `the stdout of ${name}`, leaks);
      hits(run.stderr, secrets, `the stderr of ${name}`, leaks);
    }
  }
  for (const [i, line] of (options.commandLines ?? []).entries()) hits(line, secrets, `command line #${i + 1} (${line.split('\0')[0]})`, leaks);
  return leaks;
}

/** One line per leak, naming the kind of secret and where it was — never the secret. */
export function describeLeaks(leaks: Leak[]): string {
  const unique = [...new Set(leaks.map((l) => `${l.kind} in ${l.where}`))];
  return `secret hygiene: ${unique.length} leak(s):\n  ${unique.join('\n  ')}`;
}

/**
 * The doctor's result: named checks with a status, a one-line detail and (for warnings and failures) a
 * one-line hint; the exit status they add up to; and the two ways of printing them (human lines for stderr,
 * one JSON object for stdout). Pure: no I/O here.
 */
import { ExitCode } from '../errors.ts';
import { oneLine } from '../ui/text.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** The checks in the order they are reported. */
export const CHECK_NAMES = ['config', 'issuer', 'vault', 'clock', 'keychain', 'session', 'authenticator', 'plaintext'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  /** One line: what was found. */
  detail: string;
  /** One line: what to do; null for ok and skip. */
  hint: string | null;
  /** For a failed check: the contract exit code of that failure. */
  exitCode?: number;
}

export interface DoctorReport {
  /** The selected profile, or null when none could be selected. */
  profile: string | null;
  checks: CheckResult[];
}

/** The `--json` object: `{"profile", "ok", "checks": [{"name","status","detail","hint"}]}`. */
export interface DoctorJson {
  profile: string | null;
  ok: boolean;
  checks: Array<{ name: CheckName; status: CheckStatus; detail: string; hint: string | null }>;
}

export function ok(name: CheckName, detail: string): CheckResult {
  return { name, status: 'ok', detail, hint: null };
}

export function warn(name: CheckName, detail: string, hint: string): CheckResult {
  return { name, status: 'warn', detail, hint };
}

export function fail(name: CheckName, detail: string, hint: string, exitCode: number): CheckResult {
  return { name, status: 'fail', detail, hint, exitCode };
}

export function skip(name: CheckName, detail: string): CheckResult {
  return { name, status: 'skip', detail, hint: null };
}

/** Checks sorted into the reporting order (unknown order never arises: every check has a fixed name). */
export function inOrder(checks: readonly CheckResult[]): CheckResult[] {
  return [...checks].sort((a, b) => CHECK_NAMES.indexOf(a.name) - CHECK_NAMES.indexOf(b.name));
}

/** 0 when nothing failed (warnings are fine); else the exit code of the first failed check. */
export function exitCodeOf(checks: readonly CheckResult[]): number {
  const failed = inOrder(checks).find((check) => check.status === 'fail');
  if (failed === undefined) return ExitCode.ok;
  return failed.exitCode ?? ExitCode.internal;
}

export function toJson(report: DoctorReport): DoctorJson {
  const checks = inOrder(report.checks);
  return {
    profile: report.profile,
    ok: checks.every((check) => check.status !== 'fail'),
    checks: checks.map(({ name, status, detail, hint }) => ({ name, status, detail: oneLine(detail), hint: hint === null ? null : oneLine(hint) })),
  };
}

const MARKS: Record<CheckStatus, { mark: string; colour: string }> = {
  ok: { mark: '✔', colour: '32' },
  warn: { mark: '!', colour: '33' },
  fail: { mark: '✘', colour: '31' },
  skip: { mark: '-', colour: '2' },
};

const WIDTH = Math.max(...CHECK_NAMES.map((name) => name.length));

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The summary line: counts, and when something failed, which check decides the exit status. */
export function summaryLine(checks: readonly CheckResult[]): string {
  const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length;
  const failed = inOrder(checks).filter((check) => check.status === 'fail');
  const warnings = inOrder(checks).filter((check) => check.status === 'warn');
  const parts = [`${count('ok')} ok`];
  parts.push(warnings.length === 0 ? '0 warnings' : `${plural(warnings.length, 'warning')} (${warnings.map((c) => c.name).join(', ')})`);
  parts.push(failed.length === 0 ? '0 failed' : `${failed.length} failed (${failed.map((c) => c.name).join(', ')})`);
  if (count('skip') > 0) parts.push(`${count('skip')} skipped`);
  const first = failed[0];
  const verdict = first === undefined ? (warnings.length === 0 ? 'all good' : 'usable, but see the warnings') : `exit ${exitCodeOf(checks)} (${first.name})`;
  return `doctor: ${parts.join(', ')} — ${verdict}.`;
}

/** Human lines for stderr: one per check (hint indented beneath it), then the summary. */
export function formatHuman(report: DoctorReport, colour: boolean): string[] {
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  for (const check of inOrder(report.checks)) {
    const { mark, colour: code } = MARKS[check.status];
    lines.push(`${paint(code, mark)} ${check.name.padEnd(WIDTH)}  ${oneLine(check.detail)}`);
    if (check.hint !== null && (check.status === 'warn' || check.status === 'fail')) {
      lines.push(`  ${' '.repeat(WIDTH)}  hint: ${oneLine(check.hint)}`);
    }
  }
  lines.push(summaryLine(report.checks));
  return lines;
}

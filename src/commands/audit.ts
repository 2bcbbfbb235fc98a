import { Command, InvalidArgumentError } from 'commander';
import { readConfigFile, unknownProfile } from '../config/file.ts';
import type { Deps } from '../deps.ts';
import { usageError } from '../errors.ts';
import type { AuditEntry } from '../audit/chain.ts';
import type { VerifyReport } from '../audit/verify.ts';
import { withProfile, type Done } from './shared.ts';
import { shownControls } from '../ui/text.ts';

export interface AuditOptions {
  /** `list` (the default; with --verify, a check) or `export`. */
  action: 'list' | 'export';
  profile?: string;
  json: boolean;
  limit?: number;
  verify: boolean;
  /** Read an export (or a copy of audit.jsonl) instead of this state dir's trail; `-` is stdin. */
  file?: string;
  since?: string;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1 is expected');
  return n;
}

export function auditCommand(deps: Deps, done: Done, run = runAudit): Command {
  return withProfile(new Command('audit'))
    .description('list the audit trail; --verify checks every hash, link and signature; `export` writes it with its keys')
    .argument('[action]', '`export`: the entries and the public keys needed to verify them, as JSON lines on stdout')
    .option('--json', 'print the entries on stdout as JSON lines, one entry per line (with --verify: one report object)', false)
    .option('--limit <n>', 'only the last N entries', positiveInt)
    .option('--verify', 'check the whole trail: every hash, link, seq and hardware signature (exit 8 at the first bad entry)', false)
    .option('--file <path>', 'read an export (or a copy of audit.jsonl) instead of this machine\'s trail; - for stdin')
    .option('--since <id>', 'with export: from this entry on (inclusive)')
    .addHelpText(
      'after',
      `
The trail is audit.jsonl in the state dir, shared by every profile; --profile (or $TNG_PROFILE) only filters the list.

Examples:
  tng audit --limit 20
  tng audit --verify
  tng audit export > trail.jsonl                 # for a CI runner or an auditor
  tng audit export --since 3f2a… > recent.jsonl
  tng audit --verify --file trail.jsonl          # anywhere, no keychain or config needed`,
    )
    .action(async (action: string | undefined, flags: { profile?: string; json: boolean; limit?: number; verify: boolean; file?: string; since?: string }) => {
      if (action !== undefined && action !== 'export') {
        throw usageError('audit.action', `Unknown audit action "${action}".`, 'Use `tng audit`, `tng audit --verify` or `tng audit export`.');
      }
      done(
        await run(
          {
            action: action === 'export' ? 'export' : 'list',
            // As every command takes its profile: --profile, else $TNG_PROFILE (set inside a `tng exec`).
            profile: flags.profile ?? (deps.env.TNG_PROFILE || undefined),
            json: flags.json,
            limit: flags.limit,
            verify: flags.verify,
            file: flags.file,
            since: flags.since,
          },
          deps,
        ),
      );
    });
}

const EVENT_WIDTH = 7;

function short(value: unknown, length = 8): string {
  return typeof value === 'string' ? (value.length > length ? `${value.slice(0, length)}…` : value) : '-';
}

function detail(entry: AuditEntry): string {
  switch (entry.event) {
    case 'enroll':
      return `key ${short(entry.credential_id, 12)}${entry.backfilled ? ' (recorded from the config)' : ''}`;
    case 'login':
      return entry.credential_id ? `touch with ${short(entry.credential_id, 12)}` : 'no touch';
    case 'session':
      return `${typeof entry.email === 'string' ? entry.email : typeof entry.subject === 'string' ? entry.subject : 'unknown identity'} via ${String(entry.method ?? '?')}, Vault ${short(entry.vault_accessor, 12)}`;
    case 'exec':
      return `${String(entry.program)}${entry.aws_access_key_id ? ` (AWS ${String(entry.aws_access_key_id)})` : ''}${typeof entry.login === 'string' ? ` under login ${short(entry.login)}` : ''}`;
    case 'repair':
      return `${String(entry.torn_bytes)} torn bytes after a crash set aside (sha256 ${short(entry.torn_sha256, 12)})`;
    default:
      return '';
  }
}

/** One line per entry: seq, time, event, profile, short id, a mark for signed entries, what happened. */
export function formatEntries(entries: AuditEntry[]): string[] {
  // A loop, not Math.max(...entries): a trail of 200,000 entries is more arguments than the stack holds.
  const seqWidth = entries.reduce((width, e) => Math.max(width, String(e.seq).length), 3);
  const profileWidth = entries.reduce((width, e) => Math.max(width, String(e.profile ?? '-').length), 7);
  const header = `${'SEQ'.padStart(seqWidth)}  ${'TIME (UTC)'.padEnd(19)}  ${'EVENT'.padEnd(EVENT_WIDTH)}  ${'PROFILE'.padEnd(profileWidth)}  ${'ID'.padEnd(9)}  SIG  DETAIL`;
  return [
    header,
    ...entries.map((e) => {
      const time = typeof e.ts === 'string' ? e.ts.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '?';
      const sig = e.sig !== undefined ? ' ✓ ' : '   ';
      // A program's name, or an edited trail, must not drive the terminal.
      return shownControls(`${String(e.seq).padStart(seqWidth)}  ${time.padEnd(19)}  ${String(e.event).padEnd(EVENT_WIDTH)}  ${String(e.profile ?? '-').padEnd(profileWidth)}  ${short(e.id).padEnd(9)}  ${sig}  ${detail(e)}`.trimEnd());
    }),
  ];
}

function reportJson(report: VerifyReport): string {
  return `${JSON.stringify({ ok: report.ok, entries: report.entries, signed: report.signed, repairs: report.repairs, first_bad: report.firstBad ?? null })}\n`;
}

export async function runAudit(options: AuditOptions, deps: Deps): Promise<number> {
  const [chain, verifying] = await Promise.all([import('../audit/chain.ts'), import('../audit/verify.ts')]);
  const exporting = await import('../audit/export.ts');
  if (options.action === 'export' && (options.verify || options.limit !== undefined || options.file !== undefined)) {
    throw usageError('audit.export-flags', '`tng audit export` takes only --since.', 'Export first, then check the file with `tng audit --verify --file FILE`.');
  }
  if (options.action !== 'export' && options.since !== undefined) {
    throw usageError('audit.since', '--since goes with `tng audit export`.', 'Run `tng audit export --since ID`.');
  }

  let entries: AuditEntry[];
  /** Verifies the source; `ignoreTorn`: bytes after the last entry (a crash mid-write) are not held against it. */
  let verify: (ignoreTorn: boolean) => VerifyReport;
  let where: string;
  let torn: { bytes: number } | undefined;
  if (options.file !== undefined) {
    const { readFile } = await import('node:fs/promises');
    let data: Buffer;
    try {
      data = options.file === '-' ? Buffer.from(await deps.io.readStdin(), 'utf8') : await readFile(options.file);
    } catch (error) {
      throw usageError('audit.file', `Cannot read ${options.file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, 'Give the path of a file written by `tng audit export` (or - for stdin).', error);
    }
    const verified = exporting.verifyData(data);
    entries = verified.entries;
    verify = () => verified.report;
    where = verified.kind === 'export' ? `The export ${options.file}` : `The trail ${options.file}`;
  } else {
    const trail = await chain.readTrail(deps.paths.state);
    entries = trail.entries;
    verify = (ignoreTorn) => verifying.verifyTrail(ignoreTorn ? { ...trail, torn: undefined } : trail);
    where = `The audit trail ${chain.auditPath(deps.paths.state)}`;
    torn = trail.torn;
  }

  if (options.action === 'export') {
    // An export is a claim that the trail verifies: a damaged trail is refused (copy audit.jsonl instead).
    const result = verify(true);
    if (!result.ok) throw verifying.verificationError(result.firstBad as NonNullable<VerifyReport['firstBad']>, where);
    if (torn !== undefined) deps.io.warn(`The trail ends in ${torn.bytes} torn bytes (a crash mid-write); they are not entries and are not exported.`);
    deps.io.out(exporting.formatExport(exporting.buildExport(entries, options.since)));
    return 0;
  }

  if (options.verify) {
    const result = verify(false);
    if (options.json) deps.io.out(reportJson(result));
    if (!result.ok) throw verifying.verificationError(result.firstBad as NonNullable<VerifyReport['firstBad']>, where);
    deps.io.info(`Audit trail verified: ${result.entries} entries, ${result.signed} signed by a security key; every hash, link and signature holds.`);
    if (result.earlierTrail.length > 0) {
      const logins = result.earlierTrail.map((id) => id.slice(0, 8)).join(', ');
      deps.io.info(`It starts after an earlier trail was moved or rotated away: ${result.earlierTrail.length === 1 ? 'login' : 'logins'} ${logins}, named by later entries, ${result.earlierTrail.length === 1 ? 'is' : 'are'} in that trail.`);
    }
    for (const repair of result.repairs) {
      deps.io.warn(`Entry ${repair.seq} (${repair.id}) is a repair: ${repair.torn_bytes} torn bytes (sha256 ${repair.torn_sha256}) from an interrupted write were set aside there.`);
    }
    return 0;
  }

  let shown = options.profile !== undefined ? entries.filter((e) => e.profile === options.profile) : entries;
  if (options.profile !== undefined && shown.length === 0 && options.file === undefined) {
    // A profile the trail never names and the config does not know is a typo, as for every other command.
    const config = await readConfigFile(deps.paths.config);
    if (config.profiles[options.profile] === undefined) throw unknownProfile(config, options.profile);
  }
  if (options.limit !== undefined) shown = shown.slice(-options.limit);
  if (options.json) {
    deps.io.out(shown.map((e) => `${JSON.stringify(e)}\n`).join(''));
    return 0;
  }
  if (shown.length === 0) {
    deps.io.info(entries.length === 0 ? `${where} holds no entries.` : `No entries for profile "${options.profile}".`);
    return 0;
  }
  for (const line of formatEntries(shown)) deps.io.info(line);
  if (torn !== undefined) deps.io.warn(`The trail ends in ${torn.bytes} torn bytes (a crash mid-write?); run \`tng audit --verify\`.`);
  return 0;
}

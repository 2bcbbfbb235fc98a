/**
 * Long-lived secrets lying around in plaintext: IAM-user access keys (`AKIA…`) in the AWS shared credentials
 * and config files, and the Vault CLI's `~/.vault-token`. Only names of files and sections are ever reported, never a
 * value read from them.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ok, warn, type CheckResult } from './report.ts';

export interface LongLivedKey {
  /** The section as written between the brackets, e.g. `default` or `profile ci`; null before any section. */
  section: string | null;
  /** 1-based line of the `aws_access_key_id` entry. */
  line: number;
}

const SECTION = /^\[([^\]]*)\]/;
const ENTRY = /^([A-Za-z0-9_.-]+)\s*[=:]\s*(.*)$/;

/** The value of an entry without an inline comment (` # …` / ` ; …`) or surrounding quotes. */
function bareValue(raw: string): string {
  const comment = raw.search(/\s[#;]/);
  let value = (comment === -1 ? raw : raw.slice(0, comment)).trim();
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1).trim();
  return value;
}

/**
 * The `aws_access_key_id` entries of an AWS credentials (or config) file that hold long-lived IAM-user keys
 * (`AKIA…`). Temporary keys (`ASIA…`, from STS) are not reported: they expire by themselves.
 * Comment lines (`#`, `;`) are ignored.
 */
export function scanAwsCredentials(text: string): LongLivedKey[] {
  const found: LongLivedKey[] = [];
  let section: string | null = null;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = SECTION.exec(line);
    if (header) {
      section = (header[1] ?? '').trim().replace(/\s+/g, ' ');
      return;
    }
    const entry = ENTRY.exec(line);
    if (!entry || (entry[1] ?? '').toLowerCase() !== 'aws_access_key_id') return;
    if (bareValue(entry[2] ?? '').startsWith('AKIA')) found.push({ section, line: index + 1 });
  });
  return found;
}

/** "[default], [profile ci]" — each section once, in file order. */
export function describeSections(keys: readonly LongLivedKey[]): string {
  const names = [...new Set(keys.map((key) => (key.section === null ? '(before any section)' : `[${key.section}]`)))];
  return names.join(', ');
}

/** What the check reads from the file system; the real one by default, a fake in tests. */
export interface PlaintextFiles {
  /** The file's text, or undefined when there is no such file. Other failures throw. */
  read(path: string): Promise<string | undefined>;
  /** Whether a file (not a directory) exists at the path. */
  isFile(path: string): Promise<boolean>;
}

function missing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export const realFiles: PlaintextFiles = {
  read: async (path) => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  },
  isFile: async (path) => {
    try {
      return (await stat(path)).isFile();
    } catch (error) {
      if (missing(error)) return false;
      throw error;
    }
  },
};

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

/** The files to scan: `$AWS_SHARED_CREDENTIALS_FILE` and `$AWS_CONFIG_FILE` when set, `~/.aws/credentials` and `~/.aws/config`. */
export function awsCredentialsPaths(env: NodeJS.ProcessEnv, home: string): string[] {
  // The config file too: the SDKs and the CLI take static keys from its `[profile …]` sections as well.
  const found = (variable: string, file: string) => {
    const fallback = join(home, '.aws', file);
    const fromEnv = env[variable]?.trim();
    return fromEnv ? [expandHome(fromEnv, home), fallback] : [fallback];
  };
  return [...new Set([...found('AWS_SHARED_CREDENTIALS_FILE', 'credentials'), ...found('AWS_CONFIG_FILE', 'config')])];
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : 'unreadable';
}

/** The plaintext-credentials check. */
export async function plaintextCheck(env: NodeJS.ProcessEnv, files: PlaintextFiles = realFiles): Promise<CheckResult> {
  const home = env.HOME || homedir();
  const findings: string[] = [];
  const hints: string[] = [];
  const awsPaths = awsCredentialsPaths(env, home);
  const vaultToken = join(home, '.vault-token');
  let awsFound = false;
  for (const path of awsPaths) {
    let text: string | undefined;
    try {
      text = await files.read(path);
    } catch (error) {
      findings.push(`cannot read ${path} (${errorCode(error)}) to look for long-lived AWS keys`);
      continue;
    }
    if (text === undefined) continue;
    const keys = scanAwsCredentials(text);
    if (keys.length === 0) continue;
    awsFound = true;
    findings.push(`${path} holds long-lived AWS access keys (AKIA…) in ${describeSections(keys)}`);
  }
  if (awsFound) {
    hints.push('deactivate and delete those IAM access keys and use `tng exec` (or `credential_process = tng credential-process`) instead');
  }
  let tokenFile = false;
  try {
    // An empty file, or one holding only whitespace, holds no token.
    tokenFile = (await files.isFile(vaultToken)) && ((await files.read(vaultToken)) ?? '').trim() !== '';
  } catch (error) {
    findings.push(`cannot check ${vaultToken} (${errorCode(error)})`);
  }
  if (tokenFile) {
    findings.push(`${vaultToken} holds a Vault token in plaintext`);
    hints.push(`revoke it (\`vault token revoke -self\`) and delete ${vaultToken}; \`tng exec\` hands Vault tokens to commands without a file`);
  }
  if (findings.length === 0) {
    return ok('plaintext', `no long-lived credentials in ${[...awsPaths, vaultToken].join(', ')}`);
  }
  const hint = hints.length > 0 ? hints.join('; ') : 'check the permissions of those files: they may hold long-lived secrets';
  return warn('plaintext', findings.join('; '), `${hint[0]?.toUpperCase() ?? ''}${hint.slice(1)}.`);
}

import { usageError } from './errors.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses Vault/Go-style durations ("15m", "1h30m", "90s", "900") into seconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return withinRange(Number(trimmed), text, what);
  const parts = [...trimmed.matchAll(/(\d+)([smhd])/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed !== trimmed) {
    throw usageError('duration.invalid', `Invalid ${what} "${text}".`, 'Use a duration such as 900, 15m, 1h or 1h30m.');
  }
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_SECONDS[p[2] as string] ?? 0), 0);
  return withinRange(seconds, text, what);
}

/** Ten years: far beyond any TTL Vault grants, and small enough to stay an exact number of seconds. */
const MAX_SECONDS = 10 * 365 * 86400;

function withinRange(seconds: number, text: string, what: string): number {
  if (seconds > MAX_SECONDS) throw usageError('duration.too-long', `The ${what} "${text}" is longer than ten years.`, 'Use a duration such as 900, 15m, 1h or 1h30m.');
  return seconds;
}

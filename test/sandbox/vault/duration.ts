// Duration handling as Vault's API accepts it: a number of seconds, a string of digits (seconds), or a
// Go-style duration string such as "90s", "15m", "1h30m", "1.5h", "500ms" (Vault also accepts a "d" suffix).

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  'µs': 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
};

export class DurationError extends Error {}

/** Parses a duration into whole seconds (fractions are truncated, as Vault does for TTLs). */
export function parseDurationSeconds(value: unknown): number {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DurationError(`invalid duration ${String(value)}`);
    return Math.trunc(value);
  }
  if (typeof value !== 'string') throw new DurationError(`invalid duration ${JSON.stringify(value)}`);
  const text = value.trim();
  if (/^-?\d+$/.test(text)) return Number.parseInt(text, 10);
  const sign = text.startsWith('-') ? -1 : 1;
  let rest = text.replace(/^[-+]/, '');
  if (rest === '') throw new DurationError(`time: invalid duration "${value}"`);
  let total = 0;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match) throw new DurationError(`time: invalid duration "${value}"`);
    const amount = Number.parseFloat(match[1] ?? '0');
    const unit = UNIT_SECONDS[match[2] ?? ''] ?? 0;
    total += amount * unit;
    rest = rest.slice(match[0].length);
  }
  return sign * Math.trunc(total + 1e-9);
}

/** Formats whole seconds the way Go's time.Duration prints them: "1h0m0s", "10m0s", "45s". */
export function formatGoDuration(seconds: number): string {
  const s = Math.max(0, Math.trunc(seconds));
  if (s === 0) return '0s';
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = s % 60;
  if (hours > 0) return `${hours}h${minutes}m${secs}s`;
  if (minutes > 0) return `${minutes}m${secs}s`;
  return `${secs}s`;
}

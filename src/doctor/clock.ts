/**
 * Clock skew: how far the local clock is from a server's, estimated from the server's `Date` response header
 * (or Vault's `server_time_utc`) and the local times the request was sent and its answer arrived. Pure.
 *
 * Both server times have one-second resolution and are truncated, so the server's time at the moment it
 * answered lies in [t, t + 1 s): the middle of that second is compared with the middle of the round trip.
 */
import { ok, skip, warn, type CheckResult } from './report.ts';

/** Skews up to this many seconds either way are fine (ID tokens and Vault allow some leeway). */
export const SKEW_LIMIT_SECONDS = 30;

export interface Exchange {
  /** Local time the request was sent, ms since the epoch. */
  sentAt: number;
  /** Local time the response headers arrived, ms since the epoch. */
  receivedAt: number;
}

export interface SkewSample {
  /** Who reported the time, for people: "the issuer", "Vault". */
  server: string;
  /** Where that server is. */
  url: string;
  /** How it reported it. */
  via: 'Date header' | 'server_time_utc';
  /** Local clock minus server clock, seconds: positive when the local clock is ahead. */
  skewSeconds: number;
}

function skewFromServerMs(serverMs: number, exchange: Exchange): number {
  const localMs = (exchange.sentAt + exchange.receivedAt) / 2;
  return (localMs - (serverMs + 500)) / 1000;
}

/** Local minus server seconds from an HTTP `Date` header (RFC 9110 IMF-fixdate); undefined when unusable. */
export function skewFromDateHeader(date: string | null | undefined, exchange: Exchange): number | undefined {
  if (date === null || date === undefined || date.trim() === '') return undefined;
  const serverMs = Date.parse(date);
  if (Number.isNaN(serverMs)) return undefined;
  return skewFromServerMs(serverMs, exchange);
}

/** Local minus server seconds from a server time in whole seconds since the epoch (Vault's `server_time_utc`). */
export function skewFromEpochSeconds(seconds: unknown, exchange: Exchange): number | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  return skewFromServerMs(seconds * 1000, exchange);
}

/** "300 s behind" / "12 s ahead of" / "in step with", for a skew in seconds (local minus server). */
export function describeSkew(skewSeconds: number, server: string): string {
  const rounded = Math.round(Math.abs(skewSeconds));
  if (rounded === 0) return `in step with ${server}`;
  return skewSeconds > 0 ? `${rounded} s ahead of ${server}` : `${rounded} s behind ${server}`;
}

/** The clock check from the samples gathered by the issuer and Vault checks. */
export function clockCheck(samples: readonly SkewSample[], reason?: string): CheckResult {
  if (samples.length === 0) return skip('clock', reason ?? 'no server reported its time');
  // Per server, the sample furthest off (Vault can report through its Date header and server_time_utc).
  const worst = new Map<string, SkewSample>();
  for (const sample of samples) {
    const known = worst.get(sample.server);
    if (known === undefined || Math.abs(sample.skewSeconds) > Math.abs(known.skewSeconds)) worst.set(sample.server, sample);
  }
  const all = [...worst.values()];
  const off = all.filter((sample) => Math.abs(sample.skewSeconds) > SKEW_LIMIT_SECONDS);
  if (off.length === 0) {
    return ok('clock', `the local clock is ${all.map((s) => describeSkew(s.skewSeconds, s.server)).join(' and ')} (limit ±${SKEW_LIMIT_SECONDS} s)`);
  }
  const detail = off.map((s) => `the local clock is ${describeSkew(s.skewSeconds, s.server)} at ${s.url} (${s.via})`).join('; ');
  const agree = all.filter((sample) => !off.includes(sample));
  const hint =
    agree.length > 0
      ? `This machine agrees with ${agree.map((s) => s.server).join(' and ')}, so the clock of ${off.map((s) => s.server).join(' and ')} is probably wrong: tell its operators (tokens fail validation when clocks differ).`
      : 'Turn on time synchronisation on this machine (e.g. `timedatectl set-ntp true`): tokens fail validation when clocks differ.';
  return warn('clock', detail, hint);
}


import type { IO } from './io.ts';

/** The chain's steps as the live UI shows them, in order. */
export type StepName = 'touch' | 'identity' | 'vault' | 'keychain' | 'aws';

export const STEP_LABELS: Readonly<Record<StepName, string>> = {
  touch: 'Touch',
  identity: 'Identity',
  vault: 'Vault',
  keychain: 'Keychain',
  aws: 'AWS',
};

export interface DeviceCodePanel {
  /** verification_uri: where to enter the code. */
  uri: string;
  code: string;
  /** verification_uri_complete, when the issuer offers it (the QR code encodes it). */
  complete?: string;
}

/**
 * What the login chain reports while it runs. The live UI (src/ui/ink) implements it; without it, the
 * functions below keep the plain line output that scripts and CI logs see.
 */
export interface Progress {
  step<T>(name: StepName, work: () => Promise<T>, summary?: (value: T) => string): Promise<T>;
  touchPrompt(purpose: string, deviceName: string): void;
  deviceCode(panel: DeviceCodePanel): void;
}

/** Runs one step of the chain: live, a spinner then a tick and its duration (or a cross and the remedy); plain, silently. */
export function step<T>(io: IO, name: StepName, work: () => Promise<T>, summary?: (value: T) => string): Promise<T> {
  return io.progress ? io.progress.step(name, work, summary) : work();
}

/** The authenticator waits for a touch. */
export function touchPrompt(io: IO, purpose: string, deviceName: string): void {
  if (io.progress) io.progress.touchPrompt(purpose, deviceName);
  else io.info(`${purpose} (${deviceName} is blinking)`);
}

/** The device-code login: where to go and the code to enter (live: with a QR code for phones). */
export function deviceCode(io: IO, panel: DeviceCodePanel): void {
  if (io.progress) {
    io.progress.deviceCode(panel);
    return;
  }
  io.info(`To log in, visit ${panel.uri} and enter the code:\n\n  ${panel.code}\n`);
  if (panel.complete) io.info(`Or open: ${panel.complete}`);
  io.info('Waiting for the login to be approved…');
}

/** A duration for people: 0.4s, 12s, 2m05s. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** Time left until an ISO time, for people: 59m, 1h05m, 42s, expired; `unknown` for null. */
export function formatTimeLeft(iso: string | null, nowMs: number): string {
  if (iso === null) return 'unknown';
  const seconds = Math.round((Date.parse(iso) - nowMs) / 1000);
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds <= 0) return 'expired';
  if (seconds < 60) return `${seconds}s`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m` : `${minutes}m`;
}

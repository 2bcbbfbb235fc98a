/**
 * `TNG_DEBUG=1`: one stderr line per step of the chain with its duration — HTTP calls (discovery, token,
 * Vault, STS), keychain reads and writes, the child's spawn — and the time since Node started. Only step
 * names, hosts and paths are printed, never a query string, a header or a body.
 */
const enabled = process.env.TNG_DEBUG === '1';

export function timingEnabled(): boolean {
  return enabled;
}

/** The moment a step starts, for {@link reportTiming} (0 when timings are off: the `performance` global costs a module load). */
export function timingStart(): number {
  return enabled ? performance.now() : 0;
}

/** Prints `step` with the milliseconds since `startedAt` (a `performance.now()` value), when enabled. */
export function reportTiming(step: string, startedAt: number): void {
  if (!enabled) return;
  const now = performance.now();
  process.stderr.write(`tng: [timing] ${step} ${(now - startedAt).toFixed(1)} ms (at ${now.toFixed(1)} ms since start)\n`);
}

/** Runs `body`, reporting its duration under `step` (with "failed" when it throws). */
export async function timed<T>(step: string, body: () => Promise<T>): Promise<T> {
  if (!enabled) return body();
  const startedAt = performance.now();
  try {
    const result = await body();
    reportTiming(step, startedAt);
    return result;
  } catch (error) {
    reportTiming(`${step} (failed)`, startedAt);
    throw error;
  }
}

/** A URL as a timing line shows it: origin and path only. */
export function describeUrl(input: string | URL): string {
  try {
    const url = new URL(String(input));
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'a request';
  }
}

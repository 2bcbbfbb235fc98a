import type { IO } from './io.ts';

/**
 * Runs `work` under the live terminal UI when there is a person at a real terminal (`io.live`), else with
 * the plain IO. ink and React load here, on demand, so commands that never show the UI (`exec`,
 * `credential-process`, `--help`) never load them. The screen is closed (cursor shown, raw mode off)
 * before an error leaves, so main prints it below the last frame.
 */
export async function withScreen<T>(io: IO, work: (io: IO) => Promise<T>): Promise<T> {
  if (!io.live) return work(io);
  const { openScreen } = await import('./ink/screen.tsx');
  const screen = openScreen(io);
  try {
    return await work(screen.io);
  } finally {
    await screen.close();
  }
}

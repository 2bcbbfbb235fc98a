import type { WhoamiReport } from '../session/whoami.ts';
import type { IO } from './io.ts';

/** Prints whoami as the live UI's compact panel (ink loads here, only for a person at a terminal). */
export async function printWhoamiPanel(io: IO, report: WhoamiReport, nowMs: number): Promise<void> {
  const { renderWhoami } = await import('./ink/whoami-panel.tsx');
  io.info(renderWhoami(report, nowMs, { colour: io.colour, columns: process.stderr.columns || 80 }));
}

/**
 * The few text styles tng uses, as plain ANSI SGR sequences, off when colour is off. The live UI uses these
 * too instead of ink's colour props: ink's chalk decides colour from stdout, while tng draws on stderr.
 */
export interface Style {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const same = (text: string) => text;

export function createStyle(colour: boolean): Style {
  if (!colour) return { green: same, red: same, yellow: same, cyan: same, bold: same, dim: same };
  return { green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), bold: sgr(1, 22), dim: sgr(2, 22) };
}

/**
 * Text from elsewhere (a server's error_description, a library's message) made fit for one terminal line: runs
 * of whitespace, line breaks included, become one space, and any other control character is shown as `\xNN`
 * instead of reaching the terminal, where an escape sequence could retitle the window or forge output.
 */
export function oneLine(text: string): string {
  return shownControls(text.replace(/\s+/g, ' ').trim());
}

/** Text with every control character (escape sequences, line breaks) shown as `\xNN`, its spacing kept. */
export function shownControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

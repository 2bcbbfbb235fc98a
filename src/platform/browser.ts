import { spawn } from 'node:child_process';
import { parse } from 'shell-quote';

/** Opens URLs for the person at the terminal. */
export interface Browser {
  /** Starts the opener; resolves false when it could not be started (the caller then prints the URL). */
  open(url: string): Promise<boolean>;
}

/**
 * The command that opens a URL: `$BROWSER` split as a shell would, else the platform opener. Variables and a
 * leading `~/` are expanded and a word that comes out empty is dropped, as a shell drops an empty unquoted
 * `$VAR` (no browser wants an empty argument). A glob word is kept as written (tng expands nothing, as a
 * shell with no match would not); undefined when `$BROWSER` needs a shell (`&&`, `|`, `;` …), which tng does
 * not start: the caller then prints the URL instead.
 */
export function browserCommand(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string[] | undefined {
  const configured = env.BROWSER?.trim();
  if (configured) {
    const words: string[] = [];
    for (const token of parse(configured, env)) {
      if (typeof token === 'string') {
        if (token !== '') words.push(expandTilde(token, env.HOME));
      } else if ('comment' in token) break;
      else if (token.op === 'glob') words.push(token.pattern);
      else return undefined;
    }
    if (words.length > 0) return words;
  }
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['cmd', '/c', 'start', '""'];
  return ['xdg-open'];
}

function expandTilde(word: string, home: string | undefined): string {
  return home && (word === '~' || word.startsWith('~/')) ? `${home}${word.slice(1)}` : word;
}

/** The opener's argv for `url`: in place of each `%s` (the $BROWSER convention), else after the last word. */
export function openerArgv(command: readonly string[], url: string): string[] {
  return command.some((word) => word.includes('%s')) ? command.map((word) => word.split('%s').join(url)) : [...command, url];
}

export function createBrowser(env: NodeJS.ProcessEnv): Browser {
  return {
    open: (url) =>
      new Promise((resolve) => {
        const command = browserCommand(env);
        if (command === undefined) return resolve(false);
        const [program, ...args] = openerArgv(command, url);
        // The opener's own output goes to stderr so stdout stays clean for machine output.
        const child = spawn(program as string, args, { stdio: ['ignore', 2, 2], detached: true });
        child.once('error', () => resolve(false));
        child.once('spawn', () => {
          child.unref();
          resolve(true);
        });
      }),
  };
}

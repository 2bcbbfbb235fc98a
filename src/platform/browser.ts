import { spawn } from 'node:child_process';
import { parse } from 'shell-quote';

/** Opens URLs for the person at the terminal. */
export interface Browser {
  /** Starts the opener; resolves false when it could not be started (the caller then prints the URL). */
  open(url: string): Promise<boolean>;
}

/** The command that opens a URL: `$BROWSER` split as a shell would, else the platform opener. */
export function browserCommand(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string[] {
  const configured = env.BROWSER?.trim();
  if (configured) {
    const words = parse(configured, env).filter((word): word is string => typeof word === 'string');
    if (words.length > 0) return words;
  }
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['cmd', '/c', 'start', '""'];
  return ['xdg-open'];
}

export function createBrowser(env: NodeJS.ProcessEnv): Browser {
  return {
    open: (url) =>
      new Promise((resolve) => {
        const [command, ...args] = browserCommand(env);
        // The opener's own output goes to stderr so stdout stays clean for machine output.
        const child = spawn(command as string, [...args, url], { stdio: ['ignore', 2, 2], detached: true });
        child.once('error', () => resolve(false));
        child.once('spawn', () => {
          child.unref();
          resolve(true);
        });
      }),
  };
}

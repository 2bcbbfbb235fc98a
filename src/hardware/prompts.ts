import type { Deps } from '../deps.ts';
import { TngError } from '../errors.ts';
import type { TouchPrompts } from '../fido2/client.ts';
import { touchPrompt } from '../ui/progress.ts';

/** The touch and PIN prompts: plain lines on stderr, or the live UI's blinking prompt and masked field when it runs. */
export function stderrPrompts(deps: Pick<Deps, 'io'>, purpose: string): TouchPrompts {
  let touchShown = false;
  return {
    touch: (deviceName) => {
      if (touchShown) return;
      touchShown = true;
      touchPrompt(deps.io, purpose, deviceName);
    },
    selectDevice: (count) => deps.io.info(`${count} security keys found: touch the one to use.`),
    insert: () => deps.io.info('No security key found: insert one now (waiting up to 30 s).'),
    pin: async (retries, deviceName) => {
      if (!deps.io.canPrompt()) {
        throw new TngError('authenticator', 'fido2.pin-needs-tty', `${deviceName} needs its PIN, and there is no terminal to ask for it.`, {
          hint: 'Run the command on a terminal, or enrol with --uv discouraged so no PIN is needed.',
        });
      }
      const left = retries === undefined ? '' : ` (${retries} ${retries === 1 ? 'try' : 'tries'} left)`;
      return deps.io.askSecret(`PIN for ${deviceName}${left}: `);
    },
  };
}

// The live terminal UI, through the real binary in a real terminal (tmux, 120×40) against the sandbox:
// the login's steps and touch prompt, Ctrl-C at the touch, the masked PIN, the device-code panel, the
// whoami panel, the init wizard, and NO_COLOR.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { BROWSER_HELPER, createWorld, initProfile, login, runProcess, type RunResult, type World } from './harness.ts';
import { startInTmux, type Pane } from './tmux.ts';

// Letters no hex id or word on the screen holds, so a search of the terminal's history for them cannot hit by chance.
const PIN = 'qz4711';
const WRONG_PIN = 'xqxq';
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
const ESC = String.fromCharCode(27);

let sandbox: Sandbox;
let key: VirtualAuthenticator;
before(async () => {
  sandbox = await startSandbox();
  // Slow enough that the touch prompt is on the screen for a while.
  key = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 1500 } });
});
after(async () => {
  await Promise.allSettled([sandbox.close(), key.close()]);
});

async function enrolledWorld(authenticator: VirtualAuthenticator = key): Promise<World> {
  const world = await createWorld();
  world.env.TNG_FIDO2_DEVICE = authenticator.device;
  await initProfile(world, sandbox);
  const first = await login(world);
  assert.equal(first.code, 0, first.stdout);
  const enrolled = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  return world;
}

async function withPane<T>(world: World, args: string[], body: (pane: Pane) => Promise<T>, env: Record<string, string | undefined> = {}): Promise<T> {
  const pane = await startInTmux(world, args, { env });
  try {
    return await body(pane);
  } finally {
    await pane.close();
  }
}

/** After tng ended: the cursor is visible, the line discipline is cooked with echo, and typing works. */
async function assertTerminalRestored(pane: Pane): Promise<void> {
  assert.ok(await pane.cursorVisible(), 'the cursor is shown again');
  const stty = await pane.stty();
  assert.match(stty, /(^|\s)icanon(\s|$)/m, `canonical mode is back (raw mode off):\n${stty}`);
  assert.match(stty, /(^|\s)echo(\s|$)/m, `echo is back:\n${stty}`);
  assert.match(stty, /(^|\s)isig(\s|$)/m, `Ctrl-C works again:\n${stty}`);
  await pane.send(['hello'], { literal: true });
  await pane.send(['Enter']);
  await pane.waitFor(/type here> hello\ntyped: hello/);
}

describe('tng login on a terminal', () => {
  it('shows the chain as live steps and the blinking touch prompt, and ends with a tick and a duration for each step', async () => {
    const world = await enrolledWorld();
    try {
      await withPane(world, ['login', '--profile', world.profile], async (pane) => {
        const seen: string[] = [];
        const first = await pane.waitFor(/Touch your security key to log in\. \(YubiKey 5 Series is blinking\)/);
        seen.push(first);
        assert.match(first, new RegExp(`${SPINNER.source} Touch\\s+\\d+\\.\\ds`), 'a spinner and the time so far');
        // Watch the prompt while the key waits for its touch: the dot before it blinks.
        for (let i = 0; i < 12; i++) {
          await new Promise((r) => setTimeout(r, 100));
          seen.push(await pane.screen());
        }
        const promptLines = seen.flatMap((s) => s.split('\n').filter((l) => l.includes('Touch your security key to log in.')));
        assert.ok(promptLines.some((l) => l.includes('●')), 'the prompt shows its dot');
        assert.ok(promptLines.some((l) => !l.includes('●')), 'and the dot goes dark: it blinks');
        assert.equal(await pane.exitCode(), 0, await pane.screen());
        const end = await pane.screen();
        assert.match(end, /✔ Touch\s+\d+\.\ds\s+YubiKey 5 Series, signed login entry [0-9a-f]{8}/);
        assert.match(end, /✔ Identity\s+\d+\.\ds\s+alice@example\.com/);
        assert.match(end, /✔ Vault\s+\d+\.\ds\s+token for \d+ min, policies default, engineer/);
        assert.match(end, /✔ Keychain\s+\d+\.\ds\s+session stored/);
        assert.match(end, /Logged in as alice@example\.com/);
        // The steps come in the chain's order, and nothing live is left behind.
        const order = ['✔ Touch', '✔ Identity', '✔ Vault', '✔ Keychain'].map((s) => end.indexOf(s));
        assert.deepEqual([...order].sort((a, b) => a - b), order);
        assert.doesNotMatch(end, SPINNER);
        assert.doesNotMatch(end, /is blinking/);
        await assertTerminalRestored(pane);
      });
    } finally {
      await world.dispose();
    }
  });

  it('Ctrl-C during the touch prompt cancels the touch (CTAPHID CANCEL), exits 130 and leaves the terminal usable', async () => {
    const world = await enrolledWorld();
    try {
      key.setTouch({ kind: 'never' });
      const cancels = key.stats().cancels;
      await withPane(world, ['login', '--profile', world.profile], async (pane) => {
        await pane.waitFor(/Touch your security key to log in/);
        assert.ok(!(await pane.cursorVisible()), 'the live UI hides the cursor while it draws');
        await pane.send(['C-c']);
        assert.equal(await pane.exitCode(10_000), 130, await pane.screen());
        const end = await pane.screen();
        assert.match(end, /✘ Touch\s+\d+\.\ds\s+interrupted/);
        assert.match(end, /tng: Interrupted while waiting for the security key\.\nhint: /);
        assert.doesNotMatch(end, /is blinking/);
        assert.ok(key.stats().cancels > cancels, 'tng sent CTAPHID_CANCEL to the key');
        await assertTerminalRestored(pane);
      });
    } finally {
      key.setTouch({ kind: 'auto', delayMs: 1500 });
      await world.dispose();
    }
  });

  it('with --device-code shows a panel with the URL, the code and a QR code, until the login is approved', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      await withPane(
        world,
        ['login', '--profile', world.profile, '--device-code'],
        async (pane) => {
          const panel = await pane.waitFor(/enter the code {2}[A-Z0-9]{4}-[A-Z0-9]{4}[\s\S]*scan this with a phone:[\s\S]*Waiting for the login to be approved/);
          assert.match(panel, new RegExp(`open ${sandbox.issuer.replace(/[.]/g, '\\.')}/device`));
          assert.match(panel, /[█▀▄]{7}/, 'the QR code is drawn in block characters');
          assert.match(panel, /╭─+╮/);
          const code = panel.match(/enter the code {2}([A-Z0-9]{4}-[A-Z0-9]{4})/)?.[1] as string;
          // The person approves on their phone.
          const approve = await runProcess(process.execPath, [BROWSER_HELPER, `${sandbox.issuer}/device?user_code=${code}`], { ...world.env, SANDBOX_BROWSER_LOG: `${world.home}/phone.log` });
          assert.equal(approve.code, 0);
          assert.equal(await pane.exitCode(), 0, await pane.screen());
          const end = await pane.screen();
          assert.match(end, /✔ Identity\s+\d+(\.\d)?s\s+alice@example\.com/);
          assert.doesNotMatch(end, /enter the code/, 'the panel goes when the step ends');
        },
        { BROWSER: undefined },
      );
    } finally {
      await world.dispose();
    }
  });

  it('NO_COLOR removes the colour only: the steps still draw live', async () => {
    const world = await enrolledWorld();
    try {
      const colours = new RegExp(`${ESC}\\[(3\\d|9\\d|4\\d|10\\d)(;\\d+)*m`);
      await withPane(world, ['login', '--profile', world.profile], async (pane) => {
        await pane.waitFor(/is blinking/);
        assert.match(await pane.screen(), SPINNER);
        assert.equal(await pane.exitCode(), 0);
        assert.doesNotMatch(await pane.screen({ escapes: true }), colours);
        assert.match(await pane.screen(), /✔ Keychain/);
      }, { NO_COLOR: '1' });
      await withPane(world, ['login', '--profile', world.profile], async (pane) => {
        assert.equal(await pane.exitCode(), 0);
        assert.ok((await pane.screen({ escapes: true })).includes(`${ESC}[32m✔`), 'without NO_COLOR the ticks are green');
      });
    } finally {
      await world.dispose();
    }
  });
});

describe('in CI', () => {
  it('a terminal gets plain lines (CI=true): no spinner, no colour, the touch prompt as one line', async () => {
    const world = await enrolledWorld();
    try {
      await withPane(
        world,
        ['login', '--profile', world.profile],
        async (pane) => {
          const screens: string[] = [];
          while (!/\[exit \d+\]/.test(screens.at(-1) ?? '')) {
            screens.push(await pane.screen({ escapes: true }));
            await new Promise((r) => setTimeout(r, 100));
          }
          assert.equal(await pane.exitCode(), 0);
          for (const screen of screens) {
            assert.ok(!screen.includes(ESC), `an escape sequence:\n${JSON.stringify(screen)}`);
            assert.doesNotMatch(screen, SPINNER);
          }
          const end = screens.at(-1) as string;
          assert.match(end, /^Touch your security key to log in\. \(YubiKey 5 Series is blinking\)$/m);
          assert.match(end, /^Logged in as alice@example\.com/m);
          assert.doesNotMatch(end, /✔ Touch/);
        },
        { CI: 'true' },
      );
    } finally {
      await world.dispose();
    }
  });
});

/** Runs tng on a pty (plain output) and types each PIN when asked. */
async function withPins(world: World, args: string[], pins: string[]): Promise<RunResult> {
  const running = world.start([...args, '--profile', world.profile], { tty: true, timeoutMs: 60_000 });
  let seen = 0;
  for (const pin of pins) {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && running.child.exitCode === null && !/PIN for [^\n]*: $/.test(running.output().slice(seen))) {
      await new Promise((r) => setTimeout(r, 25));
    }
    seen = running.output().length;
    running.child.stdin.write(`${pin}\r`);
  }
  return running.exited;
}

describe('the PIN prompt', () => {
  it('is masked: each digit shows as a bullet, never as itself, and the retries left are shown after a wrong one', async () => {
    const pinKey = await startVirtualAuthenticator({ pin: PIN, touch: { kind: 'auto', delayMs: 20 } });
    const world = await createWorld();
    try {
      world.env.TNG_FIDO2_DEVICE = pinKey.device;
      await initProfile(world, sandbox);
      assert.equal((await withPins(world, ['enroll', '--uv', 'required'], [PIN, PIN, PIN])).code, 0);
      assert.equal((await withPins(world, ['login'], [PIN])).code, 0);
      await withPane(world, ['login', '--profile', world.profile], async (pane) => {
        await pane.waitFor(/PIN for YubiKey 5 Series \(8 tries left\): ▏/);
        await pane.send([WRONG_PIN], { literal: true });
        await pane.waitFor(/PIN for YubiKey 5 Series \(8 tries left\): ••••▏/);
        await pane.send(['Enter']);
        await pane.waitFor(/PIN for YubiKey 5 Series \(7 tries left\): ▏/);
        await pane.send(['qz47'], { literal: true });
        await pane.send(['BSpace']);
        await pane.waitFor(/\(7 tries left\): •••▏/);
        await pane.send(['711'], { literal: true });
        await pane.waitFor(/\(7 tries left\): ••••••▏/);
        await pane.send(['Enter']);
        assert.equal(await pane.exitCode(), 0, await pane.screen());
        const everything = await pane.history();
        assert.ok(![WRONG_PIN, 'qz'].some((typed) => everything.includes(typed)), `a PIN was echoed:\n${everything}`);
        assert.match(everything, /✔ Touch/);
        await assertTerminalRestored(pane);
      });
    } finally {
      await world.dispose();
      await pinKey.close();
    }
  });
});

describe('tng whoami on a terminal', () => {
  it('is one compact panel: hardware, identity, Vault, AWS, audit, with the time left at each', async () => {
    const world = await enrolledWorld();
    try {
      await withPane(world, ['whoami', '--profile', world.profile], async (pane) => {
        assert.equal(await pane.exitCode(), 0, await pane.screen());
        const panel = await pane.screen();
        assert.match(panel, /╭─+╮/);
        assert.match(panel, new RegExp(`│ tng whoami · profile ${world.profile}`));
        assert.match(panel, /│ Hardware {2}YubiKey 5 Series · credential \S+… · not touched yet/);
        assert.match(panel, /│ Identity {2}alice@example\.com · groups engineers, platform · ID token \d+h\d\dm left/);
        assert.match(panel, /│ Vault {5}jwt-alice@example\.com · policies default, engineer · token \d+m left \(renewable\)/);
        assert.match(panel, /│ AWS {7}no AWS credentials issued/);
        assert.match(panel, /│ Audit {5}\d+ entries · chain verified · last [0-9a-f]{8}…/);
        assert.match(panel, /╰─+╯/);
      });
      // --json is for scripts: the object on stdout, no panel.
      await withPane(world, ['whoami', '--json', '--profile', world.profile], async (pane) => {
        assert.equal(await pane.exitCode(), 0);
        const screen = await pane.screen();
        assert.match(screen, /^\{"profile":/m);
        assert.doesNotMatch(screen, /╭/);
      });
    } finally {
      await world.dispose();
    }
  });
});

describe('tng init on a terminal', () => {
  it('asks for the missing values as a short wizard, asking again for one that is not valid', async () => {
    const world = await createWorld();
    try {
      await withPane(world, ['init', '--profile', world.profile], async (pane) => {
        await pane.waitFor(/needs 4 values[\s\S]*\[1\/4\] issuer \(OIDC issuer[^\n]*: ▏/);
        await pane.send([sandbox.issuer], { literal: true });
        await pane.send(['Enter']);
        await pane.waitFor(/\[2\/4\] client_id [^\n]*: ▏/);
        await pane.send(['tng', 'Enter']);
        await pane.waitFor(/\[3\/4\] vault_addr [^\n]*: ▏/);
        await pane.send(['http://vault.example.com'], { literal: true });
        await pane.send(['Enter']);
        await pane.waitFor(/warning: vault_addr must use https:\/\/[\s\S]*\n\[3\/4\] vault_addr [^\n]*: ▏/);
        await pane.send([sandbox.vaultAddr], { literal: true });
        await pane.send(['Enter']);
        await pane.waitFor(/\[4\/4\] vault_role [^\n]*: ▏/);
        await pane.send(['engineer', 'Enter']);
        assert.equal(await pane.exitCode(), 0, await pane.screen());
        assert.match(await pane.screen(), new RegExp(`Profile "${world.profile}" written to `));
      });
      const check = await world.run(['doctor', '--profile', world.profile, '--json']);
      const config = JSON.parse(check.stdout).checks.find((c: { name: string }) => c.name === 'config');
      assert.equal(config?.status, 'ok', check.stdout);
    } finally {
      await world.dispose();
    }
  });

  it('Ctrl-C or Ctrl-D at a question is exit 130 and writes nothing, in the live UI and in plain prompts (CI)', async () => {
    const world = await createWorld();
    try {
      for (const [key, env] of [['C-c', {}], ['C-d', {}], ['C-c', { CI: '1' }], ['C-d', { CI: '1' }]] as const) {
        await withPane(
          world,
          ['init', '--profile', world.profile],
          async (pane) => {
            await pane.waitFor(/\[1\/4\] issuer \(OIDC issuer[^\n]*dex\):/);
            await pane.send([key]);
            assert.equal(await pane.exitCode(), 130, `${key} ${JSON.stringify(env)}:\n${await pane.screen()}`);
            assert.match(await pane.history(), /tng: Interrupted\.\s+hint: Run the command again when ready\./);
            assert.doesNotMatch(await pane.history(), /internal error/);
            await assertTerminalRestored(pane);
          },
          env,
        );
      }
      await assert.rejects(stat(world.config), { code: 'ENOENT' });
    } finally {
      await world.dispose();
    }
  });
});

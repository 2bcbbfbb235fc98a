// Without a person at a terminal tng writes plain lines: no escape sequences, no spinners, whatever the
// command. The live UI's counterpart is ui.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { createWorld, initProfile, login, type RunResult, type World } from './harness.ts';

const ESCAPE = '\u001b';
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

let sandbox: Sandbox;
let key: VirtualAuthenticator;
let world: World;
before(async () => {
  sandbox = await startSandbox();
  key = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 50 } });
  world = await createWorld();
  world.env.TNG_FIDO2_DEVICE = key.device;
  world.env.AWS_ENDPOINT_URL_STS = sandbox.stsUrl;
  await initProfile(world, sandbox, ['--aws-role', 'deploy']);
  const first = await login(world);
  assert.equal(first.code, 0, first.stdout);
  const enrolled = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
  assert.equal(enrolled.code, 0, enrolled.stderr);
});
after(async () => {
  await world.dispose();
  await Promise.allSettled([sandbox.close(), key.close()]);
});

function assertPlain(result: RunResult, what: string): void {
  for (const [name, text] of [['stderr', result.stderr], ['stdout', result.stdout]] as const) {
    assert.ok(!text.includes(ESCAPE), `${what}: an escape sequence on ${name}:\n${JSON.stringify(text)}`);
    assert.doesNotMatch(text, SPINNER, `${what}: a spinner on ${name}`);
  }
}

describe('plain output without a terminal', () => {
  it('login (with its touch), whoami, doctor, exec and credential-process write no escape codes; even a terminal in an xterm gets none from them when stdout and stderr are pipes', async () => {
    const env = { TERM: 'xterm-256color', NO_COLOR: undefined };
    const loggedIn = await world.run(['login', '--profile', world.profile], { env });
    assert.equal(loggedIn.code, 0, loggedIn.stderr);
    assert.match(loggedIn.stderr, /^Touch your security key to log in\. \(YubiKey 5 Series is blinking\)$/m);
    assert.match(loggedIn.stderr, /^Logged in as alice@example\.com/m);
    assertPlain(loggedIn, 'login');

    const exec = await world.run(['exec', '--profile', world.profile, '--', 'true'], { env });
    assert.equal(exec.code, 0, exec.stderr);
    assertPlain(exec, 'exec');

    const whoami = await world.run(['whoami', '--profile', world.profile], { env });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(whoami.stderr, /^Identity {2}alice@example\.com/m);
    assert.match(whoami.stderr, /^AWS {7}arn:aws:sts::/m);
    assertPlain(whoami, 'whoami');

    const doctor = await world.run(['doctor', '--profile', world.profile], { env });
    assert.match(doctor.stderr, /^✔ config /m);
    assertPlain(doctor, 'doctor');

    const credentials = await world.run(['credential-process', '--profile', world.profile], { env });
    assert.equal(credentials.code, 0, credentials.stderr);
    assert.equal(credentials.stderr, '');
    assertPlain(credentials, 'credential-process');
  });

  it('errors are the same two plain lines', async () => {
    const denied = await world.run(['whoami', '--profile', 'no-such-profile'], { env: { TERM: 'xterm-256color' } });
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /^tng: [^\n]+\nhint: [^\n]+\n$/);
    assertPlain(denied, 'an error');
  });

  it('on a pty as the harness runs it (CI=true, no size) login and whoami write plain lines', async () => {
    const loggedIn = await login(world, [], { TERM: 'xterm-256color' });
    assert.equal(loggedIn.code, 0, loggedIn.stdout);
    assert.match(loggedIn.stdout, /Touch your security key to log in\. \(YubiKey 5 Series is blinking\)/);
    assertPlain(loggedIn, 'login on a pty in CI');
    const whoami = await world.run(['whoami', '--profile', world.profile], { tty: true, env: { TERM: 'xterm-256color' } });
    assert.equal(whoami.code, 0, whoami.stdout);
    assert.match(whoami.stdout, /^Vault {5}/m);
    assertPlain(whoami, 'whoami on a pty in CI');
  });
});

// Every way a touch can fail, through the real binary: each is exit 5 with tng's own two lines, and the
// session and the keychain stay as they were.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOsKeychain } from '../../src/keychain/os.ts';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { createWorld, initProfile, login, whoamiJson, type RunResult, type World } from './harness.ts';

const PIN = '4711';
let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

async function worldWith(key: VirtualAuthenticator): Promise<World> {
  const world = await createWorld();
  world.env.TNG_FIDO2_DEVICE = key.device;
  await initProfile(world, sandbox);
  return world;
}

/** Runs tng on a terminal and types each PIN when it is asked for; returns what happened. */
async function withPins(world: World, args: string[], pins: string[]): Promise<RunResult & { asked: string[] }> {
  const running = world.start([...args, '--profile', world.profile], { tty: true, timeoutMs: 60_000 });
  const asked: string[] = [];
  let exited = false;
  void running.exited.then(() => (exited = true));
  let seen = 0;
  for (const pin of pins) {
    const deadline = Date.now() + 20_000;
    let question: string | undefined;
    while (!exited && Date.now() < deadline) {
      const fresh = running.output().slice(seen);
      if (/PIN for [^\n]*: $/.test(fresh)) {
        question = fresh;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (question === undefined) break; // no more questions: the command ended
    asked.push(question);
    seen = running.output().length;
    running.child.stdin.write(`${pin}\r`);
  }
  const result = await running.exited;
  return { ...result, asked };
}

function assertTngError(result: RunResult, code: number, pattern: RegExp): void {
  const text = result.stdout + result.stderr;
  assert.equal(result.code, code, text);
  assert.match(text, pattern);
  assert.match(text, /hint: /);
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

const storedRefresh = (world: World) => createOsKeychain().get(`profile:${world.profile}:refresh-token`);

describe('a key with a PIN (uv = "required")', () => {
  let key: VirtualAuthenticator;
  let world: World;
  before(async () => {
    key = await startVirtualAuthenticator({ pin: PIN, touch: { kind: 'auto', delayMs: 20 } });
    world = await worldWith(key);
    const enrolled = await withPins(world, ['enroll', '--uv', 'required'], [PIN, PIN, PIN]);
    assert.equal(enrolled.code, 0, enrolled.stdout);
    const loggedIn = await withPins(world, ['login'], [PIN]);
    assert.equal(loggedIn.code, 0, loggedIn.stdout);
  });
  after(async () => {
    await world.dispose();
    await key.close();
  });

  it('never echoes the PIN, and asks for it with the retries left after a wrong one', async () => {
    const result = await withPins(world, ['login'], ['0000', PIN]);
    assert.equal(result.code, 0, result.stdout);
    assert.ok(!result.stdout.includes('0000') && !result.stdout.includes(PIN), `a PIN was echoed:\n${result.stdout}`);
    assert.match(result.asked[1] ?? '', /7 tries left|7 attempts left|7 left/);
  });

  it('without a terminal a PIN cannot be asked: exit 5, session kept', async () => {
    const accessor = (await whoamiJson(world)).report?.vault.accessor;
    const result = await world.run(['login', '--profile', world.profile]);
    assertTngError(result, 5, /needs its PIN, and there is no terminal/);
    assert.equal((await whoamiJson(world)).report?.vault.accessor, accessor);
  });

  it('three wrong PINs in a row: exit 5 (reinsert the key); the session and the sealed refresh token stay', async () => {
    const accessor = (await whoamiJson(world)).report?.vault.accessor;
    const sealed = await storedRefresh(world);
    const result = await withPins(world, ['login'], ['1111', '2222', '3333', '4444']);
    assertTngError(result, 5, /Too many wrong PINs in a row/);
    assert.equal(result.asked.length, 3);
    assert.equal(await storedRefresh(world), sealed);
    assert.equal((await whoamiJson(world)).report?.vault.accessor, accessor);
  });

  it('a blocked PIN: exit 5 that says only a reset helps; nothing lost', async () => {
    const sealed = await storedRefresh(world);
    // Spend the remaining retries, reinserting the key whenever it asks for that.
    while (key.pinRetries() > 0) {
      key.powerCycle();
      await withPins(world, ['login'], ['9999', '9999', '9999']);
    }
    key.powerCycle();
    const result = await withPins(world, ['login'], [PIN]);
    assertTngError(result, 5, /PIN of the security key is blocked/);
    assert.equal(await storedRefresh(world), sealed);
  });
});

describe('keys tng cannot use', () => {
  it('a U2F-only key: enroll is exit 5 and says tng needs FIDO2 with hmac-secret', async () => {
    const key = await startVirtualAuthenticator({ u2fOnly: true });
    const world = await worldWith(key);
    try {
      const result = await world.run(['enroll', '--profile', world.profile]);
      assertTngError(result, 5, /U2F/);
    } finally {
      await world.dispose();
      await key.close();
    }
  });

  it('a key without hmac-secret: enroll is exit 5 naming the extension; the config is unchanged', async () => {
    const key = await startVirtualAuthenticator({ hmacSecret: false });
    const world = await worldWith(key);
    try {
      const result = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
      assertTngError(result, 5, /hmac-secret/);
      const { report } = await whoamiJson(world).catch(() => ({ report: undefined }));
      assert.equal(report?.hardware ?? null, null, 'nothing was enrolled');
      assert.equal(key.credentials().length, 0, 'no credential was left on the key');
    } finally {
      await world.dispose();
      await key.close();
    }
  });
});

describe('a key that is never touched', () => {
  it('login waits 30 s for the touch, then exits 5; the session stays', async () => {
    const key = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 20 }, userActionTimeoutMs: 120_000 });
    const world = await worldWith(key);
    try {
      assert.equal((await login(world)).code, 0);
      assert.equal((await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged'])).code, 0);
      const accessor = (await whoamiJson(world)).report?.vault.accessor;
      key.setTouch({ kind: 'never' });
      const started = Date.now();
      const result = await world.run(['login', '--profile', world.profile], { timeoutMs: 60_000 });
      const waited = Date.now() - started;
      assertTngError(result, 5, /not touched within 30 s/);
      assert.ok(waited >= 29_000 && waited < 45_000, `waited ${waited} ms`);
      assert.equal((await whoamiJson(world)).report?.vault.accessor, accessor);
    } finally {
      await world.dispose();
      await key.close();
    }
  });
});

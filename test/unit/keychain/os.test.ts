/**
 * The OS keychain against a real gnome-keyring. Run inside the sandbox:
 *   bash test/sandbox/with-keyring.sh node --import tsx --test test/unit/keychain/os.test.ts
 * Started outside it (e.g. by `npm run test:unit`), this file runs itself inside the sandbox, so the
 * user's real keyring is never touched.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AsyncEntry, findCredentialsAsync } from '@napi-rs/keyring';
import { TngError } from '../../../src/errors.ts';
import { CHUNK_BYTES, HEADER_PREFIX, parseHeader } from '../../../src/keychain/chunks.ts';
import { createOsKeychain } from '../../../src/keychain/os.ts';
import { SERVICE } from '../../../src/keychain/store.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const thisFile = fileURLToPath(import.meta.url);
const sandbox = join(root, 'test', 'sandbox', 'with-keyring.sh');
const osModule = new URL('../../../src/keychain/os.ts', import.meta.url).href;
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** Runs a command to its end (killing it after `limitMs`, which the assertions then report). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, limitMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(killer);
      resolve({ status, signal, stdout, stderr, wallMs: performance.now() - started });
    });
  });
}

if (process.env.TNG_TEST_KEYRING !== 'unlocked') {
  test('the OS keychain tests pass inside a throwaway gnome-keyring (with-keyring.sh)', async () => {
    // A test run of its own (node:test refuses to nest runs while NODE_TEST_CONTEXT is set).
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const result = await run(
      'bash',
      [sandbox, process.execPath, '--import', 'tsx', '--test', '--test-reporter=tap', thisFile],
      env,
      180_000,
    );
    const output = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.status, 0, output);
    assert.match(result.stdout, /^# fail 0$/m, output);
    assert.match(result.stdout, /^# pass ([1-9][0-9]*)$/m, output);
  });
} else {
  defineSandboxTests();
}

function defineSandboxTests(): void {
  const keychain = createOsKeychain();
  const raw = (account: string) => new AsyncEntry(SERVICE, account, { linux: { store: 'secret-service' } });
  const scratch = mkdtempSync(join(tmpdir(), 'tng-os-test-'));
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A value of exactly `size` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
  function bigValue(size: number, seed: string): string {
    const alphabet = ['a', 'Z', '0', 'é', 'ß', '€', '密', '🔑', '-', '_'];
    let text = `${seed}:`;
    for (let i = 0; bytes(text) < size - 4; i += 1) text += alphabet[(i * 7 + seed.length) % alphabet.length];
    while (bytes(text) < size) text += 'x';
    return text;
  }

  async function rawItems(key: string): Promise<{ base: string | null; chunks: (string | null)[] }> {
    const base = await raw(key).getPassword();
    const chunks: (string | null)[] = [];
    for (let i = 1; i <= 12; i += 1) chunks.push(await raw(`${key}#${i}`).getPassword());
    return { base, chunks };
  }

  function assertKeychainError(error: unknown, code: string): true {
    assert.ok(error instanceof TngError, `expected a TngError, got ${String(error)}`);
    assert.equal(error.kind, 'keychain');
    assert.equal(error.exitCode, 7);
    assert.equal(error.code, code);
    assert.ok(!error.message.includes('\n') && error.hint.length > 0 && !error.hint.includes('\n'));
    return true;
  }

  test('the sandbox keyring is a real, unlocked Secret Service', async () => {
    assert.equal(process.env.TNG_TEST_KEYRING, 'unlocked');
    assert.match(process.env.DBUS_SESSION_BUS_ADDRESS ?? '', /tng-keyring\./);
    const probe = raw('sandbox-probe');
    await probe.setPassword('ok');
    assert.equal(await probe.getPassword(), 'ok');
    assert.equal(await probe.deleteCredential(), true);
  });

  test('round trip: set then get returns the value', async (t) => {
    let started = performance.now();
    await keychain.set('profile:work:session', 's3cr3t-token');
    const firstSet = performance.now() - started;
    started = performance.now();
    assert.equal(await keychain.get('profile:work:session'), 's3cr3t-token');
    const get = performance.now() - started;
    started = performance.now();
    await keychain.set('profile:work:session', 's3cr3t-token-2');
    assert.equal(await keychain.get('profile:work:session'), 's3cr3t-token-2');
    const roundTrip = performance.now() - started;
    t.diagnostic(`first set (library load and bus probe included) ${firstSet.toFixed(0)} ms, get ${get.toFixed(1)} ms, set+get ${roundTrip.toFixed(1)} ms`);
    // Stored under service "tng" with the key as the account, in the Secret Service itself.
    assert.equal(await raw('profile:work:session').getPassword(), 's3cr3t-token-2');
  });

  test('a missing key reads as undefined', async () => {
    assert.equal(await keychain.get('profile:nobody:session'), undefined);
    assert.equal(await raw('profile:nobody:session').getPassword(), null);
  });

  test('delete is idempotent', async () => {
    await keychain.set('profile:del:session', 'v');
    assert.equal(await keychain.delete('profile:del:session'), true);
    assert.equal(await keychain.get('profile:del:session'), undefined);
    assert.equal(await keychain.delete('profile:del:session'), false);
    assert.equal(await keychain.delete('profile:never-written:session'), false);
  });

  test('overwrite replaces the value and leaves one item', async () => {
    await keychain.set('profile:ow:refresh-token', 'first');
    await keychain.set('profile:ow:refresh-token', 'second');
    assert.equal(await keychain.get('profile:ow:refresh-token'), 'second');
    const items = (await findCredentialsAsync(SERVICE)).filter((item) => item.account === 'profile:ow:refresh-token');
    assert.deepEqual(items, [{ account: 'profile:ow:refresh-token', password: 'second' }]);
  });

  test('unicode and unusual strings round-trip exactly', async () => {
    const values = [
      'päßwörd 密码 🔑 Ωμέγα',
      'e\u0301 (combining) and \u{1F469}\u200D\u{1F4BB}',
      'line 1\nline 2\r\n\ttabbed',
      '',
      '  padded  ',
      '{"json":true,"n":[1,2,3]}',
      '\u001e',
      `${HEADER_PREFIX}v1 n=1 bytes=3 sha256=${'0'.repeat(64)}`,
      '€'.repeat(667),
    ];
    for (const [i, value] of values.entries()) {
      const key = `profile:unicode${i}:session`;
      await keychain.set(key, value);
      assert.equal(await keychain.get(key), value, JSON.stringify(value));
    }
  });

  test('a 10 KB value is chunked, reassembled, and no item exceeds the limit', async () => {
    const key = 'profile:big:session';
    const value = bigValue(10 * 1024, 'big');
    assert.equal(bytes(value), 10 * 1024);
    await keychain.set(key, value);
    assert.equal(await keychain.get(key), value);

    const { base, chunks } = await rawItems(key);
    assert.ok(base?.startsWith(HEADER_PREFIX), 'the base item holds the header');
    const header = parseHeader(base ?? '');
    assert.ok(header !== undefined);
    assert.equal(header.count, 6);
    assert.equal(header.bytes, 10 * 1024);
    const present = chunks.filter((chunk): chunk is string => chunk !== null);
    assert.equal(present.length, 6);
    assert.deepEqual(chunks.slice(0, 6).map((chunk) => chunk !== null), [true, true, true, true, true, true]);
    assert.equal(present.join(''), value);
    for (const chunk of present) assert.ok(bytes(chunk) <= CHUNK_BYTES, `chunk of ${bytes(chunk)} bytes`);

    // The same through the library's own search over everything stored under "tng".
    const all = await findCredentialsAsync(SERVICE);
    const ours = all.filter((item) => item.account === key || item.account.startsWith(`${key}#`));
    assert.deepEqual(ours.map((item) => item.account).sort(), [key, ...[1, 2, 3, 4, 5, 6].map((i) => `${key}#${i}`)].sort());
    for (const item of all) assert.ok(bytes(item.password) <= CHUNK_BYTES, `${item.account}: ${bytes(item.password)} bytes`);

    assert.equal(await keychain.delete(key), true);
    const gone = await rawItems(key);
    assert.equal(gone.base, null);
    assert.deepEqual(gone.chunks, Array(12).fill(null));
  });

  test('shrinking a chunked value removes the stale chunks', async () => {
    const key = 'profile:shrink:session';
    await keychain.set(key, bigValue(10 * 1024, 'large'));
    assert.equal((await rawItems(key)).chunks.filter((chunk) => chunk !== null).length, 6);

    const medium = bigValue(5000, 'medium');
    await keychain.set(key, medium);
    assert.equal(await keychain.get(key), medium);
    let items = await rawItems(key);
    assert.deepEqual(items.chunks.map((chunk) => chunk !== null), [true, true, true, ...Array(9).fill(false)]);

    await keychain.set(key, 'small again');
    assert.equal(await keychain.get(key), 'small again');
    items = await rawItems(key);
    assert.equal(items.base, 'small again');
    assert.deepEqual(items.chunks, Array(12).fill(null));
  });

  test('a tampered, missing or reordered chunk is detected', async () => {
    const key = 'profile:tamper:session';
    const value = bigValue(7000, 'tamper');
    await keychain.set(key, value);
    const chunk2 = (await raw(`${key}#2`).getPassword()) ?? '';
    const chunk3 = (await raw(`${key}#3`).getPassword()) ?? '';

    // One character changed, same length.
    await raw(`${key}#2`).setPassword(`${chunk2.slice(0, 100)}${chunk2[100] === 'a' ? 'b' : 'a'}${chunk2.slice(101)}`);
    await assert.rejects(keychain.get(key), (error) => assertKeychainError(error, 'keychain.corrupt'));
    await assert.rejects(keychain.get(key), (error) => {
      assert.ok(error instanceof Error && !error.message.includes(chunk2.slice(0, 20)), 'no secret in the message');
      return true;
    });

    // Two chunks swapped.
    await raw(`${key}#2`).setPassword(chunk3);
    await raw(`${key}#3`).setPassword(chunk2);
    await assert.rejects(keychain.get(key), (error) => assertKeychainError(error, 'keychain.corrupt'));

    // A chunk missing.
    await raw(`${key}#2`).setPassword(chunk2);
    await raw(`${key}#3`).deleteCredential();
    await assert.rejects(keychain.get(key), (error) => assertKeychainError(error, 'keychain.corrupt'));

    // A damaged header.
    await raw(key).setPassword(`${HEADER_PREFIX}v1 n=x`);
    await assert.rejects(keychain.get(key), (error) => assertKeychainError(error, 'keychain.corrupt'));

    // Delete still cleans up whatever is left, and a fresh write works again.
    assert.equal(await keychain.delete(key), true);
    const items = await rawItems(key);
    assert.equal(items.base, null);
    assert.deepEqual(items.chunks, Array(12).fill(null));
    await keychain.set(key, value);
    assert.equal(await keychain.get(key), value);
  });

  test('a value the keychain cannot store faithfully fails the read-back (keychain.write-mismatch)', async () => {
    // A lone surrogate has no UTF-8 form: the Secret Service keeps U+FFFD instead, which the read-back sees.
    const value = 'token-\ud800-end';
    await assert.rejects(keychain.set('profile:mismatch:session', value), (error) => {
      assertKeychainError(error, 'keychain.write-mismatch');
      assert.ok(error instanceof Error && !error.message.includes('token-'), 'no secret in the message');
      return true;
    });
  });

  test('with-keyring.sh keeps HOME, exits with the command status and removes its files', async () => {
    const result = await run('bash', [sandbox, 'sh', '-c', 'echo "$HOME"; echo "$DBUS_SESSION_BUS_ADDRESS"; exit 42'], process.env);
    assert.equal(result.status, 42, result.stderr);
    const [home, address] = result.stdout.trim().split('\n');
    assert.equal(home, process.env.HOME);
    const socket = /unix:path=([^,]+)/.exec(address ?? '')?.[1];
    assert.ok(socket !== undefined && socket !== process.env.DBUS_SESSION_BUS_ADDRESS, address);
    assert.equal(existsSync(socket), false, 'the private bus and its temp dir are gone');
    assert.equal(result.stderr, '', 'nothing on stderr');
  });

  // --- Child processes: failures must come quickly and must not keep the process alive. ---

  interface StepResult {
    op: string;
    ok: boolean;
    value?: string | boolean | null;
    kind?: string;
    code?: string;
    message?: string;
    hint?: string;
    ms: number;
  }

  type Step = { op: 'get' | 'delete'; key: string } | { op: 'set'; key: string; value: string } | { op: 'lock' };

  // Runs the steps with a fresh createOsKeychain() and never closes it: the process must end on its own.
  const CHILD_SCRIPT = `
    import { execFileSync } from 'node:child_process';
    const { createOsKeychain } = await import(process.env.TNG_TEST_OS_MODULE);
    const timeoutMs = process.env.TNG_TEST_TIMEOUT_MS ? Number(process.env.TNG_TEST_TIMEOUT_MS) : undefined;
    const keychain = createOsKeychain(timeoutMs === undefined ? {} : { timeoutMs });
    const results = [];
    for (const step of JSON.parse(process.env.TNG_TEST_STEPS)) {
      const started = performance.now();
      try {
        let value = null;
        if (step.op === 'lock') {
          execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets',
            'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login'], { stdio: 'ignore' });
        } else if (step.op === 'get') value = (await keychain.get(step.key)) ?? null;
        else if (step.op === 'set') await keychain.set(step.key, step.value);
        else value = await keychain.delete(step.key);
        results.push({ op: step.op, ok: true, value, ms: performance.now() - started });
      } catch (error) {
        results.push({ op: step.op, ok: false, kind: error.kind, code: error.code, message: error.message, hint: error.hint,
          ms: performance.now() - started });
        process.exitCode = error.exitCode ?? 1;
      }
    }
    process.stdout.write(JSON.stringify({ results, reportedAt: performance.now() }) + '\\n');
  `;

  // Simulates tng being interrupted while a keychain call is still pending (main's Ctrl-C path exits).
  const EXIT_EARLY = `setTimeout(() => process.exit(130), Number(process.env.TNG_TEST_EXIT_AFTER_MS));\n`;



  async function runChild(
    steps: Step[],
    env: NodeJS.ProcessEnv,
    options: { timeoutMs?: number; wrapper?: string[]; exitAfterMs?: number } = {},
  ): Promise<{ results: StepResult[]; status: number | null; exitDelayMs: number; run: Run }> {
    const childEnv: NodeJS.ProcessEnv = {
      ...env,
      TNG_TEST_OS_MODULE: osModule,
      TNG_TEST_STEPS: JSON.stringify(steps),
      TNG_TEST_TIMEOUT_MS: options.timeoutMs === undefined ? '' : String(options.timeoutMs),
      TNG_TEST_EXIT_AFTER_MS: String(options.exitAfterMs ?? ''),
    };
    const script = (options.exitAfterMs === undefined ? '' : EXIT_EARLY) + CHILD_SCRIPT;
    const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
    const [command, ...args] = [...(options.wrapper ?? []), ...node];
    const result = await run(command ?? 'node', args, childEnv, 30_000);
    const context = `status ${result.status} signal ${result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
    assert.equal(result.signal, null, `the child had to be killed (it did not exit by itself)\n${context}`);
    const line = result.stdout.trim().split('\n').pop() || '{"results":[],"reportedAt":0}';
    const report = JSON.parse(line) as { results: StepResult[]; reportedAt: number };
    // reportedAt counts from the child's start, which is just after our spawn.
    return { results: report.results, status: result.status, exitDelayMs: result.wallMs - report.reportedAt, run: result };
  }

  function withoutBus(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const env = { ...process.env, ...extra };
    for (const [name, value] of Object.entries(extra)) if (value === undefined) delete env[name];
    return env;
  }

  test('no D-Bus session: keychain.unavailable at once, and the process exits', async (t) => {
    const emptyRuntime = mkdtempSync(join(scratch, 'runtime-'));
    const variants: NodeJS.ProcessEnv[] = [
      { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(scratch, 'no-such-bus')}`, XDG_RUNTIME_DIR: emptyRuntime },
      { DBUS_SESSION_BUS_ADDRESS: undefined, XDG_RUNTIME_DIR: emptyRuntime },
      { DBUS_SESSION_BUS_ADDRESS: undefined, XDG_RUNTIME_DIR: undefined },
    ];
    for (const variant of variants) {
      const child = await runChild(
        [{ op: 'get', key: 'profile:x:session' }, { op: 'set', key: 'profile:x:session', value: 'v' }],
        withoutBus(variant),
      );
      assert.equal(child.status, 7, child.run.stderr);
      for (const step of child.results) {
        assert.equal(step.ok, false);
        assert.equal(step.kind, 'keychain');
        assert.equal(step.code, 'keychain.unavailable');
        assert.equal(step.message, 'The OS keychain is not available (no D-Bus session bus).');
        assert.match(step.hint ?? '', /TNG_KEYCHAIN=file/);
        assert.ok(step.ms < 2000, `took ${step.ms} ms`);
      }
      assert.ok(child.exitDelayMs < 2000, `exited ${child.exitDelayMs} ms after reporting`);
      t.diagnostic(`${JSON.stringify(variant.DBUS_SESSION_BUS_ADDRESS ?? null)}: failed in ${child.results[0]?.ms.toFixed(1)} ms`);
    }
  });

  test('a session bus without a Secret Service: keychain.unavailable, never the kernel keyring', async () => {
    // The library's default on Linux would silently use the in-memory keyutils keyring here.
    const config = join(scratch, 'bare-bus.conf');
    writeFileSync(
      config,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
        "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
      <busconfig><type>session</type><listen>unix:dir=${scratch}</listen><auth>EXTERNAL</auth>
      <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
      </busconfig>`,
    );
    const child = await runChild(
      [
        { op: 'set', key: 'profile:bare:session', value: 'v' },
        { op: 'get', key: 'profile:bare:session' },
      ],
      process.env,
      { wrapper: ['dbus-run-session', `--config-file=${config}`, '--'] },
    );
    assert.equal(child.status, 7, child.run.stderr);
    for (const step of child.results) {
      assert.equal(step.code, 'keychain.unavailable');
      assert.equal(step.message, 'The OS keychain is not available (no Secret Service on the D-Bus session bus).');
    }
    assert.equal(child.results.length, 2);
  });

  /** A unix socket that accepts connections and never says a word: a D-Bus handshake on it waits forever. */
  async function withSilentBus(body: (address: string, connections: Set<Socket>) => Promise<void>): Promise<void> {
    const socketPath = join(scratch, `silent-bus-${randomUUID()}`);
    const connections = new Set<Socket>();
    const server = createServer((socket) => {
      connections.add(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      await body(`unix:path=${socketPath}`, connections);
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  test('a bus that never answers: keychain.timeout after timeoutMs, before any native call, and the process exits', async (t) => {
    await withSilentBus(async (address, connections) => {
      const child = await runChild([{ op: 'get', key: 'profile:x:session' }], withoutBus({ DBUS_SESSION_BUS_ADDRESS: address }), { timeoutMs: 1000 });
      assert.equal(child.status, 7, child.run.stderr);
      const [step] = child.results;
      assert.equal(step?.code, 'keychain.timeout');
      assert.equal(step.message, 'The OS keychain did not answer within 1 s.');
      assert.ok(step.ms >= 950 && step.ms < 3000, `took ${step.ms} ms`);
      assert.ok(child.exitDelayMs < 2000, `exited ${child.exitDelayMs} ms after reporting`);
      assert.ok(connections.size >= 1, 'the probe really did reach the silent bus');
      t.diagnostic(`timed out after ${step.ms.toFixed(0)} ms; process exited ${child.exitDelayMs.toFixed(0)} ms after reporting`);
    });
  });

  test('a probe still waiting on a silent bus does not keep tng alive when tng exits first', async () => {
    await withSilentBus(async (address, connections) => {
      const child = await runChild([{ op: 'get', key: 'profile:x:session' }], withoutBus({ DBUS_SESSION_BUS_ADDRESS: address }), { timeoutMs: 60_000, exitAfterMs: 1500 });
      assert.equal(child.status, 130, child.run.stderr);
      assert.ok(child.run.wallMs < 15_000, `took ${child.run.wallMs} ms`);
      assert.ok(connections.size >= 1, 'the probe really did reach the silent bus');
    });
  });

  test('locked keyring (with-keyring.sh --locked): keychain.locked within the timeout, and the process exits', async (t) => {
    const child = await runChild(
      [
        { op: 'set', key: 'profile:locked:session', value: 'never stored' },
        { op: 'get', key: 'profile:locked:session' },
      ],
      process.env,
      { wrapper: ['bash', sandbox, '--locked'] },
    );
    assert.equal(child.status, 7, child.run.stderr);
    const [set, get] = child.results;
    assert.equal(set?.ok, false);
    assert.equal(set.code, 'keychain.locked');
    assert.equal(set.message, 'The OS keychain is locked.');
    assert.ok(set.ms < 5000, `took ${set.ms} ms`);
    // Searching works on a locked keyring, so an absent item is still reported as absent.
    assert.deepEqual({ ok: get?.ok, value: get?.value }, { ok: true, value: null });
    assert.ok(child.exitDelayMs < 2000, `exited ${child.exitDelayMs} ms after reporting`);
    t.diagnostic(`locked: failed in ${set.ms.toFixed(0)} ms`);
  });

  test('an item whose keyring gets locked: get and delete fail with keychain.locked', async () => {
    const child = await runChild(
      [
        { op: 'set', key: 'profile:l:session', value: 'stored while unlocked' },
        { op: 'lock' },
        { op: 'get', key: 'profile:l:session' },
        { op: 'delete', key: 'profile:l:session' },
        { op: 'set', key: 'profile:l:session', value: 'x'.repeat(5000) },
      ],
      process.env,
      { wrapper: ['bash', sandbox] },
    );
    assert.equal(child.status, 7, child.run.stderr);
    assert.deepEqual(
      child.results.map((step) => [step.op, step.ok, step.code ?? null]),
      [
        ['set', true, null],
        ['lock', true, null],
        ['get', false, 'keychain.locked'],
        ['delete', false, 'keychain.locked'],
        ['set', false, 'keychain.locked'],
      ],
    );
    for (const step of child.results) assert.ok(!(step.message ?? '').includes('stored while unlocked'));
  });
}

/**
 * A virtual FIDO2 authenticator for tng's sandbox: a CTAP2.1 authenticator shaped like a YubiKey 5
 * (firmware 5.4.3) that speaks CTAPHID over a UNIX stream socket carrying raw 64-byte reports in both
 * directions (no report-ID byte) — what `TNG_FIDO2_DEVICE=unix:PATH` expects. Written from the CTAP
 * specification, independently of tng's own client; Yubico's python-fido2 and libfido2 accept what it
 * produces (see ../authenticator.test.ts).
 *
 * Power cycle: a real key forgets its volatile state when it is replugged. Here that happens at start,
 * on `setPin()`, on `powerCycle()`, and when the `unplug` touch mode fires: the key-agreement key is
 * regenerated, the pinUvAuthToken dropped, and PIN_AUTH_BLOCKED (3 consecutive wrong PINs) lifted.
 * Opening a new connection is NOT a power cycle, just as opening the hidraw node again is not.
 *
 * Standalone: `node --import tsx test/sandbox/authenticator/index.ts [--socket PATH] [--pin 1234]
 * [--touch auto|deny|never] [--touch-delay MS] [--state FILE]` prints the `unix:` device and serves
 * until SIGINT. With `--state FILE` the master key, PIN, discoverable credentials and signature
 * counters persist in FILE (mode 0600) across restarts.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuthenticatorCore, type PersistedState } from './ctap2.ts';
import { ALG_EDDSA, ALG_ES256 } from './crypto.ts';
import { CtapHidServer } from './ctaphid.ts';
import { TouchController, type TouchMode } from './touch.ts';
import { recordSecret } from '../secrets.ts';

export type { TouchMode } from './touch.ts';

export const YUBIKEY_5_NFC_AAGUID = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';

export interface VirtualAuthenticatorOptions {
  /** Default: a fresh path in a new temp dir (removed by close()). */
  socketPath?: string;
  /** Default: the YubiKey 5 NFC AAGUID. */
  aaguid?: string;
  /** Default `{ kind: 'auto', delayMs: 50 }`. */
  touch?: TouchMode;
  /** A PIN already set (getInfo clientPin true). Default: none (clientPin false). */
  pin?: string;
  /** Default true; false → no "hmac-secret" in getInfo extensions and the extension is ignored. */
  hmacSecret?: boolean;
  /** INIT capabilities without CBOR: CTAPHID_CBOR → ERROR INVALID_CMD (U2F over CTAPHID_MSG still works). */
  u2fOnly?: boolean;
  /** Default [2, 1]. */
  pinProtocols?: number[];
  /** Default ['U2F_V2', 'FIDO_2_0', 'FIDO_2_1']. Without U2F_V2 the NMSG capability is set and MSG is refused. */
  versions?: string[];
  /** How long a request waits for a touch before USER_ACTION_TIMEOUT (0x2F). Default 30000. */
  userActionTimeoutMs?: number;
  /** Supported COSE algorithms, in the authenticator's order. Default [-7, -8]. */
  algorithms?: number[];
  /** Persist credential secrets, PIN and counters in this JSON file (created if missing). */
  stateFile?: string;
}

export interface VirtualAuthenticatorStats {
  /** Touches given (presence satisfied), CTAP2 and U2F. */
  touches: number;
  /** authenticatorMakeCredential requests received (any outcome). */
  makeCredential: number;
  /** authenticatorGetAssertion requests received (any outcome; getNextAssertion not counted). */
  getAssertion: number;
  /** CTAPHID_CANCEL packets received on a valid channel. */
  cancels: number;
  /** authenticatorSelection requests received. */
  selection: number;
  /** CTAPHID_KEEPALIVE reports sent. */
  keepalivesSent: number;
}

export interface VirtualAuthenticator {
  /** 'unix:' + socketPath, for TNG_FIDO2_DEVICE. */
  device: string;
  socketPath: string;
  /** Takes effect at once, also for a request already waiting for a touch. */
  setTouch(mode: TouchMode): void;
  /** Sets (retries 8) or removes the PIN; also a power cycle. */
  setPin(pin: string | undefined): void;
  pinRetries(): number;
  /** Simulates a replug of the key for its volatile state (see the module comment); connections stay open. */
  powerCycle(): void;
  stats(): VirtualAuthenticatorStats;
  /** Every credential this authenticator made or used: id (base64url), RP ID, COSE alg, signature counter. */
  credentials(): Array<{ credentialId: string; rpId: string; alg: number; signCount: number }>;
  close(): Promise<void>;
}

function parseAaguid(s: string): Buffer {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`invalid AAGUID ${s}`);
  return Buffer.from(hex, 'hex');
}

function loadState(file: string): PersistedState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as PersistedState;
  if (state.version !== 1 || typeof state.masterKey !== 'string') throw new Error(`${file}: not a virtual authenticator state file`);
  return state;
}

function saveState(file: string, state: PersistedState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

export async function startVirtualAuthenticator(options: VirtualAuthenticatorOptions = {}): Promise<VirtualAuthenticator> {
  let tempDir: string | undefined;
  let socketPath = options.socketPath;
  if (!socketPath) {
    tempDir = mkdtempSync(join(tmpdir(), 'tng-authn-'));
    socketPath = join(tempDir, 'ctaphid.sock');
  } else {
    rmSync(socketPath, { force: true });
  }
  const stateFile = options.stateFile;
  const core = new AuthenticatorCore(
    {
      aaguid: parseAaguid(options.aaguid ?? YUBIKEY_5_NFC_AAGUID),
      versions: options.versions ?? ['U2F_V2', 'FIDO_2_0', 'FIDO_2_1'],
      hmacSecret: options.hmacSecret ?? true,
      pinProtocols: options.pinProtocols ?? [2, 1],
      algorithms: options.algorithms ?? [ALG_ES256, ALG_EDDSA],
    },
    stateFile ? loadState(stateFile) : undefined,
    (state) => {
      if (stateFile) saveState(stateFile, state);
    },
  );
  recordSecret('pin', options.pin);
  if (options.pin !== undefined) core.setPin(options.pin);
  else if (stateFile) saveState(stateFile, core.snapshot());

  const touch = new TouchController(options.touch ?? { kind: 'auto', delayMs: 50 }, options.userActionTimeoutMs ?? 30_000, () => server.unplug());
  const server = new CtapHidServer(core, touch, { u2fOnly: options.u2fOnly ?? false }, () => core.powerCycle());
  await server.listen(socketPath);

  let closed = false;
  return {
    device: `unix:${socketPath}`,
    socketPath,
    setTouch: (mode) => touch.setMode(mode),
    setPin: (pin) => {
      recordSecret('pin', pin);
      core.setPin(pin);
    },
    pinRetries: () => core.pinRetries(),
    powerCycle: () => core.powerCycle(),
    stats: () => ({
      touches: touch.touches,
      makeCredential: core.stats.makeCredential,
      getAssertion: core.stats.getAssertion,
      cancels: server.stats.cancels,
      selection: core.stats.selection,
      keepalivesSent: server.stats.keepalivesSent,
    }),
    credentials: () => core.credentials(),
    close: async () => {
      if (closed) return;
      closed = true;
      await server.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      else rmSync(socketPath, { force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Standalone

function usage(): never {
  console.error('usage: index.ts [--socket PATH] [--pin PIN] [--touch auto|deny|never] [--touch-delay MS] [--state FILE]');
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const options: VirtualAuthenticatorOptions = {};
  let touchKind = 'auto';
  let delayMs = 50;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage();
    i++;
    if (flag === '--socket') options.socketPath = resolve(value);
    else if (flag === '--pin') options.pin = value;
    else if (flag === '--touch') touchKind = value;
    else if (flag === '--touch-delay') delayMs = Number(value);
    else if (flag === '--state') options.stateFile = resolve(value);
    else usage();
  }
  if (!Number.isFinite(delayMs) || delayMs < 0) usage();
  if (touchKind === 'auto' || touchKind === 'deny') options.touch = { kind: touchKind, delayMs };
  else if (touchKind === 'never') options.touch = { kind: 'never' };
  else usage();

  const authenticator = await startVirtualAuthenticator(options);
  console.log(authenticator.device);
  const stop = (): void => {
    void authenticator.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

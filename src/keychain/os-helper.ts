/**
 * The keychain helper process: @napi-rs/keyring runs in a child Node process, never in tng's own.
 *
 * Why a process and not the library's AsyncEntry in-process: the library's constructors are synchronous and
 * open the D-Bus connection (and a Secret Service session) on the calling thread — against a bus socket that
 * accepts but never answers they block forever, and against a Secret Service that does not answer they block
 * the event loop for the library's D-Bus timeout. AsyncEntry calls run on the libuv thread pool, which cannot
 * be cancelled and keeps the event loop alive while a call is stuck; a worker thread does not help either
 * (Node joins worker threads on exit, even on process.exit, so a worker stuck in native code hangs the exit).
 * A child process can always be killed: on a timeout tng SIGKILLs it, and since the child and its IPC channel
 * are unref'd, nothing of it keeps tng's event loop alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';

/** One primitive operation on one keychain item. */
export type HelperRequest =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: string }
  | { op: 'delete'; key: string };

interface HelperReply {
  id: number;
  ok: boolean;
  value?: string | boolean | null;
  message?: string;
}

/** A failure reported by the keyring library inside the helper (message as the library words it). */
export class KeyringLibraryError extends Error {
  override readonly name = 'KeyringLibraryError';
}

/** The helper could not be started, or stopped without answering. */
export class HelperStoppedError extends Error {
  override readonly name = 'HelperStoppedError';
}

// Runs as CommonJS via `node -e`; argv: [node, path of @napi-rs/keyring, service name]. Every entry is pinned
// to the Secret Service: the library's default on Linux silently falls back to the kernel keyutils keyring,
// which is not persistent. The synchronous API is used on purpose: this process is disposable.
const HELPER_SOURCE = String.raw`
'use strict';
let lib;
try { lib = require(process.argv[1]); } catch (error) { lib = error; }
const service = process.argv[2];
const options = { linux: { store: 'secret-service' } };
const entries = new Map();
function entry(key) {
  let found = entries.get(key);
  if (found === undefined) {
    found = new lib.Entry(service, key, options);
    entries.set(key, found);
  }
  return found;
}
function handle(request) {
  if (lib instanceof Error) throw new Error('cannot load @napi-rs/keyring: ' + lib.message);
  if (request.op === 'get') return entry(request.key).getPassword();
  if (request.op === 'set') { entry(request.key).setPassword(request.value); return null; }
  if (request.op === 'delete') return entry(request.key).deleteCredential();
  throw new Error('unknown operation');
}
process.on('message', (request) => {
  let reply;
  try {
    const value = handle(request);
    reply = { id: request.id, ok: true, value: value === undefined ? null : value };
  } catch (error) {
    reply = { id: request.id, ok: false, message: String((error && error.message) || error) };
  }
  if (process.connected) process.send(reply);
});
process.on('disconnect', () => process.exit(0));
`;

/** Absolute path of the keyring library, resolved from tng's own location (works bundled and from source). */
export function resolveKeyringLibrary(): string {
  return createRequire(import.meta.url).resolve('@napi-rs/keyring');
}

/** Helpers still running; killed when tng exits, so none outlives it (even one stuck in a native call). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const helper of running) helper.kill('SIGKILL');
  });
}

interface Pending {
  resolve(value: string | boolean | null): void;
  reject(error: Error): void;
}

/** A lazily started helper process that answers {@link HelperRequest}s one after another. */
export class KeyringHelper {
  #child: ChildProcess | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #stderr = '';

  constructor(
    private readonly service: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly libraryPath: string,
  ) {}

  /** Sends one request; resolves with the library's result or rejects with one of this module's errors. */
  request(request: HelperRequest): Promise<string | boolean | null> {
    const child = this.#child ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      child.send({ id, ...request }, (error) => {
        if (error) this.#settle(id, new HelperStoppedError(`could not reach the keychain helper: ${error.message}`));
      });
    });
  }

  /** Kills the helper at once (if running) and fails every pending request with `reason`. */
  kill(reason: Error): void {
    const child = this.#child;
    this.#forget();
    child?.kill('SIGKILL');
    this.#failAll(reason);
  }

  /** Whether a helper process is currently running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  #start(): ChildProcess {
    const env = { ...this.env };
    // The helper is plain JavaScript: it needs none of the parent's loaders, inspectors or preloads.
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['-e', HELPER_SOURCE, this.libraryPath, this.service], {
      env,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
      windowsHide: true,
    });
    this.#child = child;
    this.#stderr = '';
    // Neither the process, its IPC channel nor its stderr keeps tng alive: a pending request's own timer does.
    child.unref();
    child.channel?.unref();
    const stderr = child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null;
    stderr?.unref?.();
    stderr?.setEncoding('utf8');
    stderr?.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-2000);
    });
    child.on('message', (message: HelperReply) => this.#onReply(message));
    child.on('error', (error) => {
      if (this.#child !== child) return;
      this.#forget();
      this.#failAll(new HelperStoppedError(`could not start the keychain helper: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#forget();
      const detail = this.#stderr.trim().split('\n').filter(Boolean).pop();
      this.#failAll(
        new HelperStoppedError(
          `the keychain helper stopped (${signal ?? `exit ${code ?? '?'}`})${detail === undefined ? '' : `: ${detail}`}`,
        ),
      );
    });
    track(child);
    return child;
  }

  #onReply(reply: HelperReply): void {
    if (reply.ok) this.#settle(reply.id, undefined, reply.value ?? null);
    else this.#settle(reply.id, new KeyringLibraryError(reply.message ?? 'unknown keyring error'));
  }

  #settle(id: number, error: Error | undefined, value: string | boolean | null = null): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    if (error === undefined) pending.resolve(value);
    else pending.reject(error);
  }

  #failAll(reason: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(reason);
  }

  #forget(): void {
    if (this.#child === undefined) return;
    running.delete(this.#child);
    this.#child = undefined;
  }
}

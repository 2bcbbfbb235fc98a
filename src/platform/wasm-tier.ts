/**
 * undici parses HTTP with a WebAssembly build of llhttp, which V8 compiles first with its baseline compiler
 * (Liftoff) and then again, in background threads, with its optimising one (TurboFan): work a command
 * making a handful of requests never recoups, which competes with it for the CPU, and which process exit
 * waits for (100-150 ms on a login). The baseline code alone serves tng.
 *
 * Set only when HTTP is first needed, never at start-up: changing a V8 flag makes V8 refuse every code cache
 * made under the old flags, Node's own for its built-in modules included (a warm exec would compile
 * `net`, `child_process` and `crypto` from source, some 8 ms).
 */
export function baselineWasmOnly(): void {
  setFlags('--liftoff-only');
  changed.set(true);
}

/**
 * Whether the flag is set, kept on the process: each of tng's bundles (cli/boot.ts) has its own copy of this
 * module, and the one that restores the flags is seldom the one that set them.
 */
const changed = {
  key: Symbol.for('tng.wasm-baseline-only'),
  get: (): boolean => (globalThis as Record<symbol, unknown>)[changed.key] === true,
  set: (value: boolean): void => {
    (globalThis as Record<symbol, unknown>)[changed.key] = value;
  },
};

/**
 * V8's flags back as a run starts with them, so that a code cache written now matches the next run's start
 * (see cli/boot.ts): `--liftoff-only` also switched off the two tier-up flags it implies.
 */
export function restoreStartupFlags(): void {
  if (!changed.get()) return;
  setFlags('--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering');
  changed.set(false);
}

/** node:v8 is loaded only here, when a flag changes: the start-up of every run would otherwise pay for it. */
function setFlags(flags: string): void {
  process.getBuiltinModule('node:v8').setFlagsFromString(flags);
}

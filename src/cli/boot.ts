/**
 * What bin/tng runs first: it compiles the hot bundle (dist/cli.cjs) through V8's code cache and starts it.
 *
 * A warm `tng exec` spent about a sixth of its own time compiling that bundle. Node 20 has no compile cache
 * of its own, so tng keeps one: V8's cached data for the bundle, written by the first warm exec or
 * credential-process into the user's cache dir ($XDG_CACHE_HOME/tng, else ~/.cache/tng; dir 0700,
 * file 0600). It holds compiled code only, never a value from a run. The bundle's size, mtime and inode
 * name the file, so an upgrade or rebuild starts a new one; V8 itself refuses data from another V8 version
 * or other flags. A cache that cannot be read or written costs only the compile it would have saved.
 *
 * Node 20 gives a script compiled from cached data no dynamic `import()` of its own, so the build rewrites
 * each of the bundle's `import()` calls into a call of `__tngImport`, which this loader passes in.
 */
import { readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { cacheDir } from '../config/paths.ts';
import { reportTiming, timingStart } from '../debug/timing.ts';
import { makeDirectory } from '../state/make-dir.ts';

/** How a load used the code cache. */
export type CodeCacheUse = 'used' | 'absent' | 'rejected' | 'off';

export interface LoadedBundle {
  exports: unknown;
  cache: CodeCacheUse;
  /** Writes the cache from what V8 has compiled of the bundle so far (best effort; never throws). */
  saveCache(): void;
}

/** The parameters the bundle's code sees: CommonJS's five and the dynamic import the build rewrote it to call. */
const WRAPPER_PARAMETERS = 'exports, require, module, __filename, __dirname, __tngImport';

/** The cache file for `bundle` in `dir`: the bundle's name, the Node version and the bundle's identity. */
function cacheFileFor(bundle: string, dir: string): { path: string; prefix: string } {
  const { size, mtimeMs, ino } = statSync(bundle);
  const prefix = `${basename(bundle)}-${process.version}-${process.arch}-`;
  return { path: join(dir, `${prefix}${size}-${Math.trunc(mtimeMs)}-${ino}.v8`), prefix };
}

function readCache(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Loads the CommonJS bundle at `bundle` through the code cache in `dir` (none when `dir` is undefined). */
export function loadBundle(bundle: string, dir: string | undefined): LoadedBundle {
  const source = readFileSync(bundle, 'utf8');
  let file: { path: string; prefix: string } | undefined;
  try {
    file = dir === undefined ? undefined : cacheFileFor(bundle, dir);
  } catch {
    file = undefined;
  }
  const cachedData = readCache(file?.path);
  const script = new Script(`(function (${WRAPPER_PARAMETERS}) {${source}\n})`, { filename: bundle, cachedData });
  const cache: CodeCacheUse = file === undefined ? 'off' : cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} as unknown };
  const base = pathToFileURL(bundle);
  const dynamicImport = (specifier: string) => import(specifier.startsWith('node:') ? specifier : new URL(specifier, base).href);
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle), dynamicImport);
  return {
    exports: module.exports,
    cache,
    saveCache() {
      if (file === undefined || dir === undefined) return;
      try {
        makeDirectory(dir);
        const temporary = `${file.path}.${process.pid}.tmp`;
        writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
        renameSync(temporary, file.path);
        // Caches of earlier builds of this bundle, for this Node version, are of no further use.
        for (const name of readdirSync(dir)) {
          if (name.startsWith(file.prefix) && name.endsWith('.v8') && name !== basename(file.path)) unlinkSync(join(dir, name));
        }
      } catch {
        // An optimisation only: the next run compiles the bundle as this one did.
      }
    },
  };
}

interface HotBundle {
  run(hooks: { warmPath(): void }): Promise<void>;
}

/** Starts tng from dist/cli.cjs beside this file. */
export function start(): void {
  // undici parses HTTP with a WebAssembly build of llhttp, which V8 compiles first with its baseline compiler
  // (Liftoff) and then again, in background threads, with its optimising one (TurboFan): work a command
  // making a handful of requests never recoups, which competes with it for the CPU, and which process exit
  // waits for (100-150 ms on a login). The baseline code alone serves tng. Set here, before anything is
  // compiled, because V8's flags are part of what its code cache must match.
  setFlagsFromString('--liftoff-only');
  const startedAt = timingStart();
  const loaded = loadBundle(join(__dirname, 'cli.cjs'), cacheDir(process.env));
  reportTiming(`load dist/cli.cjs (code cache ${loaded.cache})`, startedAt);
  void (loaded.exports as HotBundle).run({
    // The warm path's compiled code is what the cache is for: it is written from a run that took it.
    warmPath: () => {
      if (loaded.cache === 'absent' || loaded.cache === 'rejected') process.once('exit', () => loaded.saveCache());
    },
  });
}

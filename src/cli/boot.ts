/**
 * What bin/tng runs first: it compiles tng's CommonJS bundles through V8's code cache and starts the hot one.
 *
 * - dist/cli.cjs, the hot bundle: everything a warm `tng exec` or `credential-process` runs.
 * - dist/cold.cjs: everything those commands and `tng login` may need beyond it (a login, a touch, the Vault
 *   and HTTP clients), loaded when first needed. The rest of the program (commander, the live UI) is the
 *   ES-module build under dist/, which this loader imports as Node does.
 *
 * Compiling was a good part of tng's own time (about a sixth of a warm exec's, a third of a login's), and
 * Node 20 has no compile cache of its own, so tng keeps one: V8's cached data per bundle and command, written
 * by the first run that lacked it into the user's cache dir ($XDG_CACHE_HOME/tng, else ~/.cache/tng; dir
 * 0700, files 0600). It holds compiled code only, never a value from a run. The bundle's size, mtime and
 * inode name the file, so an upgrade or rebuild starts a new one; V8 itself refuses data from another V8
 * version or other flags (so caches are written under the flags every run starts with, platform/wasm-tier.ts).
 * Cached data is code, so tng reads it only from a dir and files that are the user's alone. A cache that
 * cannot be read or written costs only the compile it would have saved.
 *
 * Node 20 gives a script compiled from cached data no dynamic `import()` of its own, so the build rewrites
 * each of a bundle's `import()` calls into a call of `__tngImport`, which this loader passes in. A specifier
 * `./cold.cjs#src/x.ts` names module src/x.ts inside the cold bundle.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { cacheDir } from '../config/paths.ts';
import { reportTiming, timingStart } from '../debug/timing.ts';
import { restoreStartupFlags } from '../platform/wasm-tier.ts';
import { makeDirectory } from '../state/make-dir.ts';

/** How a load used the code cache. */
export type CodeCacheUse = 'used' | 'absent' | 'rejected' | 'off';

/** Where a bundle's cache lives, and for which command: each keeps the code its own runs compiled. */
export interface CacheOptions {
  dir: string;
  variant: string;
}

export interface LoadedBundle {
  exports: unknown;
  cache: CodeCacheUse;
  /** Writes the cache from what V8 has compiled of the bundle so far (best effort; never throws). */
  saveCache(): void;
}

type DynamicImport = (specifier: string) => Promise<unknown>;

/** The parameters the bundle's code sees: CommonJS's five and the dynamic import the build rewrote it to call. */
const WRAPPER_PARAMETERS = 'exports, require, module, __filename, __dirname, __tngImport';

/** The cache file for `bundle`: the bundle's name, the command, the Node version and the bundle's identity. */
function cacheFileFor(bundle: string, { dir, variant }: CacheOptions): { path: string; prefix: string } {
  const { size, mtimeMs, ino } = statSync(bundle);
  const prefix = `${basename(bundle)}-${variant}-${process.version}-${process.arch}-`;
  return { path: join(dir, `${prefix}${size}-${Math.trunc(mtimeMs)}-${ino}.v8`), prefix };
}

/**
 * Cached data is code tng runs, so only what the user alone could have written is read: a file (and a dir)
 * owned by this user that no one else may write to. A shared XDG_CACHE_HOME, say, gets no cache at all.
 */
function ownedByUserAlone(stats: Stats): boolean {
  return stats.uid === process.getuid?.() && (stats.mode & 0o022) === 0;
}

/** Whether `dir` may hold tng's caches: absent (tng makes it 0700), or a directory of this user's alone. */
function trustedDir(dir: string): boolean {
  try {
    const stats = lstatSync(dir);
    return stats.isDirectory() && ownedByUserAlone(stats);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function readCache(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stats = fstatSync(fd);
    return stats.isFile() && ownedByUserAlone(stats) ? readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** import() as Node does it in `bundle`: a relative specifier from the bundle's location; a package or built-in as it is (this file sits beside the bundles). */
function importBeside(bundle: string): DynamicImport {
  const base = pathToFileURL(bundle);
  return (specifier) => import(specifier.startsWith('./') || specifier.startsWith('../') ? new URL(specifier, base).href : specifier);
}

/**
 * Whether V8's flags are now those it had when `startingFlags` was taken: its code cache must be written under
 * those, or the next run refuses it. Checked with a cache of a one-line script, made at start.
 */
function flagsAsAtStart(startingFlags: Buffer): boolean {
  // A name of its own each time: V8 would take a script it compiled before in this process from memory, unchecked.
  flagChecks += 1;
  return !new Script('0', { filename: `tng-flags-check-${flagChecks}`, cachedData: startingFlags }).cachedDataRejected;
}
let flagChecks = 0;

/** Loads the CommonJS bundle at `bundle` through its code cache (none without `cache`). */
export function loadBundle(bundle: string, cache: CacheOptions | undefined, dynamicImport: DynamicImport = importBeside(bundle)): LoadedBundle {
  const source = readFileSync(bundle, 'utf8');
  let file: { path: string; prefix: string } | undefined;
  try {
    file = cache === undefined || !trustedDir(cache.dir) ? undefined : cacheFileFor(bundle, cache);
  } catch {
    file = undefined;
  }
  const startingFlags = file === undefined ? undefined : new Script('0', { filename: 'tng-flags-check' }).createCachedData();
  const cachedData = readCache(file?.path);
  const script = new Script(`(function (${WRAPPER_PARAMETERS}) {${source}\n})`, { filename: bundle, cachedData });
  const use: CodeCacheUse = file === undefined ? 'off' : cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle), dynamicImport);
  return {
    exports: module.exports,
    cache: use,
    saveCache() {
      if (file === undefined || cache === undefined || startingFlags === undefined) return;
      const temporary = `${file.path}.${process.pid}.tmp`;
      try {
        // V8 stamps the data with its current flags and refuses it under others: those of the next run's start.
        restoreStartupFlags();
        if (!flagsAsAtStart(startingFlags)) return;
        makeDirectory(cache.dir);
        writeFileSync(temporary, script.createCachedData(), { mode: 0o600, flag: 'wx' });
        renameSync(temporary, file.path);
        // Caches of earlier builds of this bundle, for this command and Node version, are of no further use.
        for (const name of readdirSync(cache.dir)) {
          if (name.startsWith(file.prefix) && name.endsWith('.v8') && name !== basename(file.path)) unlinkSync(join(cache.dir, name));
        }
      } catch {
        // An optimisation only: the next run compiles the bundle as this one did.
        try {
          rmSync(temporary, { force: true });
        } catch {
          // a stray temp file is harmless: no reader looks at .tmp files
        }
      }
    },
  };
}

/** The commands whose runs keep caches of their own; every other command shares one. */
const VARIANTS = new Set(['exec', 'credential-process', 'login', 'token-helper']);

/** `./cold.cjs#src/x.ts`: module src/x.ts of the bundle dist/cold.cjs. */
const BUNDLED_MODULE = /^(\.\/[\w-]+\.cjs)#(src\/[\w/.-]+)$/;

/** Starts tng from dist/cli.cjs beside this file. */
export function start(): void {
  const dir = cacheDir(process.env);
  const command = process.argv[2] ?? '';
  const cache = dir === undefined ? undefined : { dir, variant: VARIANTS.has(command) ? command : 'other' };
  const loaded = new Map<string, LoadedBundle>();

  function load(bundle: string): LoadedBundle {
    const known = loaded.get(bundle);
    if (known !== undefined) return known;
    const startedAt = timingStart();
    const found = loadBundle(bundle, cache, importFrom(bundle));
    loaded.set(bundle, found);
    reportTiming(`load dist/${basename(bundle)} (code cache ${found.cache})`, startedAt);
    if (found.cache === 'absent' || found.cache === 'rejected') process.once('exit', () => found.saveCache());
    return found;
  }

  function importFrom(bundle: string): DynamicImport {
    const beside = importBeside(bundle);
    return async (specifier) => {
      const match = BUNDLED_MODULE.exec(specifier);
      if (match === null) return beside(specifier);
      const { modules } = load(join(dirname(bundle), match[1] as string)).exports as { modules: Record<string, (() => Promise<unknown>) | undefined> };
      const module = modules[match[2] as string];
      if (module === undefined) throw new Error(`${match[1]} holds no module ${match[2]}`);
      return module();
    };
  }

  void (load(join(__dirname, 'cli.cjs')).exports as { run(): Promise<void> }).run();
}

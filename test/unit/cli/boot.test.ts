import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../temp-dirs.ts';

const newDir = tempDirs('boot');

interface Fixture {
  value: number;
  file: string;
  dir: string;
  hasRequire: boolean;
}

/** A bundle as the build leaves dist/cli.cjs: CommonJS whose dynamic imports call `__tngImport`. */
async function fixture(extra = ''): Promise<{ bundle: string; cache: string }> {
  const dir = await newDir();
  await writeFile(join(dir, 'lazy.mjs'), "export const lazy = 'loaded';\n");
  const bundle = join(dir, 'bundle.cjs');
  await writeFile(
    bundle,
    `'use strict';
module.exports = {
  value: 41 + 1,
  file: __filename,
  dir: __dirname,
  hasRequire: typeof require('node:fs').readFileSync === 'function',
  lazy: () => __tngImport('./lazy.mjs'),
  builtin: () => __tngImport('node:path'),
};${extra}
`,
  );
  return { bundle, cache: join(dir, 'cache', 'tng') };
}

/**
 * Loads the bundle in a process of its own (V8 would otherwise take the script from its in-memory cache of
 * this process and never look at the file), checks what it exports, and saves the cache when asked.
 */
function load(bundle: string, cache: string | undefined, options: { save?: boolean; flags?: string } = {}): string {
  const script = `import { loadBundle } from ${JSON.stringify(new URL('../../../src/cli/boot.ts', import.meta.url).href)};
import { setFlagsFromString } from 'node:v8';
import { baselineWasmOnly } from ${JSON.stringify(new URL('../../../src/platform/wasm-tier.ts', import.meta.url).href)};
const { BUNDLE, CACHE, SAVE, FLAGS } = process.env;
const loaded = loadBundle(BUNDLE, CACHE ? { dir: CACHE, variant: 'exec' } : undefined);
const found = loaded.exports;
const lazy = await found.lazy();
const builtin = await found.builtin();
if (FLAGS === 'baseline-wasm') baselineWasmOnly();
else if (FLAGS) setFlagsFromString(FLAGS);
if (SAVE === '1') loaded.saveCache();
console.log(JSON.stringify({ cache: loaded.cache, value: found.value, file: found.file, dir: found.dir, hasRequire: found.hasRequire, lazy: lazy.lazy, sep: builtin.sep }));`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, BUNDLE: bundle, CACHE: cache ?? '', SAVE: options.save ? '1' : '', FLAGS: options.flags ?? '' },
  });
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Omit<Fixture, 'lazy' | 'builtin'> & { cache: string; lazy: string; sep: string };
  assert.deepEqual(
    { value: report.value, file: report.file, dir: report.dir, hasRequire: report.hasRequire, lazy: report.lazy, sep: report.sep },
    { value: 42, file: bundle, dir: join(bundle, '..'), hasRequire: true, lazy: 'loaded', sep: '/' },
  );
  return report.cache;
}

describe('loadBundle (the code cache of dist/cli.cjs)', () => {
  it('runs the bundle without a cache dir', async () => {
    const { bundle } = await fixture();
    assert.equal(load(bundle, undefined, { save: true }), 'off');
  });

  it('writes the cache (dir 0700, file 0600) and the next load uses it, dynamic imports included', async () => {
    const { bundle, cache } = await fixture();
    assert.equal(load(bundle, cache, { save: true }), 'absent');
    const files = await readdir(cache);
    assert.equal(files.length, 1, files.join(', '));
    assert.match(files[0] as string, new RegExp(`^bundle\\.cjs-exec-${process.version}-${process.arch}-\\d+-\\d+-\\d+\\.v8$`));
    assert.equal((await stat(cache)).mode & 0o777, 0o700);
    assert.equal((await stat(join(cache, files[0] as string))).mode & 0o777, 0o600);
    // Node 20 loses a cached script's own import(): the loader's __tngImport must serve it (load checks).
    assert.equal(load(bundle, cache), 'used');
  });

  it('a run that switched WebAssembly to its baseline compiler (an HTTP request) still writes a cache the next run takes', async () => {
    const { bundle, cache } = await fixture();
    assert.equal(load(bundle, cache, { save: true, flags: 'baseline-wasm' }), 'absent');
    assert.equal(load(bundle, cache), 'used');
  });

  it('a run whose V8 flags cannot be put back as they started writes no cache, which the next run would refuse', async () => {
    const { bundle, cache } = await fixture();
    assert.equal(load(bundle, cache, { save: true, flags: '--no-lazy-feedback-allocation' }), 'absent');
    assert.deepEqual(await readdir(cache).catch(() => []), []);
    assert.equal(load(bundle, cache), 'absent');
  });

  it('reads cached data (which is code) only from a dir and a file no other user may write to', async () => {
    const { bundle, cache } = await fixture();
    load(bundle, cache, { save: true });
    const [file] = await readdir(cache);
    await chmod(join(cache, file as string), 0o666);
    assert.equal(load(bundle, cache), 'absent', 'a file others may write to is not read');
    await chmod(join(cache, file as string), 0o600);
    assert.equal(load(bundle, cache), 'used');
    await chmod(cache, 0o777);
    assert.equal(load(bundle, cache, { save: true }), 'off', 'a dir others may write to is neither read nor written');
    assert.deepEqual(await readdir(cache), [file]);
  });

  it('a damaged cache file is refused by V8 and the bundle still runs', async () => {
    const { bundle, cache } = await fixture();
    load(bundle, cache, { save: true });
    const [file] = await readdir(cache);
    await writeFile(join(cache, file as string), Buffer.alloc(4096, 7));
    assert.equal(load(bundle, cache), 'rejected');
  });

  it('a rebuilt bundle gets a cache of its own, which replaces the old one', async () => {
    const { bundle, cache } = await fixture();
    load(bundle, cache, { save: true });
    const [old] = await readdir(cache);
    await writeFile(bundle, `${await readFile(bundle, 'utf8')}\nmodule.exports.value = 42;\n`);
    assert.equal(load(bundle, cache, { save: true }), 'absent');
    const files = await readdir(cache);
    assert.equal(files.length, 1);
    assert.notEqual(files[0], old);
    assert.equal(load(bundle, cache), 'used');
  });

  it('a cache dir that cannot be made costs only the cache', async () => {
    const { bundle } = await fixture();
    assert.equal(load(bundle, '/proc/tng-none/cache', { save: true }), 'absent');
  });
});

// The hot paths stay light: `exec` and `credential-process` (and start-up, `--help`) never load ink or React,
// and a warm exec or credential-process reads two files of tng's: the loader, dist/boot.cjs, and the hot
// bundle, dist/cli.cjs, which it compiles through V8's code cache. Proved statically from
// esbuild's metafiles (every module those commands could ever import, dynamic imports included), and at run
// time from the files a real `tng exec` / `credential-process` loads.
import assert from 'node:assert/strict';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { ROOT, TNG, createWorld, initProfile, login, runProcess, type World } from './harness.ts';

interface Metafile {
  inputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
  outputs: Record<string, { inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string; external?: boolean }> }>;
}

/** Modules of the live UI: none of them may be reachable from the hot paths. */
const UI_ONLY = /^(node_modules\/(ink|react|react-reconciler|scheduler|yoga-layout|qrcode)\/|src\/ui\/ink\/)/;

/** The full program's build (`meta.json`: dist/main.js, its chunks and dist/lazy/) or the hot bundle's (`meta-hot.json`: dist/cli.cjs). */
async function metafile(name: 'meta.json' | 'meta-hot.json' = 'meta.json'): Promise<Metafile> {
  return JSON.parse(await readFile(join(ROOT, 'build', name), 'utf8')) as Metafile;
}

/** Every module reachable from `start`; `dynamic`: through import() too, else only through static imports. */
function reachable(meta: Metafile, start: string, dynamic: boolean): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const path = queue.pop() as string;
    if (seen.has(path) || meta.inputs[path] === undefined) continue;
    seen.add(path);
    for (const edge of meta.inputs[path].imports) {
      if (edge.external) continue;
      if (dynamic || edge.kind !== 'dynamic-import') queue.push(edge.path);
    }
  }
  return seen;
}

describe('the bundle keeps ink and React off the hot paths', () => {
  it('the metafile: nothing exec, credential-process or start-up can import reaches ink or React, while login and whoami do', async () => {
    const meta = await metafile();
    const bad = (set: Set<string>) => [...set].filter((p) => UI_ONLY.test(p));
    for (const command of ['src/commands/exec.ts', 'src/commands/credential-process.ts']) {
      const modules = reachable(meta, command, true);
      assert.ok(modules.has(command === 'src/commands/exec.ts' ? 'src/exec/run.ts' : 'src/aws/provider.ts'), `the walk follows ${command}'s imports`);
      assert.ok(modules.has('src/session/login.ts'), 'including the login an exec on a terminal may run');
      assert.deepEqual(bad(modules), [], `${command} can reach the live UI`);
    }
    assert.deepEqual(bad(reachable(meta, 'src/main.ts', false)), [], 'start-up and --help load the live UI');
    // The check can fail: the interactive commands do reach ink and React.
    for (const command of ['src/commands/login.ts', 'src/commands/whoami.ts', 'src/commands/init.ts']) {
      const modules = reachable(meta, command, true);
      assert.ok(modules.has('node_modules/ink/build/index.js') && [...modules].some((p) => p.startsWith('node_modules/react/')), command);
    }
  });

  it("node-vault's default transport (axios, form-data, mime-db) is left out: tng always passes its own", async () => {
    const meta = await metafile();
    assert.ok(Object.keys(meta.inputs).some((p) => p.startsWith('node_modules/node-vault/')), 'the build holds node-vault');
    assert.deepEqual(Object.keys(meta.inputs).filter((p) => /^node_modules\/(axios|form-data|mime-db|mime-types|follow-redirects)\//.test(p)), []);
  });

  it('the hot bundle: dist/cli.cjs holds the warm path and neither commander nor the live UI; what it leaves out it imports from the full build', async () => {
    const hot = await metafile('meta-hot.json');
    const full = await metafile();
    const cli = hot.outputs['dist/cli.cjs'];
    assert.ok(cli, 'the hot build writes dist/cli.cjs');
    const held = Object.keys(cli.inputs);
    for (const warm of ['src/cli/hot.ts', 'src/exec/run.ts', 'src/aws/credential-process.ts', 'src/keychain/os.ts', 'src/audit/chain.ts']) {
      assert.ok(held.includes(warm), `dist/cli.cjs holds ${warm}`);
    }
    assert.deepEqual(held.filter((p) => p.startsWith('node_modules/commander/') || UI_ONLY.test(p)), [], 'dist/cli.cjs holds commander or the live UI');
    // Off the warm path: a login, a touch, the Vault client, the HTTP client (undici) — each a file of the full build.
    for (const cold of ['src/session/login.ts', 'src/vault/client.ts', 'src/hardware/signed-touch.ts', 'src/net/http.ts', 'src/main.ts']) {
      assert.ok(!held.includes(cold), `dist/cli.cjs holds ${cold}`);
    }
    const lazy = cli.imports.filter((edge) => edge.path.startsWith('./'));
    assert.ok(lazy.some((edge) => edge.path === './main.js'), 'the hot bundle falls back to the full program');
    for (const edge of lazy) {
      assert.equal(edge.kind, 'dynamic-import', `${edge.path} is imported lazily`);
      assert.ok(full.outputs[`dist/${edge.path.slice(2)}`], `${edge.path}, imported by dist/cli.cjs, is a file of the full build`);
    }
    // Compiled from a code cache, the bundle has no import() of its own (Node 20): the loader's serves it.
    const text = await readFile(join(ROOT, 'dist', 'cli.cjs'), 'utf8');
    assert.doesNotMatch(text, /\bimport\(/);
    assert.equal(text.match(/\b__tngImport\(/g)?.length, cli.imports.filter((edge) => edge.kind === 'dynamic-import').length);
  });

  describe('at run time', () => {
    let sandbox: Sandbox;
    let world: World;
    before(async () => {
      sandbox = await startSandbox();
      world = await createWorld();
      await initProfile(world, sandbox, ['--aws-role', 'deploy']);
      const first = await login(world);
      assert.equal(first.code, 0, first.stdout);
    });
    after(async () => {
      await world.dispose();
      await sandbox.close();
    });

    /** Runs tng with hooks that record every file Node loads (ES modules as they load, scripts as they are read); returns the dist/ files among them. */
    async function loadedFiles(args: string[]): Promise<string[]> {
      const trace = join(world.home, `trace-${args[0]}.txt`);
      const hooks = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.TNG_TEST_TRACE, url + '\\n');
  return next(url, context);
}`;
      const register = join(world.home, 'trace-hooks.mjs');
      await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});\n`);
      const required = join(world.home, 'trace-require.cjs');
      // CommonJS files, dist/cli.cjs among them (which the loader compiles itself), are read with readFileSync.
      await writeFile(
        required,
        `const fs = require('node:fs');
const read = fs.readFileSync;
fs.readFileSync = function (file, ...rest) {
  if (typeof file === 'string' && /\\.[cm]?js$/.test(file)) fs.appendFileSync(process.env.TNG_TEST_TRACE, require('node:url').pathToFileURL(file).href + '\\n');
  return read.call(this, file, ...rest);
};
`,
      );
      await writeFile(trace, '');
      const result = await runProcess(process.execPath, ['--require', required, '--import', pathToFileURL(register).href, TNG, ...args], { ...world.env, TNG_TEST_TRACE: trace });
      assert.equal(result.code, 0, result.stderr);
      const dist = pathToFileURL(join(ROOT, 'dist')).href;
      const files = (await readFile(trace, 'utf8'))
        .split('\n')
        .filter((url) => url.startsWith(dist))
        .map((url) => `dist${url.slice(dist.length)}`);
      return [...new Set(files)];
    }

    for (const args of [['exec', '--', 'true'], ['credential-process']]) {
      it(`a warm tng ${args[0]} loads two files of tng's, dist/boot.cjs and dist/cli.cjs`, async () => {
        await runProcess(TNG, [args[0] as string, '--profile', world.profile, ...args.slice(1)], world.env); // fills the credential cache
        const files = await loadedFiles([args[0] as string, '--profile', world.profile, ...args.slice(1)]);
        assert.deepEqual(files.sort(), ['dist/boot.cjs', 'dist/cli.cjs']);
      });
    }

    it('the trace sees the full program where it is loaded (tng --version)', async () => {
      const files = await loadedFiles(['--version']);
      assert.ok(files.includes('dist/cli.cjs') && files.includes('dist/main.js'), files.join(', '));
      const meta = await metafile();
      for (const file of files.filter((f) => f !== 'dist/cli.cjs' && f !== 'dist/boot.cjs')) {
        const output = meta.outputs[file];
        assert.ok(output, `${file} is in the metafile`);
        assert.deepEqual(Object.keys(output.inputs).filter((p) => UI_ONLY.test(p)), [], `${file}, loaded by tng --version, holds live-UI modules`);
      }
    });

    it('the first warm exec writes the code cache (dir 0700, file 0600), and later runs compile from it', async () => {
      const cache = join(world.home, '.cache', 'tng');
      await rm(cache, { recursive: true, force: true });
      const run = () => runProcess(TNG, ['exec', '--profile', world.profile, '--', 'true'], { ...world.env, TNG_DEBUG: '1' });
      const first = await run();
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /load dist\/cli\.cjs \(code cache absent\)/);
      const files = await readdir(cache);
      assert.equal(files.length, 1, files.join(', '));
      assert.equal((await stat(cache)).mode & 0o777, 0o700);
      assert.equal((await stat(join(cache, files[0] as string))).mode & 0o777, 0o600);
      for (const args of [['exec', '--profile', world.profile, '--', 'true'], ['credential-process', '--profile', world.profile], ['--version']]) {
        const next = await runProcess(TNG, args, { ...world.env, TNG_DEBUG: '1' });
        assert.equal(next.code, 0, next.stderr);
        assert.match(next.stderr, /load dist\/cli\.cjs \(code cache used\)/, args.join(' '));
      }
    });
  });
});

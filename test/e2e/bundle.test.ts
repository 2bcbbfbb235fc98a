// The hot paths stay light: `exec` and `credential-process` (and start-up, `--help`) never load ink or React,
// and a warm exec or credential-process reads two files of tng's: the loader, dist/boot.cjs, and the hot
// bundle, dist/cli.cjs, which it compiles through V8's code cache (as it does dist/cold.cjs, which holds what
// those commands and a login need off the warm path). Proved statically from
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

/** The full program's build (`meta.json`: dist/main.js, its chunks and dist/lazy/), the hot bundle's (`meta-hot.json`: dist/cli.cjs) or the cold one's (`meta-cold.json`: dist/cold.cjs). */
async function metafile(name: 'meta.json' | 'meta-hot.json' | 'meta-cold.json' = 'meta.json'): Promise<Metafile> {
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

  it('the hot bundle: dist/cli.cjs holds the warm path and neither commander nor the live UI; what it leaves out it imports from dist/cold.cjs or the full build', async () => {
    const hot = await metafile('meta-hot.json');
    const coldBundle = (await metafile('meta-cold.json')).outputs['dist/cold.cjs'];
    assert.ok(coldBundle, 'the cold build writes dist/cold.cjs');
    const full = await metafile();
    const cli = hot.outputs['dist/cli.cjs'];
    assert.ok(cli, 'the hot build writes dist/cli.cjs');
    const held = Object.keys(cli.inputs);
    for (const warm of ['src/cli/hot.ts', 'src/exec/run.ts', 'src/aws/credential-process.ts', 'src/keychain/os.ts', 'src/audit/chain.ts']) {
      assert.ok(held.includes(warm), `dist/cli.cjs holds ${warm}`);
    }
    assert.deepEqual(held.filter((p) => p.startsWith('node_modules/commander/') || UI_ONLY.test(p)), [], 'dist/cli.cjs holds commander or the live UI');
    // Off the warm path: a login, a touch, the Vault client, the HTTP client (undici) — in dist/cold.cjs.
    const coldHeld = Object.keys(coldBundle.inputs);
    for (const cold of ['src/session/login.ts', 'src/commands/login-run.ts', 'src/vault/client.ts', 'src/hardware/signed-touch.ts', 'src/net/http.ts']) {
      assert.ok(!held.includes(cold), `dist/cli.cjs holds ${cold}`);
      assert.ok(coldHeld.includes(cold), `dist/cold.cjs holds ${cold}`);
    }
    assert.ok(!held.includes('src/main.ts') && !coldHeld.includes('src/main.ts'), 'the full program is in neither CommonJS bundle');
    // undici's parts, not its entry point, whose cookie helpers start Node's own copy of undici (net/undici.ts).
    assert.ok(coldHeld.includes('node_modules/undici/lib/web/fetch/index.js') && coldHeld.includes('node_modules/undici/lib/dispatcher/env-http-proxy-agent.js'));
    assert.deepEqual(coldHeld.filter((p) => /^node_modules\/undici\/(index\.js|lib\/(web\/cookies|mock|web\/websocket|web\/eventsource|cache)\/)/.test(p)), []);
    assert.deepEqual(coldHeld.filter((p) => p.startsWith('node_modules/commander/') || UI_ONLY.test(p)), [], 'dist/cold.cjs holds commander or the live UI');
    const lazy = cli.imports.filter((edge) => edge.path.startsWith('./'));
    assert.ok(lazy.some((edge) => edge.path === './main.js'), 'the hot bundle falls back to the full program');
    for (const edge of lazy) {
      assert.equal(edge.kind, 'dynamic-import', `${edge.path} is imported lazily`);
      const inCold = /^\.\/cold\.cjs#(src\/.+)$/.exec(edge.path)?.[1];
      if (inCold) assert.ok(coldHeld.includes(inCold), `${edge.path}, imported by dist/cli.cjs, is a module of dist/cold.cjs`);
      else assert.ok(full.outputs[`dist/${edge.path.slice(2)}`], `${edge.path}, imported by dist/cli.cjs, is a file of the full build`);
    }
    for (const edge of coldBundle.imports.filter((e) => e.path.startsWith('./'))) {
      assert.ok(full.outputs[`dist/${edge.path.slice(2)}`], `${edge.path}, imported by dist/cold.cjs, is a file of the full build`);
    }
    // Compiled from a code cache, the bundles have no import() of their own (Node 20): the loader's serves them.
    for (const [file, output] of [['cli.cjs', cli], ['cold.cjs', coldBundle]] as const) {
      const text = await readFile(join(ROOT, 'dist', file), 'utf8');
      const calls = text.match(/\b__tngImport\(/g)?.length ?? 0;
      assert.ok(calls > 0, `${file} imports lazily`);
      assert.equal(calls, output.imports.filter((edge) => edge.kind === 'dynamic-import').length, file);
    }
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

    /** Runs tng and returns Node's list of the built-in modules it loaded (`NativeModule net`, …). */
    async function builtinsLoaded(args: string[]): Promise<string[]> {
      const report = join(world.home, 'builtins.txt');
      const preload = join(world.home, 'builtins.cjs');
      await writeFile(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, process.moduleLoadList.join('\\n')));\n`);
      const result = await runProcess(process.execPath, ['--require', preload, TNG, ...args], world.env);
      assert.equal(result.code, 0, result.stderr);
      const loaded = (await readFile(report, 'utf8')).split('\n');
      assert.ok(loaded.includes('NativeModule net'), 'the list is the one Node keeps');
      return loaded;
    }

    it("a login's HTTP never starts Node's own copy of undici beside the one tng bundles", async () => {
      const loaded = await builtinsLoaded(['login', '--profile', world.profile]);
      assert.deepEqual(loaded.filter((name) => name.includes('deps/undici')), []);
    });

    it('a warm tng credential-process never loads node:crypto (a warm exec does, for its audit entry)', async () => {
      await runProcess(TNG, ['credential-process', '--profile', world.profile], world.env); // fills the credential cache
      assert.ok(!(await builtinsLoaded(['credential-process', '--profile', world.profile])).includes('NativeModule crypto'));
      assert.ok((await builtinsLoaded(['exec', '--profile', world.profile, '--', 'true'])).includes('NativeModule crypto'));
    });

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

    it('the first run of a command writes its code cache (dir 0700, files 0600), and later runs compile from it', async () => {
      const cache = join(world.home, '.cache', 'tng');
      await rm(cache, { recursive: true, force: true });
      const debug = { TNG_DEBUG: '1' };
      // On a pseudo-terminal (the login) stderr arrives in stdout.
      const runs: Array<{ command: string; bundles: string[]; run: () => Promise<{ code: number | null; stdout: string; stderr: string }> }> = [
        { command: 'exec', bundles: ['cli'], run: () => runProcess(TNG, ['exec', '--profile', world.profile, '--', 'true'], { ...world.env, ...debug }) },
        { command: 'credential-process', bundles: ['cli'], run: () => runProcess(TNG, ['credential-process', '--profile', world.profile], { ...world.env, ...debug }) },
        { command: 'login', bundles: ['cli', 'cold'], run: () => login(world, [], debug) },
        { command: 'other', bundles: ['cli'], run: () => runProcess(TNG, ['--version'], { ...world.env, ...debug }) },
      ];
      for (const { command, bundles, run } of runs) {
        for (const use of ['absent', 'used']) {
          const result = await run();
          assert.equal(result.code, 0, result.stderr);
          for (const bundle of bundles) assert.match(result.stderr + result.stdout, new RegExp(`load dist/${bundle}\\.cjs \\(code cache ${use}\\)`), `${command}, ${bundle}`);
        }
        for (const bundle of bundles) {
          const files = (await readdir(cache)).filter((name) => name.startsWith(`${bundle}.cjs-${command}-`));
          assert.equal(files.length, 1, `${bundle}.cjs-${command}-*: ${files.join(', ')}`);
          assert.equal((await stat(join(cache, files[0] as string))).mode & 0o777, 0o600);
        }
      }
      assert.equal((await stat(cache)).mode & 0o777, 0o700);
    });
  });
});
